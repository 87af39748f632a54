"""The simulated fleet whose truth is known: each injected loss is where it was put, and expected - losses =
actual to the watt-hour; the fleet is drawn the same way from the same seed; it lands in the lake once."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from energy_lib.config import Settings
from energy_lib.errors import LakeError
from energy_lib.workbook.simulator import fleet
from energy_lib.workbook.simulator.model import Site
from energy_lib.workbook.simulator.plant import CLEANING_RAIN_MM, Plant, simulate_plant, soiling_ratio
from energy_lib.workbook.simulator.weather import Climate, simulate_weather

START = datetime(2024, 5, 1, tzinfo=UTC)
SEVILLE = Site("PV_X", 37.389, -5.984, "Europe/Madrid", "solar", 500.0, 50.0, "Seville")
SUNNY = Climate(0.7, 0.1, 0.5)


def plant(**changes: object) -> Plant:
    values = dict(
        site=SEVILLE,
        tilt_deg=30.0,
        azimuth_deg=180.0,
        dc_ac_ratio=1.4,
        commissioned_on=date(2020, 5, 1),
        climate=SUNNY,
        degradation_pct_per_year=-1.0,
        soiling_rate_pct_per_day=0.3,
        cleaning_limit_pct=5.0,
        outages=((START + timedelta(days=3, hours=8), START + timedelta(days=3, hours=14)),),
        time_shift_start=START + timedelta(days=10, minutes=24),
        time_shift_minutes=60,
    )
    return Plant(**(values | changes))


@pytest.fixture(scope="module")
def history():
    starts = fleet.interval_starts(START, 20, 15)
    return starts, simulate_plant(plant(), starts, 15, seed=5)


def test_expected_less_every_loss_is_what_the_meter_read(history) -> None:
    _, run = history
    truth = run.truth
    lost = truth["lost_energy_kwh"]
    assert all(lost[cause] > 0 for cause in ("outage", "clipping", "soiling", "degradation"))
    assert abs(lost["other"]) < 2.0  # rounding to watt-hours only
    assert truth["expected_kwh"] - sum(lost.values()) == pytest.approx(truth["actual_kwh"], abs=0.01)
    assert truth["actual_kwh"] == pytest.approx(run.generated_wh.sum() / 1000, abs=0.01)


def test_the_inverter_clips_the_outage_reads_zero_and_the_clock_jumps(history) -> None:
    starts, run = history
    limit_wh = 1000 * SEVILLE.capacity_kw / 1.4 * 0.25
    assert run.generated_wh.max() <= limit_wh + 1 and (run.generated_wh >= limit_wh - 1).sum() > 10
    stamps = pd.DatetimeIndex(run.moments).tz_localize("UTC")
    energy = pd.Series(run.generated_wh, index=stamps)
    outage = energy[START + timedelta(days=3, hours=8) : START + timedelta(days=3, hours=13, minutes=45)]
    assert len(outage) == 24 and (outage == 0).all()
    # from the shift on, a reading carries its interval's start + 60 min: the day's first production moves
    first_before = energy[START + timedelta(days=9) : START + timedelta(days=9, hours=23)].gt(0).idxmax()
    first_after = energy[START + timedelta(days=11) : START + timedelta(days=11, hours=23)].gt(0).idxmax()
    assert 55 <= (first_after - first_before - timedelta(days=2)).total_seconds() / 60 <= 65
    assert run.truth["time_shifts"] == [{"start": "2024-05-11", "minutes": 60}]
    assert run.truth["time_shift_minutes"] == 60
    assert len(set(run.moments.tolist())) == len(run.moments)  # no two readings at one time


def test_the_weather_station_and_the_truth_fields(history) -> None:
    starts, run = history
    assert list(run.station.columns) == ["poa_global_w_m2", "temp_air_c", "wind_speed_m_s", "precipitation_mm"]
    assert run.station.index.equals(starts) and run.station["poa_global_w_m2"].max() > 800
    assert 90 < run.truth["availability_pct"] < 100 and 0 < run.truth["clipping_loss_pct"] < 20
    assert run.truth["degradation_pct_per_year"] == -1.0 and run.truth["soiling_rate_pct_per_day"] == 0.3


def test_soiling_falls_each_day_and_comes_back_with_rain_or_the_operator() -> None:
    days = pd.DataFrame(
        {"rain_mm": [0, 0, CLEANING_RAIN_MM, 0, 0, 0, 0, 1.0]}, index=pd.date_range("2024-05-01", periods=8)
    )
    ratio = soiling_ratio(plant(soiling_rate_pct_per_day=2.0, cleaning_limit_pct=7.0), days)
    assert ratio.tolist() == pytest.approx([0.98, 0.96, 1.0, 0.98, 0.96, 0.94, 1.0, 0.98])
    assert soiling_ratio(plant(soiling_rate_pct_per_day=0.0), days).tolist() == [1.0] * 8


def test_weather_repeats_with_its_seed_and_clear_days_are_smoother() -> None:
    times = pd.date_range(START, periods=30 * 288, freq="5min")
    first = simulate_weather(37.4, -6.0, SUNNY, times, np.random.default_rng(1))
    again = simulate_weather(37.4, -6.0, SUNNY, times, np.random.default_rng(1))
    pd.testing.assert_frame_equal(first.samples, again.samples)
    samples = first.samples.assign(sky=first.days["sky"].to_numpy()[first.samples["day"].to_numpy()])
    noon = samples[samples["apparent_elevation"] > 40]
    jumps = noon.groupby("sky")["ghi"].apply(lambda ghi: ghi.diff().abs().median())
    assert set(first.days["sky"]) <= {"clear", "partly", "overcast"} and jumps["clear"] < jumps.get("partly", np.inf)


def test_the_fleet_is_drawn_the_same_way_from_its_seed() -> None:
    plants = fleet.draw_fleet(24, START, 1096, 15, seed=3)
    assert plants == fleet.draw_fleet(24, START, 1096, 15, seed=3)
    assert [p.site.site_id for p in plants[:3]] == ["PV_001", "PV_002", "PV_003"]
    assert all(100 <= p.site.capacity_kw <= 900 and 1.0 <= p.dc_ac_ratio <= 1.5 for p in plants)
    assert any(p.degradation_pct_per_year == 0 for p in plants) and any(p.soiling_rate_pct_per_day == 0 for p in plants)
    assert any(p.time_shift_start is not None for p in plants) and any(p.time_shift_start is None for p in plants)
    entries = fleet.registry_entries(plants, 15)
    assert entries[0].dc_ac_ratio is not None and entries[0].commissioned_on == plants[0].commissioned_on
    with pytest.raises(ValueError, match="UTC midnight"):
        fleet.interval_starts(START + timedelta(hours=1), 10, 15)


def test_the_fleet_lands_in_the_lake_once_with_its_truth(tmp_path: Path) -> None:
    run = fleet.simulate_fleet(2, START, 3, 60, seed=2, workers=1)
    written = fleet.write_fleet(Settings(), run, tmp_path)
    files = sorted((tmp_path / "readings").glob("day=*/readings.parquet"))
    assert written.readings == sum(pq.read_metadata(f).num_rows for f in files) == 2 * 3 * 24
    assert {p.name for p in (tmp_path / "weather").iterdir()} == {"PV_001.parquet", "PV_002.parquet"}
    with pytest.raises(LakeError, match="already holds"):
        fleet.write_fleet(Settings(), run, tmp_path, stations=False)
    document = json.loads(json.dumps(fleet.truth_document(run)))
    assert document["simulation"] == {
        "sites": 2,
        "start": "2024-05-01T00:00:00Z",
        "end": "2024-05-04T00:00:00Z",
        "interval_minutes": 60,
        "seed": 2,
    }
    assert set(document["sites"]["PV_001"]) >= {"degradation_pct_per_year", "soiling_loss_pct", "lost_energy_kwh"}
