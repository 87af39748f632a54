"""Silent sites from rows shaped like the rollup contract (bucket T, ``last_reading_at``) and the registry."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pandas as pd

from energy_lib.workbook.health import freshness
from energy_lib.workbook.infra.spec import ROLLUPS_DELAY_BOUND_MIN
from energy_lib.workbook.sites.registry import RegisteredSite

NOW = datetime(2025, 6, 12, 9, 0, tzinfo=timezone.utc)


def site(site_id: str, interval_minutes: int) -> RegisteredSite:
    return RegisteredSite(site_id, site_id, Decimal(0), Decimal(0), "UTC", "solar", Decimal(1), interval_minutes)


REGISTRY = [site("FIVE", 5), site("HOURLY", 60), site("NEW", 15), site("OLD", 5)]
TOTALS = [  # what the stream aggregator keeps on each all-time item
    {"bucket": "T", "site_id": "FIVE", "readings": Decimal(900), "last_reading_at": "2025-06-12T08:35:00Z"},
    {"bucket": "T", "site_id": "HOURLY", "readings": Decimal(40), "last_reading_at": "2025-06-12T05:00:00Z"},
    {"bucket": "T", "site_id": "OLD", "readings": Decimal(7)},  # before the aggregator kept last_reading_at
    {"bucket": "T", "site_id": "STRAY", "readings": Decimal(3), "last_reading_at": "2025-06-12T08:55:00Z"},
]


def by_site(frame: pd.DataFrame) -> dict[str, tuple]:
    return {row.site_id: (row.status, row.silent, row.age_min) for row in frame.itertuples()}


def test_each_site_is_judged_against_its_own_interval() -> None:
    frame = freshness.silent_sites(REGISTRY, TOTALS, NOW)
    found = by_site(frame)
    assert found["FIVE"] == ("reporting", False, 25.0)  # 25 min < 6 x 5 min
    assert found["HOURLY"] == ("reporting", False, 240.0)  # 4 h < 6 x 60 min
    assert found["NEW"][:2] == ("never reported", True)
    assert found["OLD"][:2] == ("unknown", False)
    assert found["STRAY"][:2] == ("unregistered", None)
    assert list(frame["site_id"]) == ["FIVE", "HOURLY", "NEW", "OLD", "STRAY"]  # registered first


def test_the_threshold_changes_the_verdict() -> None:
    found = by_site(freshness.silent_sites(REGISTRY, TOTALS, NOW, silent_after_intervals=4))
    assert found["FIVE"][:2] == ("silent", True)  # 25 min > 4 x 5 min
    assert found["HOURLY"][:2] == ("reporting", False)  # 240 min is not more than 4 x 60 min


def test_the_rollups_delay_lengthens_the_threshold_so_a_site_that_reports_is_not_silent() -> None:
    minute_site = site("MINUTE", 1)
    totals = [{"bucket": "T", "site_id": "MINUTE", "readings": Decimal(90), "last_reading_at": "2025-06-12T08:50:00Z"}]
    assert by_site(freshness.silent_sites([minute_site], totals, NOW))["MINUTE"][:2] == ("silent", True)
    frame = freshness.silent_sites([minute_site], totals, NOW, rollups_delay_min=ROLLUPS_DELAY_BOUND_MIN)
    assert by_site(frame)["MINUTE"][:2] == ("reporting", False)  # 10 min < 6 x 1 min + the window's 18 min
    assert frame["silent_after_min"].iloc[0] == 6 + ROLLUPS_DELAY_BOUND_MIN == 24


def test_a_silent_site_is_an_event_from_when_its_next_reading_was_due() -> None:
    frame = freshness.silent_sites(REGISTRY, TOTALS, NOW, silent_after_intervals=4)
    events = {event.site_id: event for event in freshness.events(frame, NOW)}
    assert set(events) == {"FIVE", "NEW"}
    assert (events["FIVE"].start.isoformat(), events["FIVE"].duration_min) == ("2025-06-12T08:40:00+00:00", 20.0)
    assert events["FIVE"].severity == "HIGH" and events["FIVE"].alert_kind == "site_silent"
    assert events["NEW"].detail == "registered, never reported"


def test_an_empty_registry_lists_only_the_unregistered_sites() -> None:
    frame = freshness.silent_sites([], TOTALS, NOW)
    assert set(frame["status"]) == {"unregistered"} and len(frame) == 4
