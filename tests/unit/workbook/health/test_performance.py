"""Daily performance figures and underperformance (real pvlib clear sky)."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from energy_lib.workbook.health import performance, sun
from energy_lib.workbook.sites.registry import RegisteredSite

SITE = RegisteredSite("S", "Seville", Decimal("37.389"), Decimal("-5.984"), "Europe/Madrid", "solar", Decimal(200), 15)
DAYS = pd.date_range("2025-06-01", periods=20, freq="D", tz="UTC")


def expected_kwh() -> pd.Series:
    return 200 * sun.clear_sky_insolation_kwh_m2(37.389, -5.984, DAYS)


def test_figures_are_energy_over_capacity_time_and_clear_sky() -> None:
    generated = pd.Series([Decimal("960.5")] * 2 + [None], index=DAYS[:3], dtype=object)
    insolation = pd.Series([8.0, 8.0, 8.0], index=DAYS[:3])
    figures = performance.daily_figures(generated, 200.0, insolation)
    first = figures.iloc[0]
    assert first["expected_kwh"] == 1600.0  # 200 kW x 8 kWh/m^2 / 1 kW/m^2
    assert first["performance_index"] == pytest.approx(960.5 / 1600)
    assert first["specific_yield_kwh_kwp"] == pytest.approx(960.5 / 200)
    assert first["capacity_factor_pct"] == pytest.approx(100 * 960.5 / (200 * 24))
    assert figures.iloc[2].isna()[["performance_index", "specific_yield_kwh_kwp"]].all()  # no readings, no index


def test_clear_sky_insolation_is_that_of_a_june_day_in_seville() -> None:
    insolation = sun.clear_sky_insolation_kwh_m2(37.389, -5.984, DAYS[:1])
    assert 7.5 < insolation.iloc[0] < 9.0  # kWh/m^2 on a horizontal plane near the solstice


def test_the_trailing_median_uses_only_days_before_and_needs_enough_of_them() -> None:
    index = pd.Series([0.5, 0.7, 0.6, 0.9, np.nan, 0.1], index=DAYS[:6])
    baseline = performance.trailing_median(index, baseline_days=3, min_baseline_days=2)
    assert baseline.isna().tolist()[:2] == [True, True]
    assert baseline.iloc[2] == pytest.approx(0.6)  # median(0.5, 0.7)
    assert baseline.iloc[3] == pytest.approx(0.6)  # median(0.5, 0.7, 0.6)
    assert baseline.iloc[5] == pytest.approx(0.75)  # median(0.6, 0.9): the missing day is skipped


def test_low_days_keep_the_baseline_of_the_day_their_run_began() -> None:
    index = pd.Series([0.60, 0.50, 0.45, 0.40], index=DAYS[:4])
    baseline = pd.Series([1.0, 0.9, 0.6, 0.5], index=DAYS[:4])  # a baseline that follows the decline
    # against its own day's baseline, day 3 (0.45 >= 0.7 x 0.6) would not be low: the run keeps day 1's 0.7 x 1.0
    assert performance.low_days(index, baseline, margin_pct=30).tolist() == [True, True, True, True]
    # a run that starts on day 3 (0.30 < 0.55 x 0.6) keeps that limit on day 4 (0.28 < 0.33, not < 0.55 x 0.5)
    later = pd.Series([0.60, 0.50, 0.30, 0.28], index=DAYS[:4])
    assert performance.low_days(later, baseline, margin_pct=45).tolist() == [False, False, True, True]


@pytest.mark.parametrize(("margin_pct", "days", "flagged"), [(30, 3, 5), (30, 6, 0), (70, 3, 0)])
def test_underperformance_needs_the_margin_for_the_days(margin_pct: float, days: int, flagged: int) -> None:
    # GIVEN a site at 80 % of clear sky for 15 days, then at 40 % for 5 days
    factor = np.where(np.arange(20) < 15, 0.8, 0.4)
    generated = pd.Series([Decimal(repr(round(v, 3))) for v in expected_kwh() * factor], index=DAYS, dtype=object)
    # WHEN it is judged
    days_frame, events = performance.site_performance(
        SITE, generated, margin_pct=margin_pct, underperformance_days=days
    )
    # THEN the last five days underperform only when the drop beats the margin for long enough
    assert int(days_frame["underperforming"].sum()) == flagged
    if flagged:
        [event] = events
        assert (event.kind, event.site_id, f"{event.start:%Y-%m-%d}", event.duration_min) == (
            "underperformance",
            "S",
            "2025-06-16",
            5 * 24 * 60,
        )
        assert "performance index 0.40 on 2025-06-20, 50 % below 0.80" in event.detail
    else:
        assert events == []
    assert days_frame["performance_index"].iloc[0] == pytest.approx(0.8, abs=1e-4)
