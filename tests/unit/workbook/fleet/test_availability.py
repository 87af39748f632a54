"""Availability: an outage's lost energy is finite and where the outage is, whatever its shape."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from energy_lib.workbook.fleet.availability import assess_availability
from energy_lib.workbook.fleet.expectation import expect

SEVILLE = (37.39, -5.98)
WEEK = pd.date_range("2025-06-18", periods=96 * 7, freq="15min", tz="UTC")


def test_an_outage_from_the_last_daylight_interval_through_the_night_loses_that_interval() -> None:
    # GIVEN a plant making 98 % of its clear-sky expectation, off from its last daylight interval of 20 June until
    # its first of 21 June (RdTools' own spread of the loss divides by zero for such an outage: +inf)
    expectation = expect(*SEVILLE, 100.0, WEEK, 15, tilt_deg=30, azimuth_deg=180)
    frame = expectation.frame
    energy_kwh = frame["power_kw"] * expectation.interval_h * 0.98
    dusk = frame.index[(frame.index.normalize() == pd.Timestamp("2025-06-20", tz="UTC")) & frame["daylight"]][-1]
    dawn = frame.index[(frame.index > dusk) & frame["daylight"]][0]
    off = (frame.index >= dusk) & (frame.index < dawn)
    energy_kwh[off] = 0.0
    # WHEN its availability is assessed
    found = assess_availability(energy_kwh, expectation)
    # THEN one real outage, its loss in that interval and finite everywhere, and both availabilities just below 100
    assert len(found.outages) == 1 and found.outages["daylight_intervals"].iloc[0] == 1
    assert np.isfinite(found.lost_kwh).all()
    assert found.lost_kwh.sum() == pytest.approx(found.outages["loss"].iloc[0])
    assert found.lost_kwh[dusk] == pytest.approx(found.lost_kwh.sum())
    assert 0 < found.lost_kwh[dusk] <= frame["power_kw"][dusk] * expectation.interval_h
    assert found.down[off & frame["daylight"]].all() and not found.down[~off].any()
    assert 99.9 < found.energy_pct < 100 and 99 < found.time_pct < 100


def test_a_day_long_outage_loses_its_expected_energy_in_proportion_to_the_sun() -> None:
    # GIVEN a plant making its expectation, off for the whole of 20 June
    expectation = expect(*SEVILLE, 100.0, WEEK, 15, tilt_deg=30, azimuth_deg=180)
    frame = expectation.frame
    energy_kwh = frame["power_kw"] * expectation.interval_h
    off = frame.index.normalize() == pd.Timestamp("2025-06-20", tz="UTC")
    energy_kwh[off] = 0.0
    # WHEN its availability is assessed
    found = assess_availability(energy_kwh, expectation)
    # THEN the lost energy is the day's expected energy (RdTools rescales it to the plant's level), hour by hour
    day_kwh = float(frame.loc[off & frame["daylight"], "power_kw"].sum() * expectation.interval_h)
    assert found.lost_kwh.sum() == pytest.approx(day_kwh, rel=0.02)
    noon = found.lost_kwh[off].idxmax()
    assert abs((noon.hour * 60 + noon.minute) - (12 * 60 + 24)) <= 45
    assert found.energy_pct == pytest.approx(100 * 6 / 7, abs=0.5)
