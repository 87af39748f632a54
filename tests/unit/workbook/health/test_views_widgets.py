"""What the site-health notebook shows: the registry editor (validation, saving, its static copy) and the
sentences and tables of an assessment."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pandas as pd
import pytest

from energy_lib.workbook.health import freshness, views, widgets
from energy_lib.workbook.health.assessment import Assessment
from energy_lib.workbook.health.events import Event
from energy_lib.workbook.health.thresholds import DEFAULTS
from energy_lib.workbook.sites.registry import RegisteredSite

SITE = RegisteredSite("A", "Alpha", Decimal("37.4"), Decimal("-6"), "Europe/Madrid", "solar", Decimal(100), 15)
NOW = datetime(2025, 6, 12, tzinfo=timezone.utc)


class Registry:
    """An in-memory registry with the editor's two callables."""

    def __init__(self) -> None:
        self.sites = {SITE.site_id: SITE}

    def load(self) -> list[dict]:
        rows = [{**site.row(), "registered": True} for site in self.sites.values()]
        return rows + [{"site_id": "STRAY", "registered": False}]

    def store(self, sites) -> int:
        self.sites.update({site.site_id: site for site in sites})
        return len(sites)


def test_the_editor_validates_and_saves_a_site_and_redraws() -> None:
    registry = Registry()
    editor = widgets.registry_editor(registry.load, registry.store)
    assert editor.site.options == ("A", "STRAY", widgets.NEW_SITE)
    assert editor.fields["capacity_kw"].value == "100" and editor.fields["site_id"].disabled
    # a wrong value: refused with the field named, nothing stored
    editor.fields["capacity_kw"].value = "-3"
    editor._on_save(editor.save)
    assert "field capacity_kw: must be a number above 0" in editor.message.value and registry.sites["A"] == SITE
    # registering the unregistered site
    editor.site.value = "STRAY"
    for name, value in {"latitude": "10", "longitude": "20", "timezone": "UTC", "site_type": "solar",
                        "capacity_kw": "5.5", "interval_minutes": "60"}.items():  # fmt: skip
        editor.fields[name].value = value
    saved = editor.save_site()
    assert registry.sites["STRAY"] == saved and saved.capacity_kw == Decimal("5.5") and saved.name == "STRAY"
    assert editor.site.value == "STRAY" and "Saved STRAY" in editor.message.value
    # the static copy (what an exported report shows) is the registry table
    bundle = editor._repr_mimebundle_()
    assert "STRAY" in bundle["text/html"] and "2 registered sites" in bundle["text/html"]


@pytest.mark.parametrize(
    ("minutes", "text"), [(45, "45 min"), (150, "2 h 30 min"), (5760, "4 days"), (1800, "1 day 6 h"), (0, "0 min")]
)
def test_durations_read_as_people_say_them(minutes: float, text: str) -> None:
    assert views.duration_text(minutes) == text


def assessment(checks=("freshness", "quality", "performance"), **parts) -> Assessment:
    return Assessment(datetime(2025, 6, 11, tzinfo=timezone.utc), NOW, NOW, checks, DEFAULTS, [SITE], **parts)


def test_the_kpis_say_how_many_sites_are_silent_and_how_many_are_not_known() -> None:
    frame = freshness.silent_sites([SITE], [{"site_id": "A", "readings": Decimal(3)}], NOW)  # no last_reading_at
    kpis = views.kpis(assessment(("freshness",), freshness=frame)).as_dict()
    assert kpis == {"Registered sites": "1", "Silent now": "0"}
    assert "1 not known" in repr(views.kpis(assessment(("freshness",), freshness=frame)))


def test_a_check_that_did_not_run_says_so_and_events_show_their_severity() -> None:
    start = pd.Timestamp("2025-06-11T10:00Z")
    event = Event("daytime_outage", "A", start, start + pd.Timedelta(hours=2), "zero generation")
    shown = views.quality_events(assessment(("quality",), events=[event], quality=pd.DataFrame()))
    html = shown.to_html()
    assert "daytime outage" in html and "2 h" in html and "HIGH" in html
    assert "Not part of this run" in views.underperforming_sites(assessment(("quality",))).text


def test_the_kpis_give_the_history_the_figures_of_the_checks_that_ran() -> None:
    # GIVEN the freshness check alone: registered and silent sites, nothing about completeness
    frame = freshness.silent_sites([SITE], [{"site_id": "A", "readings": Decimal(3)}], NOW)
    assert views.kpis(assessment(("freshness",), freshness=frame)).figures() == {
        "registered_sites": 1.0,
        "silent_sites": 0.0,
    }
    # GIVEN the quality check: completeness to every digit, the same number the strip gives machines
    quality = pd.DataFrame({"expected_intervals": [96, 96, 96], "received_intervals": [96, 95, 1]})
    strip = views.kpis(assessment(("quality",), quality=quality, events=[]))
    figures = strip.figures()
    assert figures == {"registered_sites": 1.0, "fleet_completeness_pct": 100 * 192 / 288, "quality_events": 0.0}
    completeness = next(item for item in strip.items if item.label == "Completeness")
    assert completeness.text == "66.7 %" and float(completeness.value) == figures["fleet_completeness_pct"]
