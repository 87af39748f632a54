"""The explorer: real ipywidgets objects, loaders recorded; the static view of one site."""

from __future__ import annotations

import re
from datetime import date, datetime, timezone

import pandas as pd
import pytest

from energy_lib.workbook import widgets

START = datetime(2025, 6, 11, tzinfo=timezone.utc)
END = datetime(2025, 6, 12, tzinfo=timezone.utc)


class Loaders:
    """Records every call and answers with small frames: every third reading is an anomaly."""

    def __init__(self, fail_for: str | None = None) -> None:
        self.calls: list[tuple[str, str, datetime, datetime]] = []
        self.fail_for = fail_for

    def frame(self, site_id: str, start: datetime, end: datetime) -> pd.DataFrame:
        if site_id == self.fail_for:
            raise RuntimeError(f"no table for {site_id}")
        timestamps = pd.date_range(start, periods=6, freq="h")
        generated = [5.0, -1.0, 7.0, 8.0, -2.0, 6.0]
        frame = pd.DataFrame(
            {"site_id": site_id, "timestamp": timestamps, "energy_generated_kwh": generated, "energy_consumed_kwh": 4.0}
        )
        frame["net_energy_kwh"] = frame["energy_generated_kwh"] - frame["energy_consumed_kwh"]
        frame["anomaly"] = frame["energy_generated_kwh"] < 0
        frame["anomaly_reasons"] = frame["anomaly"].map({True: "negative_generation", False: ""})
        frame["severity"] = frame["anomaly"].map({True: "LOW", False: None})
        return frame

    def readings(self, site_id: str, start: datetime, end: datetime) -> pd.DataFrame:
        self.calls.append(("readings", site_id, start, end))
        return self.frame(site_id, start, end)

    def anomalies(self, site_id: str, start: datetime, end: datetime) -> pd.DataFrame:
        self.calls.append(("anomalies", site_id, start, end))
        frame = self.frame(site_id, start, end)
        return frame[frame["anomaly"]]


def make(loaders: Loaders, sites=("site-a", "site-b"), start=START, end=END) -> widgets.Explorer:
    return widgets.explorer(list(sites), loaders.readings, loaders.anomalies, start, end)


def test_creating_the_explorer_draws_the_first_site_once():
    loaders = Loaders()

    explorer = make(loaders)

    assert loaders.calls == [("readings", "site-a", START, END), ("anomalies", "site-a", START, END)]
    assert explorer.view is not None
    assert explorer.view.site_id == "site-a"
    assert len(explorer.view.readings) == 6
    assert "site-a: 6 readings, 2 anomalies" in explorer.message.value
    assert explorer.site.options == ("site-a", "site-b")
    assert explorer.start_date.value == date(2025, 6, 11)
    assert explorer.end_date.value == date(2025, 6, 11)  # end is exclusive: the last day shown is the 11th


def test_picking_another_site_redraws_it():
    loaders = Loaders()
    explorer = make(loaders)
    loaders.calls.clear()

    explorer.site.value = "site-b"

    assert loaders.calls == [("readings", "site-b", START, END), ("anomalies", "site-b", START, END)]
    assert explorer.view.site_id == "site-b"
    assert explorer.view.figure.layout.title.text == "Energy of site-b"


def test_picking_dates_redraws_whole_utc_days():
    loaders = Loaders()
    explorer = make(loaders)
    loaders.calls.clear()

    explorer.end_date.value = date(2025, 6, 13)

    assert loaders.calls[-1] == ("anomalies", "site-a", START, datetime(2025, 6, 14, tzinfo=timezone.utc))
    assert len(loaders.calls) == 2


def test_an_end_before_the_start_asks_again_without_loading():
    loaders = Loaders()
    explorer = make(loaders)
    loaders.calls.clear()

    explorer.start_date.value = date(2025, 6, 20)

    assert loaders.calls == []
    assert "start date on or before the end date" in explorer.message.value


def test_a_loader_error_after_creation_shows_in_the_message():
    loaders = Loaders(fail_for="site-b")
    explorer = make(loaders)

    explorer.site.value = "site-b"

    assert "no table for site-b" in explorer.message.value
    assert explorer.view is None


def test_a_loader_error_at_creation_is_raised_so_a_report_run_fails():
    with pytest.raises(RuntimeError, match="no table for site-a"):
        make(Loaders(fail_for="site-a"))


def test_start_and_end_may_be_iso_text_and_must_be_ordered():
    loaders = Loaders()
    make(loaders, start="2025-06-11T06:00:00Z", end="2025-06-11T12:00:00+00:00")
    assert loaders.calls[0][2:] == (
        datetime(2025, 6, 11, 6, tzinfo=timezone.utc),
        datetime(2025, 6, 11, 12, tzinfo=timezone.utc),
    )
    with pytest.raises(ValueError, match="after start"):
        make(Loaders(), start=END, end=START)
    with pytest.raises(ValueError, match="at least one site"):
        make(Loaders(), sites=())


def test_site_view_highlights_exactly_the_anomalous_rows():
    loaders = Loaders()

    view = widgets.site_view("site-a", START, END, loaders.readings, loaders.anomalies)

    html = view.readings_table().to_html()
    style_block = html.split("</style>")[0]
    assert "#fde0dc" in style_block
    assert set(re.findall(r"_row(\d+)_col\d+", style_block)) == {"1", "4"}
    assert len(view.anomalies) == 2
    assert [trace.name for trace in view.figure.data] == ["generated", "consumed", "net", "anomaly"]


def test_site_view_html_has_chart_anomalies_and_table():
    loaders = Loaders()

    html = widgets.site_view("site-a", START, END, loaders.readings, loaders.anomalies).to_html()

    assert 'class="plotly-graph-div"' in html
    assert "Anomalies of site-a" in html
    assert "negative_generation" in html
    assert "[2025-06-11T00:00:00Z, 2025-06-12T00:00:00Z)" in html


def test_the_widget_display_carries_the_live_widget_and_a_static_copy():
    explorer = make(Loaders())

    bundle = explorer._repr_mimebundle_()

    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == explorer.model_id
    assert "Energy of site-a" in bundle["text/html"]
