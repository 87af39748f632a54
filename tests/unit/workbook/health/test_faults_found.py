"""The site-health checks find every fault the simulator injects, with its site, start and duration, and find
nothing in a clean fleet (real simulator, pvlib and PVAnalytics; no storage, see tests/integration for that)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd

from energy_lib.workbook import simulator
from energy_lib.workbook.health import assessment, events
from energy_lib.workbook.simulator import FrozenMeter, Outage, Silence, YieldLoss


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def assess(fleet, start: datetime, days: int, interval: int, faults, seed: int, period_start: datetime):
    """What assess() finds, on the readings and daily totals the pipeline would store for this simulation."""
    run = simulator.simulate(fleet, start, 24 * days, interval, 0.02, seed, faults)
    readings = pd.DataFrame(run.readings)
    readings["anomaly"] = (readings["energy_generated_kwh"] < 0) | (readings["energy_consumed_kwh"] < 0)
    sites = simulator.registry_entries(fleet, interval)
    end = start + timedelta(days=days)
    slot_data = assessment.slot_data_of(sites, readings, period_start, end)
    _, quality_events = assessment.quality_of(sites, slot_data, end)
    valid = readings[~readings["anomaly"]].assign(day=lambda f: pd.to_datetime(f["timestamp"], utc=True).dt.floor("D"))
    daily = valid.groupby(["site_id", "day"], as_index=False)["energy_generated_kwh"].sum()
    _, performance_events = assessment.performance_of(sites, daily, period_start, end, end)
    return quality_events + performance_events


def test_each_injected_fault_is_found_with_its_site_start_and_duration() -> None:
    # GIVEN five sites over 20 days at 15-minute readings, four of them with a fault
    faults = [
        Silence("SITE_005", utc("2025-06-20T18:00")),  # Cape Town, after dark: only the missing readings show
        FrozenMeter("SITE_002", utc("2025-06-20T17:00"), 3),  # Phoenix, 10:00 to 13:00 local
        Outage("SITE_004", utc("2025-06-20T06:00"), 2.5),  # Jaipur, 11:30 to 14:00 local
        YieldLoss("SITE_001", utc("2025-06-14T00:00"), 8),  # Seville, from day 13 on
    ]
    # WHEN the last week is assessed (the 13 days before it are the performance baseline)
    found = assess(simulator.default_fleet(5), utc("2025-06-01"), 20, 15, faults, 42, utc("2025-06-14"))
    # THEN each fault is found once, where and when it was injected, for as long as it lasted
    rows = {(e.kind, e.site_id): (e.start, e.duration_min) for e in found if e.kind != "underperformance"}
    assert rows == {
        ("gap", "SITE_005"): (pd.Timestamp("2025-06-20T18:00Z"), 6 * 60.0),  # until the end of the data
        ("frozen_values", "SITE_002"): (pd.Timestamp("2025-06-20T17:00Z"), 3 * 60.0),
        ("daytime_outage", "SITE_004"): (pd.Timestamp("2025-06-20T06:00Z"), 2.5 * 60),
    }
    # a slow loss shows once it exceeds the margin (30 %: about 4 days at 8 % a day) and lasts to the end
    [loss] = [e for e in found if e.kind == "underperformance"]
    assert loss.site_id == "SITE_001"
    assert utc("2025-06-16") <= loss.start.to_pydatetime() <= utc("2025-06-19")
    assert loss.end == pd.Timestamp("2025-06-21T00:00Z")


def test_a_clean_fleet_of_20_sites_over_7_days_gives_no_event() -> None:
    found = assess(simulator.default_fleet(20), utc("2025-06-05"), 7, 15, [], 42, utc("2025-06-05"))
    assert events.frame(found).empty, events.frame(found).to_string()


def test_thresholds_change_the_verdicts() -> None:
    # GIVEN a one-hour outage (4 readings) and a two-hour frozen span (8 readings)
    faults = [Outage("SITE_001", utc("2025-06-11T10:00"), 1), FrozenMeter("SITE_002", utc("2025-06-11T17:00"), 2)]
    fleet = simulator.default_fleet(2)
    start = utc("2025-06-11")
    sites = simulator.registry_entries(fleet, 15)
    run = simulator.simulate(fleet, start, 24, 15, 0, 3, faults)
    readings = pd.DataFrame(run.readings).assign(anomaly=False)
    slot_data = assessment.slot_data_of(sites, readings, start, start + timedelta(days=1))

    def kinds(**thresholds) -> set[str]:
        _, found = assessment.quality_of(
            sites, slot_data, start + timedelta(days=1), assessment.Thresholds(**thresholds)
        )
        return {event.kind for event in found}

    # THEN the defaults find both; longer runs required find neither
    assert kinds() == {"daytime_outage", "frozen_values"}
    assert kinds(outage_intervals=5) == {"frozen_values"}
    assert kinds(outage_intervals=5, frozen_intervals=9) == set()
