"""Data-quality checks of one site: each finding, and how its threshold changes the verdict (real pvlib and
PVAnalytics, no mocks)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from pvlib.location import Location

from energy_lib.workbook.health import quality, sun
from energy_lib.workbook.sites.registry import RegisteredSite

SEVILLE = RegisteredSite(
    "S", "Seville", Decimal("37.389"), Decimal("-5.984"), "Europe/Madrid", "solar", Decimal(100), 15
)
DAY = datetime(2025, 6, 11, tzinfo=timezone.utc)
INTERVAL = timedelta(minutes=15)
END = DAY + timedelta(days=1)


def slots() -> pd.DatetimeIndex:
    return quality.slots(DAY, END, INTERVAL)


def clear_day_kwh() -> pd.Series:
    """A plausible day of generation at the site: clear sky x capacity x 0.8, rounded to the Wh. [kWh]"""
    middles = slots() + INTERVAL / 2
    ghi = Location(37.389, -5.984, altitude=0.0).get_clearsky(middles, model="ineichen")["ghi"].to_numpy()
    return pd.Series(np.round(100 * ghi / 1000 * 0.8 * 0.25, 3), index=slots())


def readings_of(generation: pd.Series) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "timestamp": generation.index.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "energy_generated_kwh": [Decimal(repr(value)) for value in generation],
            "anomaly": False,
        }
    )


def check(generation: pd.Series, as_of: datetime = END, site: RegisteredSite = SEVILLE, **thresholds):
    received, by_slot = quality.slot_series(readings_of(generation), slots(), INTERVAL)
    return quality.site_quality(site, received, by_slot, as_of, **thresholds)


def kinds(events) -> list[tuple[str, str, float]]:
    return [(event.kind, f"{event.start:%H:%M}", event.duration_min) for event in events]


def test_a_clean_day_is_complete_and_has_no_event() -> None:
    days, events = check(clear_day_kwh())
    assert events == []
    [row] = days.to_dict("records")
    assert (row["expected_intervals"], row["received_intervals"], row["completeness_pct"]) == (96, 96, 100.0)
    assert (row["longest_gap_min"], row["frozen_intervals"], row["outage_intervals"]) == (0, 0, 0)
    assert row["night_generation_kwh"] == 0


def test_readings_lie_on_their_slot_and_a_flagged_one_is_received_without_generation() -> None:
    frame = pd.DataFrame(
        {
            "timestamp": ["2025-06-11T10:07:13Z", "2025-06-11T10:14:59Z", "2025-06-11T10:15:00Z"],
            "energy_generated_kwh": [Decimal("1.5"), Decimal("9"), Decimal("-2")],
            "anomaly": [False, False, True],
        }
    )
    received, generation = quality.slot_series(frame, slots(), INTERVAL)
    assert list(received[received].index.strftime("%H:%M")) == ["10:00", "10:15"]
    assert generation["2025-06-11T10:00Z"] == 1.5  # the slot's first reading
    assert np.isnan(generation["2025-06-11T10:15Z"])  # flagged: received, but no generation to judge


def test_a_gap_is_an_event_from_gap_minutes_on_and_always_counts_in_completeness() -> None:
    generation = clear_day_kwh().drop(slots()[40:44])  # 10:00 to 11:00 missing
    days, events = check(generation)
    assert kinds(events) == [("gap", "10:00", 60.0)]
    assert days.loc[0, "completeness_pct"] == pytest.approx(100 * 92 / 96)
    assert days.loc[0, "longest_gap_min"] == 60
    # a longer threshold: still incomplete, no longer an event
    days, events = check(generation, gap_minutes=75)
    assert events == [] and days.loc[0, "received_intervals"] == 92


def test_completeness_counts_only_the_reporting_hours() -> None:
    # GIVEN a meter that sends readings only by day (nothing at night)
    generation = clear_day_kwh()
    elevations = sun.interval_elevations(37.389, -5.984, slots(), INTERVAL)
    by_day = generation[sun.daylight(elevations).to_numpy()]
    # WHEN the site reports all day THEN the night is a gap; WHEN it reports in daylight THEN it is complete
    all_day, _ = check(by_day)
    daylight_site = RegisteredSite(**{**SEVILLE.row(), "reporting_hours": "daylight"})
    daylight, events = check(by_day, site=daylight_site)
    assert all_day.loc[0, "completeness_pct"] < 70
    assert daylight.loc[0, "completeness_pct"] == 100.0 and events == []
    assert daylight.loc[0, "expected_intervals"] == len(by_day)


def test_intervals_that_end_after_as_of_are_not_expected_yet() -> None:
    generation = clear_day_kwh()[:48]  # readings until 12:00
    days, events = check(generation, as_of=DAY + timedelta(hours=12))
    assert (days.loc[0, "expected_intervals"], days.loc[0, "completeness_pct"]) == (48, 100.0)
    assert events == []


def test_a_frozen_meter_is_found_from_frozen_intervals_daylight_slots_on() -> None:
    generation = clear_day_kwh()
    generation.iloc[40:46] = generation.iloc[40]  # 10:00 to 11:30: six equal readings
    _, events = check(generation)
    assert kinds(events) == [("frozen_values", "10:00", 90.0)]
    assert events[0].detail == f"generation stuck at {Decimal(repr(float(generation.iloc[40])))} kWh per reading"
    _, events = check(generation, frozen_intervals=7)
    assert events == []


def test_equal_zeros_by_day_are_an_outage_not_a_frozen_meter() -> None:
    generation = clear_day_kwh()
    generation.iloc[48:56] = 0.0  # 12:00 to 14:00
    _, events = check(generation)
    assert kinds(events) == [("daytime_outage", "12:00", 120.0)]
    _, events = check(generation, outage_intervals=9)
    assert events == []


def test_zero_generation_counts_as_an_outage_only_with_the_sun_high_enough() -> None:
    generation = clear_day_kwh()
    elevations = sun.interval_elevations(37.389, -5.984, slots(), INTERVAL)
    low = (elevations.min(axis=1) > 0) & (elevations.max(axis=1) < 15)  # early morning, sun up but low
    first_low = int(np.argmax(low.to_numpy()))
    generation.iloc[first_low : first_low + 3] = 0.0
    _, strict = check(generation, min_elevation_deg=0)
    _, lenient = check(generation, min_elevation_deg=15)
    assert [e.kind for e in strict] == ["daytime_outage"] and lenient == []


def test_generation_with_the_sun_down_is_night_generation_above_its_threshold() -> None:
    generation = clear_day_kwh()
    generation["2025-06-11T01:00Z":"2025-06-11T01:45Z"] = 0.25  # 03:00 local: the sun is far below the horizon
    days, events = check(generation)
    assert kinds(events) == [("night_generation", "01:00", 60.0)]
    assert events[0].detail == "1.00 kWh generated with the sun below the horizon"
    assert days.loc[0, "night_generation_kwh"] == Decimal("1.00")
    _, events = check(generation, night_threshold_kwh=0.25)
    assert events == []


def test_a_clock_error_shows_as_night_generation_and_outage() -> None:
    # GIVEN readings whose timestamps are 8 hours late (a clock in the wrong time zone)
    shifted = pd.Series(clear_day_kwh().to_numpy(), index=slots()).shift(32).fillna(0.0)
    _, events = check(shifted)
    found = {event.kind for event in events}
    assert {"night_generation", "daytime_outage"} <= found
