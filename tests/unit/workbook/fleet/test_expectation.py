"""The expectation: what a site should make in each interval, from the clear sky or from its own weather."""

from __future__ import annotations

import pandas as pd
import pytest

from energy_lib.workbook.fleet.expectation import CLEAR_SKY, SYSTEM_LOSS_PCT, WEATHER, expect, solar_offset_minutes

SEVILLE = (37.39, -5.98)
JUNE_DAY = pd.date_range("2025-06-21", periods=96, freq="15min", tz="UTC")


def test_a_clear_june_day_in_seville_peaks_near_what_the_plant_is_rated_for() -> None:
    found = expect(*SEVILLE, 100.0, JUNE_DAY, 15, tilt_deg=30, azimuth_deg=180)
    frame = found.frame
    assert found.basis == CLEAR_SKY and found.assumptions == ()
    peak = frame["power_kw"].max()
    # about 1 kW/m^2 on the plane, cells near 55 degC, PVWatts' losses and the inverter: 70-85 % of capacity
    assert 0.70 * 100 < peak < 100 * (1 - SYSTEM_LOSS_PCT / 100) * 0.96 * 1.1
    assert abs(frame["power_kw"].idxmax().hour * 60 + frame["power_kw"].idxmax().minute - (12 * 60 + 24)) <= 45
    assert (frame.loc[~frame["sun_up"], "power_kw"] == 0).all()
    assert frame["daylight"].sum() < frame["sun_up"].sum()  # 5 degrees up is later than sunrise
    assert frame.loc[frame["poa_w_m2"] > 0, "temp_cell_c"].max() > 40


def test_a_site_without_tilt_is_taken_as_horizontal_and_says_so() -> None:
    flat = expect(*SEVILLE, 100.0, JUNE_DAY, 15)
    tilted = expect(*SEVILLE, 100.0, JUNE_DAY, 15, tilt_deg=30, azimuth_deg=180)
    assert flat.assumptions == ("no tilt or azimuth in the registry: modules taken as horizontal",)
    assert flat.frame["power_kw"].sum() != pytest.approx(tilted.frame["power_kw"].sum(), rel=0.01)


def test_the_weather_basis_uses_the_series_irradiance_temperature_and_rain() -> None:
    series = pd.DataFrame(
        {"poa_global_w_m2": 500.0, "temp_air_c": 20.0, "precipitation_mm": 0.25},
        index=pd.date_range("2025-06-21", periods=96 * 3, freq="5min", tz="UTC"),
    )
    found = expect(*SEVILLE, 100.0, JUNE_DAY, 15, 30, 180, weather=series)
    assert found.basis == WEATHER
    assert found.frame["poa_w_m2"].iloc[:-1].eq(500.0).all()  # the series' last sample ends before the last middle
    assert found.frame["precipitation_mm"].iloc[0] == pytest.approx(0.75)  # three 5-minute samples in 15 minutes
    assert found.frame["wind_speed_m_s"].eq(1.0).all()  # the default when the series has none


def test_solar_time_follows_longitude() -> None:
    assert (solar_offset_minutes(0.0), solar_offset_minutes(139.69), solar_offset_minutes(-112.07)) == (0, 559, -448)
