"""The simulated fleet and its readings: sites, the solar day, the load, anomalies, the period."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from energy_lib.workbook.simulator import (
    Site,
    default_fleet,
    simulate,
)
from tests.unit.workbook.simulator.conftest import (
    PHOENIX,
    START,
    SYDNEY,
)

# --- fleet


def test_default_fleet_is_deterministic_with_distinct_sites_in_distinct_time_zones():
    # GIVEN / WHEN two fleets asked for the same way
    fleet = default_fleet(5)

    # THEN they are equal, numbered SITE_001..., each in its own time zone
    assert fleet == default_fleet(5)
    assert [site.site_id for site in fleet] == [f"SITE_{n:03d}" for n in range(1, 6)]
    assert len({site.timezone for site in fleet}) == 5
    assert all(site.capacity_kw > 0 and site.base_load_kw > 0 for site in fleet)


def test_a_large_default_fleet_keeps_ids_and_locations_distinct():
    fleet = default_fleet(30)

    assert len({site.site_id for site in fleet}) == 30
    assert len({(site.latitude, site.longitude) for site in fleet}) == 30


# --- the solar day


@pytest.mark.parametrize("site", [PHOENIX, SYDNEY], ids=lambda site: site.timezone)
def test_generation_is_zero_at_local_night_and_centred_on_local_solar_noon(site):
    # GIVEN three days without anomalies
    simulation = simulate([site], START, 72, interval_minutes=5, anomaly_rate=0)
    zone = ZoneInfo(site.timezone)
    by_day: dict[str, list[tuple[float, float]]] = {}
    for reading in simulation.readings:
        midpoint = datetime.fromisoformat(reading["timestamp"]) + timedelta(minutes=2.5)
        local = midpoint.astimezone(zone)
        hour = local.hour + local.minute / 60 + local.second / 3600
        by_day.setdefault(local.date().isoformat(), []).append((hour, reading["energy_generated_kwh"]))

        # THEN nothing is generated between local midnight and 03:00
        if hour < 3:
            assert reading["energy_generated_kwh"] == 0, reading

    # THEN on each whole local day generation is centred on solar noon of that longitude, in local time
    offset_h = START.astimezone(zone).utcoffset() / timedelta(hours=1)
    solar_noon_h = 12 + (offset_h * 15 - site.longitude) / 15  # within ~15 min (equation of time)
    whole_days = [day for day in by_day.values() if len(day) == 288]
    assert len(whole_days) >= 2
    for day in whole_days:
        total_kwh = sum(kwh for _, kwh in day)
        assert total_kwh > 0
        centre_h = sum(hour * kwh for hour, kwh in day) / total_kwh
        assert abs(centre_h - solar_noon_h) < 0.3, (centre_h, solar_noon_h)
        peak_h = max(day, key=lambda item: item[1])[0]
        assert abs(peak_h - solar_noon_h) < 1.5, (peak_h, solar_noon_h)


def test_generation_scales_with_interval_length_and_consumption_has_two_daily_peaks():
    # GIVEN the same day at 5 and 60 minute intervals
    fine = simulate([PHOENIX], START, 24, interval_minutes=5, anomaly_rate=0)
    coarse = simulate([PHOENIX], START, 24, interval_minutes=60, anomaly_rate=0)

    # THEN the day's energy agrees whatever the interval
    for field in ("energy_generated_kwh", "energy_consumed_kwh"):
        fine_kwh = sum(r[field] for r in fine.readings)
        coarse_kwh = sum(r[field] for r in coarse.readings)
        assert coarse_kwh == pytest.approx(fine_kwh, rel=0.03)

    # THEN hourly consumption is higher in the local morning and evening than at night (Phoenix: UTC-7)
    by_local_hour = {(int(r["timestamp"][11:13]) - 7) % 24: r["energy_consumed_kwh"] for r in coarse.readings}
    night_kwh = by_local_hour[3]
    assert by_local_hour[7] > 1.3 * night_kwh
    assert by_local_hour[19] > 1.5 * night_kwh
    assert by_local_hour[19] > by_local_hour[13]


# --- anomalies


def test_anomaly_count_follows_the_rate_and_is_reported_exactly():
    # GIVEN 5 sites for 48 h at 5 minutes: 2,880 readings
    simulation = simulate(default_fleet(5), START, 48, anomaly_rate=0.1, seed=3)
    readings = simulation.readings
    negatives = [
        value for r in readings for value in (r["energy_generated_kwh"], r["energy_consumed_kwh"]) if value < 0
    ]

    # THEN about 10 % are anomalies (binomial sd ~16), and each has exactly one negative value
    assert len(readings) == 2880
    assert 2880 * 0.1 - 80 <= simulation.injected_anomalies <= 2880 * 0.1 + 80
    assert len(negatives) == simulation.injected_anomalies

    # THEN magnitudes range from small to large, within -80 .. -0.5 kWh
    assert all(-80 <= value <= -0.5 for value in negatives)
    assert min(negatives) < -20
    assert max(negatives) > -2
    generated = sum(r["energy_generated_kwh"] < 0 for r in readings)
    assert 0.3 < generated / len(negatives) < 0.7


def test_no_anomalies_at_rate_zero_and_every_reading_at_rate_one():
    none = simulate(default_fleet(3), START, 24, anomaly_rate=0)
    every = simulate(default_fleet(3), START, 24, anomaly_rate=1)

    assert none.injected_anomalies == 0
    assert all(r["energy_generated_kwh"] >= 0 and r["energy_consumed_kwh"] >= 0 for r in none.readings)
    assert every.injected_anomalies == len(every.readings)
    assert all(r["energy_generated_kwh"] < 0 or r["energy_consumed_kwh"] < 0 for r in every.readings)


# --- the period


@pytest.mark.parametrize(
    ("hours", "interval_minutes", "per_site"),
    [(1, 5, 12), (0.1, 5, 2), (24, 60, 24), (24, 1440, 1), (1 / 6, 5, 2)],
)
def test_one_reading_per_site_for_each_interval_starting_in_the_period(hours, interval_minutes, per_site):
    simulation = simulate(default_fleet(2), START, hours, interval_minutes)

    stamps = [r["timestamp"] for r in simulation.readings if r["site_id"] == "SITE_001"]
    step = timedelta(minutes=interval_minutes)
    assert stamps == [(START + n * step).strftime("%Y-%m-%dT%H:%M:%SZ") for n in range(per_site)]
    assert len(simulation.readings) == 2 * per_site


def test_a_utc_start_from_zoneinfo_is_accepted():
    simulation = simulate(default_fleet(1), datetime(2025, 6, 11, 8, tzinfo=ZoneInfo("UTC")), 1)

    assert simulation.readings[0]["timestamp"] == "2025-06-11T08:00:00Z"


# --- bad arguments


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"start": datetime(2025, 6, 11)}, "timezone-aware UTC"),
        ({"start": datetime(2025, 6, 11, tzinfo=timezone(timedelta(hours=2)))}, "timezone-aware UTC"),
        ({"start": "2025-06-11T00:00:00Z"}, "timezone-aware UTC"),
        ({"hours": 0}, "hours"),
        ({"hours": -1}, "hours"),
        ({"hours": math.nan}, "hours"),
        ({"interval_minutes": 0}, "interval_minutes"),
        ({"interval_minutes": 1441}, "interval_minutes"),
        ({"interval_minutes": 2.5}, "interval_minutes"),
        ({"anomaly_rate": -0.1}, "anomaly_rate"),
        ({"anomaly_rate": 1.5}, "anomaly_rate"),
        ({"seed": -1}, "seed"),
        ({"fleet": []}, "at least one site"),
        ({"fleet": [PHOENIX, PHOENIX]}, "distinct"),
        ({"start": datetime(1960, 1, 1, tzinfo=UTC)}, "the years the pipeline keeps"),
        ({"start": datetime(2199, 12, 31, 23, tzinfo=UTC), "hours": 2}, "the years the pipeline keeps"),
        ({"hours": 1e9}, "the years the pipeline keeps"),
        ({"hours": 24 * 366 * 10, "interval_minutes": 1}, "simulate the period in parts"),
    ],
)
def test_simulate_rejects_bad_arguments(kwargs, message):
    arguments = {"fleet": [PHOENIX], "start": START, "hours": 1} | kwargs

    with pytest.raises(ValueError, match=message):
        simulate(**arguments)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"site_id": "site 1"}, "site_id"),
        ({"site_id": ""}, "site_id"),
        ({"latitude": 91.0}, "latitude"),
        ({"longitude": -181.0}, "longitude"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"site_type": ""}, "site_type"),
        ({"capacity_kw": -1.0}, "capacity_kw"),
        ({"base_load_kw": math.inf}, "base_load_kw"),
    ],
)
def test_site_rejects_bad_values(changes, message):
    fields = {
        "site_id": "S1",
        "latitude": 1.0,
        "longitude": 2.0,
        "timezone": "UTC",
        "site_type": "solar",
        "capacity_kw": 1.0,
        "base_load_kw": 1.0,
    } | changes

    with pytest.raises(ValueError, match=message):
        Site(**fields)


@pytest.mark.parametrize("n_sites", [0, -1, 2.0])
def test_default_fleet_rejects_bad_sizes(n_sites):
    with pytest.raises(ValueError, match="n_sites"):
        default_fleet(n_sites)
