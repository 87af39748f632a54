"""Degradation and soiling the way RdTools measures them: normalize, filter, aggregate per day, then
year-on-year degradation and stochastic rate and recovery (SRR) soiling.

1. Normalized energy: each interval's energy over the expected energy (:mod:`.expectation`),
   :func:`rdtools.normalization.normalize_with_expected_power`, with the plane-of-array insolation.
2. Filters from :mod:`rdtools.filtering`: ``normalized_filter``, ``poa_filter`` and ``tcell_filter`` on the
   expectation's irradiance and cell temperature, ``logic_clip_filter`` (clipped intervals out), no outage
   interval, and for the clear-sky expectation ``clearsky_filter`` (pvlib's Reno-Hansen detection, RdTools'
   parameters for the interval) on the irradiance the plant itself implies (normalized energy x clear-sky
   irradiance): the plant as its own sensor, as RdTools' clear-sky workflow uses an irradiance sensor.
3. Insolation-weighted daily aggregation (:func:`rdtools.aggregation.aggregation_insol`) per solar day, then
   RdTools' ``two_way_window_filter`` on the days, as :class:`rdtools.TrendAnalysis` does; weekly aggregates of
   those days for the year-on-year method.
4. a first year-on-year rate of the series as it is; :func:`rdtools.soiling.soiling_srr` on the series with
   that trend taken out: the insolation-weighted soiling ratio (cleanings taken as perfect), its interval
   rates and the cleanings between them; then :func:`rdtools.degradation.degradation_year_on_year`
   [%/yr] on the weekly normalized energy divided by SRR's daily soiling ratio (a dirtier year would otherwise
   read as degradation), with its 68 % and 95 % intervals (simple bootstrap, seeded so a report repeats),
   refused below two years.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from energy_lib.workbook.fleet.expectation import CLEAR_SKY, Expectation

SOILING_REPS = 30  # SRR Monte Carlo realizations (RdTools' default is 1000; with perfect cleanings the P50 moves
# little, and each realization costs about 30 ms) [-]
SOILING_METHOD = "perfect_clean"  # a cleaning (rain, the operator) restores the modules fully
BOOTSTRAP_SEED = 2025  # the year-on-year bootstrap's seed, so that a report repeats
MIN_YEARS = 2  # the year-on-year method's minimum [years]
CLEANING_RAIN_MM = 5.0  # a day with this much rain may clean the modules (SRR's precip_threshold) [mm]
SOILING_CORRECTION_PCT = 1.0  # degradation is measured on soiling-corrected energy when SRR finds this much [%]


@dataclass(frozen=True, slots=True)
class Daily:
    """The daily normalized energy (insolation-weighted, filtered; NaN on days without usable intervals), its
    insolation and, when the site's weather has it, the day's rain [mm], indexed by solar date; ``clipped`` per
    interval (RdTools' clip filter)."""

    normalized: pd.Series
    insolation: pd.Series
    clipped: pd.Series
    usable_intervals: int
    precipitation_mm: pd.Series | None = None


@dataclass(frozen=True, slots=True)
class Trend:
    """A library result or the reason there is none."""

    value: float | None = None
    ci68: tuple[float, float] | None = None
    ci95: tuple[float, float] | None = None
    refused: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


def daily_normalized(energy_kwh: pd.Series, expectation: Expectation, down: pd.Series, zone: Any) -> Daily:
    """Steps 1 to 3: the daily normalized energy of a site whose interval energies are ``energy_kwh``
    (indexed like the expectation's frame; NaN where no reading), ``down`` its outage intervals, ``zone`` its
    solar time zone."""
    from rdtools import aggregation, filtering, normalization

    frame = expectation.frame
    index = (frame.index + pd.Timedelta(minutes=expectation.interval_minutes)).tz_convert(zone)
    index.freq = pd.Timedelta(minutes=expectation.interval_minutes)
    power = pd.Series(energy_kwh.to_numpy() / expectation.interval_h, index=index)
    expected = pd.Series(frame["power_kw"].to_numpy(), index=index)
    poa = pd.Series(frame["poa_w_m2"].to_numpy(), index=index)
    normalized, insolation = normalization.normalize_with_expected_power(power, expected, poa, pv_input="power")
    normalized = normalized.reindex(index)
    insolation = insolation.reindex(index)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clipped = ~filtering.logic_clip_filter(power.fillna(0.0)).reindex(index, fill_value=True)
        keep = (
            filtering.normalized_filter(normalized)
            & filtering.poa_filter(poa)
            & filtering.tcell_filter(pd.Series(frame["temp_cell_c"].to_numpy(), index=index))
            & ~clipped
            & ~pd.Series(down.to_numpy(), index=index)
            & power.notna()
        )
        if expectation.basis == CLEAR_SKY:
            implied = (normalized * poa).fillna(0.0)
            implied.index.freq = index.freq
            keep &= filtering.clearsky_filter(implied, poa, model="pvlib", lookup_parameters=True).reindex(
                index, fill_value=False
            )
        daily = aggregation.aggregation_insol(normalized[keep], insolation[keep], "D")
        daily_insolation = insolation[keep].resample("D", origin="start_day").sum()
        days = pd.date_range(index[0].normalize(), index[-1].normalize(), freq="D")
        daily = daily.reindex(days)
        daily_insolation = daily_insolation.reindex(days, fill_value=0.0)
        outliers = ~filtering.two_way_window_filter(daily.dropna()).reindex(days, fill_value=True)
        daily[outliers] = np.nan
    naive = days.tz_localize(None)
    rain = None
    if "precipitation_mm" in frame:
        rain_by_interval = pd.Series(frame["precipitation_mm"].fillna(0.0).to_numpy(), index=index)
        rain = pd.Series(rain_by_interval.resample("D").sum().reindex(days, fill_value=0.0).to_numpy(), index=naive)
    return Daily(
        normalized=pd.Series(daily.to_numpy(), index=naive),
        insolation=pd.Series(daily_insolation.to_numpy(), index=naive),
        clipped=pd.Series(clipped.to_numpy(), index=frame.index),
        usable_intervals=int(keep.sum()),
        precipitation_mm=rain,
    )


@contextmanager
def _seeded(seed: int):
    """numpy's global generator seeded for a block (RdTools' bootstraps draw from it), then put back."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def weekly(daily: Daily, soiling_ratio: pd.Series | None = None) -> pd.Series:
    """The insolation-weighted weekly normalized energy (:func:`rdtools.aggregation.aggregation_insol` of the
    days), the days divided by ``soiling_ratio`` (SRR's daily profile) first when given."""
    from rdtools.aggregation import aggregation_insol

    values = daily.normalized
    if soiling_ratio is not None and len(soiling_ratio):
        values = values / soiling_ratio.reindex(values.index).fillna(1.0)
    usable = values.notna()
    return aggregation_insol(values[usable], daily.insolation[usable], "W").dropna()


def _span_years(values: pd.Series) -> float:
    return (values.index[-1] - values.index[0]).days / 365.25 if len(values) > 1 else 0.0


def degradation(daily: Daily, soiling_ratio: pd.Series | None = None) -> Trend:
    """Year-on-year degradation [%/yr] with 68 % and 95 % intervals, of the :func:`weekly` normalized energy
    (divided by ``soiling_ratio`` first when given, so that a dirtier year does not read as degradation).

    Weekly rather than daily: consecutive days share their weather and soiling, so the bootstrap of daily
    slopes (RdTools' ``simple``) gives intervals too narrow for the truth; weekly slopes are closer to
    independent (on simulated fleets the 95 % interval then holds the true rate for nineteen sites in twenty).
    """
    from rdtools.degradation import degradation_year_on_year

    values = weekly(daily, soiling_ratio)
    span = _span_years(values)
    if span * 365.25 < MIN_YEARS * 365 - 7:
        return Trend(refused=f"needs {MIN_YEARS} years of usable days; the period has {span:.1f}")
    with _seeded(BOOTSTRAP_SEED), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            rate, ci68, info = degradation_year_on_year(values, confidence_level=68.2)
            _, ci95, _ = degradation_year_on_year(values, confidence_level=95)
        except ValueError as error:
            return Trend(refused=f"RdTools year-on-year: {error}")
    return Trend(float(rate), _pair(ci68), _pair(ci95), details={"pairs": len(info["YoY_values"])})


def first_pass_rate(daily: Daily) -> float | None:
    """Year-on-year degradation of the :func:`weekly` normalized energy as it is [%/yr] (no interval: RdTools'
    ``uncertainty_method=None``), for :func:`soiling` to take out before it looks for soiling; None below two
    years."""
    from rdtools.degradation import degradation_year_on_year

    values = weekly(daily)
    if _span_years(values) * 365.25 < MIN_YEARS * 365 - 7:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return float(degradation_year_on_year(values, uncertainty_method=None))
        except ValueError:
            return None


def soiling(daily: Daily, rate_pct_per_year: float | None = None) -> Trend:
    """SRR soiling: the insolation-weighted soiling loss [%] (1 - soiling ratio) with its 68 % interval; in
    ``details``: ``rate_pct_per_day`` (the median loss rate of the valid soiling intervals), ``cleanings``
    (the days an interval began after a cleaning) and ``ratio`` (the daily soiling ratio, perfect cleaning).
    With ``rate_pct_per_year`` (:func:`first_pass_rate`), SRR sees the normalized energy with that linear trend
    taken out: a perfect cleaning restores the plant to its level of the day, not of the first year."""
    with warnings.catch_warnings():  # RdTools calls its soiling module experimental on import
        warnings.simplefilter("ignore")
        from rdtools.soiling import NoValidIntervalError, soiling_srr

    values = daily.normalized.asfreq("D")
    if rate_pct_per_year is not None:
        years = (values.index - values.index[0]) / pd.Timedelta(days=365.25)
        values = values / (1 + rate_pct_per_year / 100 * np.asarray(years, dtype=float))
    with _seeded(BOOTSTRAP_SEED), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ratio, ci, info = soiling_srr(
                values,
                daily.insolation.reindex(values.index),
                reps=SOILING_REPS,
                method=SOILING_METHOD,
                **_rain(daily, values.index),
            )
        except NoValidIntervalError:
            return Trend(0.0, (0.0, 0.0), details={"rate_pct_per_day": 0.0, "cleanings": [], "none_found": True})
        except (ValueError, KeyError, IndexError) as error:
            return Trend(refused=f"RdTools SRR: {error}")
    intervals = info["soiling_interval_summary"]
    valid = intervals[intervals["valid"]]
    rate = float(-100 * valid["soiling_rate"].median()) if len(valid) else 0.0
    cleanings = [pd.Timestamp(start) for start in intervals["start"].iloc[1:]]
    low, high = (100 * (1 - float(bound)) for bound in ci[::-1])
    return Trend(
        100 * (1 - float(ratio)),
        (low, high),
        details={"rate_pct_per_day": rate, "cleanings": cleanings, "ratio": info["soiling_ratio_perfect_clean"]},
    )


def _rain(daily: Daily, days: pd.DatetimeIndex) -> dict[str, Any]:
    """SRR's rain arguments: with a rain series, a day of :data:`CLEANING_RAIN_MM` or more is a cleaning as a
    jump in the normalized energy is (``precip_or_shift``); without, jumps only."""
    if daily.precipitation_mm is None:
        return {}
    return {
        "precipitation_daily": daily.precipitation_mm.reindex(days, fill_value=0.0),
        "clean_criterion": "precip_or_shift",
        "precip_threshold": CLEANING_RAIN_MM,
    }


def _pair(values: Any) -> tuple[float, float]:
    return float(values[0]), float(values[1])
