"""RdTools on daily series, and the losses by cause: a soiling sawtooth is found with its cleanings, a
degradation is measured on weeks and refused under two years, and the waterfall closes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from energy_lib.workbook.fleet import losses, trends
from energy_lib.workbook.fleet.expectation import Expectation

DAYS = pd.date_range("2022-01-01", periods=3 * 365, freq="D")


def daily(values: np.ndarray, rain: np.ndarray | None = None) -> trends.Daily:
    return trends.Daily(
        normalized=pd.Series(values, index=DAYS),
        insolation=pd.Series(5.0, index=DAYS),
        clipped=pd.Series(dtype=bool),
        usable_intervals=len(DAYS),
        precipitation_mm=None if rain is None else pd.Series(rain, index=DAYS),
    )


def test_a_soiling_sawtooth_and_a_degradation_are_recovered() -> None:
    # GIVEN -0.8 %/yr and soiling of 0.2 %/day cleaned every 40 days, with 0.3 % noise
    rng = np.random.default_rng(4)
    years = np.arange(len(DAYS)) / 365.25
    soiling = 1 - 0.002 * (np.arange(len(DAYS)) % 40)
    values = (1 - 0.008 * years) * soiling * np.exp(rng.normal(0, 0.003, len(DAYS)))
    series = daily(values)
    # WHEN RdTools looks
    found = trends.soiling(series, trends.first_pass_rate(series))
    rate = trends.degradation(series, found.details["ratio"])
    # THEN the soiling loss (insolation-weighted mean of 1 - ratio: 3.9 %) and the rate come back
    assert found.value == pytest.approx(100 * (1 - soiling.mean()), abs=0.5)
    assert found.details["rate_pct_per_day"] == pytest.approx(0.2, abs=0.05)
    assert 20 <= len(found.details["cleanings"]) <= 30  # 27 cleanings
    assert rate.value == pytest.approx(-0.8, abs=0.15) and rate.ci95[0] <= -0.8 <= rate.ci95[1]
    assert rate.ci95[0] < rate.ci68[0] < rate.value < rate.ci68[1] < rate.ci95[1]


def test_under_two_years_the_rate_is_refused_with_the_reason() -> None:
    short = trends.Daily(pd.Series(1.0, index=DAYS[:500]), pd.Series(5.0, index=DAYS[:500]), pd.Series(dtype=bool), 500)
    refused = trends.degradation(short)
    assert refused.value is None and refused.ci95 is None and "needs 2 years" in refused.refused
    assert trends.first_pass_rate(short) is None


def test_a_clean_flat_plant_shows_no_soiling_worth_naming() -> None:
    rng = np.random.default_rng(5)
    found = trends.soiling(daily(np.exp(rng.normal(0, 0.003, len(DAYS)))))
    assert found.value < 1.0


def test_the_waterfall_closes_expected_less_lost_is_actual() -> None:
    grid = pd.date_range("2024-06-01", periods=8, freq="h", tz="UTC")
    frame = pd.DataFrame({"power_kw": [0, 50, 100, 100, 100, 80, 40, 0.0]}, index=grid)
    expectation = Expectation(frame, "weather", 60)
    energy = pd.Series([0, 40, 70, 70, np.nan, 60, 30, 0.0], index=grid)
    day = (grid.tz_convert("UTC").tz_localize(None)).normalize()
    outage = pd.Series([0, 0, 0, 0, 0, 0, 0, 0.0], index=grid)
    level = pd.Series(0.8, index=day)
    clipped = pd.Series([False, False, True, True, False, False, False, False], index=grid)
    clipping = losses.clipping_lost_kwh(energy, expectation, clipped, pd.Series(False, index=grid), level)
    assert clipping.tolist() == [0, 0, 10, 10, 0, 0, 0, 0]  # 0.8 x 100 kWh expected, 70 delivered
    ratio = pd.Series(0.9, index=day.unique())
    factor = losses.degradation_factor(day.unique(), -1.0, pd.Timestamp("2022-06-01").date())
    assert factor.iloc[0] == pytest.approx(0.99**2, rel=1e-3)
    lost = losses.waterfall(energy, expectation, day, outage, clipping, ratio, factor)
    assert set(lost) == set(losses.CAUSES)
    assert 470 - sum(lost.values()) == pytest.approx(energy.sum())
    assert lost["soiling"] == pytest.approx((energy.sum() + 20) / 0.9 - (energy.sum() + 20))
