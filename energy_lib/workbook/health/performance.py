"""PV performance of one site per UTC day, and underperformance against its own recent past.

- specific yield = generated / capacity [kWh/kWp]
- capacity factor = generated / (capacity x 24 h) x 100 [%]
- performance index = generated / expected, where expected = capacity x the day's clear-sky irradiation / 1 kW/m^2
  (what the sky promises the plant on a cloudless day, :func:`.sun.clear_sky_insolation_kwh_m2`) [-]. Clouds,
  soiling, shading and losses bring it below 1; the irradiation is horizontal, so a tilted plant can exceed 1.
  It is compared only with the same site's own index.
- underperformance: the index below the site's trailing median by ``margin_pct`` for ``days`` days in a row.

Generated energy is that of valid readings (the daily rollups' ``energy_generated_kwh``); a day without readings
has no index.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

import pandas as pd

from energy_lib.workbook.health import events as event_model
from energy_lib.workbook.health import sun
from energy_lib.workbook.health.events import Event
from energy_lib.workbook.health.thresholds import BASELINE_DAYS, MARGIN_PCT, MIN_BASELINE_DAYS, UNDERPERFORMANCE_DAYS

if TYPE_CHECKING:
    from energy_lib.workbook.sites.registry import RegisteredSite

HOURS_A_DAY = 24
DAY_COLUMNS = (
    "site_id",
    "day",
    "generated_kwh",
    "expected_kwh",
    "performance_index",
    "specific_yield_kwh_kwp",
    "capacity_factor_pct",
    "baseline_index",
    "underperforming",
)


def daily_figures(generated_kwh: pd.Series, capacity_kw: float, insolation_kwh_m2: pd.Series) -> pd.DataFrame:
    """Expected energy [kWh], performance index [-], specific yield [kWh/kWp] and capacity factor [%] per day.

    Parameters
    ----------
    generated_kwh : Series
        Energy generated each day (NaN: no readings). [kWh]
    capacity_kw : float
        Peak capacity. [kW]
    insolation_kwh_m2 : Series
        Clear-sky irradiation of the same days. [kWh/m^2]
    """
    generated = pd.to_numeric(generated_kwh.map(lambda value: None if value is None else float(value)))
    expected_kwh = capacity_kw * insolation_kwh_m2 / sun.STC_IRRADIANCE_KW_M2
    return pd.DataFrame(
        {
            "expected_kwh": expected_kwh,
            "performance_index": generated / expected_kwh.where(expected_kwh > 0),
            "specific_yield_kwh_kwp": generated / capacity_kw,
            "capacity_factor_pct": 100 * generated / (capacity_kw * HOURS_A_DAY),
        },
        index=generated_kwh.index,
    )


def trailing_median(
    performance_index: pd.Series, baseline_days: int = BASELINE_DAYS, min_baseline_days: int = MIN_BASELINE_DAYS
) -> pd.Series:
    """For each day, the median index over the ``baseline_days`` days before it [-]; NaN when fewer than
    ``min_baseline_days`` of them have an index. ``performance_index`` is indexed by consecutive UTC days."""
    return performance_index.shift(1).rolling(baseline_days, min_periods=min_baseline_days).median()


def low_days(performance_index: pd.Series, baseline_index: pd.Series, margin_pct: float = MARGIN_PCT) -> pd.Series:
    """True for each day whose index is more than ``margin_pct`` [%] below the baseline of the day its run of
    low days began: within a run the baseline stays that of its first day, so a slow decline does not drag its
    own yardstick down. A day without an index or a baseline ends a run."""
    low = pd.Series(False, index=performance_index.index)
    limit = None
    for position, (index, baseline) in enumerate(zip(performance_index, baseline_index, strict=True)):
        fresh = limit is None and not pd.isna(baseline)
        candidate = baseline * (1 - margin_pct / 100) if fresh else limit
        is_low = candidate is not None and not pd.isna(index) and index < candidate
        low.iloc[position] = is_low
        limit = candidate if is_low else None
    return low


def underperforming(
    performance_index: pd.Series,
    baseline_index: pd.Series,
    margin_pct: float = MARGIN_PCT,
    days: int = UNDERPERFORMANCE_DAYS,
) -> pd.Series:
    """True for each day in a run of at least ``days`` [days] :func:`low_days`."""
    return event_model.long_runs(low_days(performance_index, baseline_index, margin_pct), days)


def site_performance(
    site: RegisteredSite,
    generated_kwh: pd.Series,
    *,
    baseline_days: int = BASELINE_DAYS,
    min_baseline_days: int = MIN_BASELINE_DAYS,
    margin_pct: float = MARGIN_PCT,
    underperformance_days: int = UNDERPERFORMANCE_DAYS,
) -> tuple[pd.DataFrame, list[Event]]:
    """Daily performance of one site and its underperformance events.

    Parameters
    ----------
    generated_kwh : Series
        Energy generated (valid readings) each UTC day, indexed by consecutive UTC midnights; NaN or None on a
        day without readings. Give ``baseline_days`` days before the first day you want judged. [kWh]

    Returns
    -------
    days : DataFrame
        :data:`DAY_COLUMNS`, one row per day of ``generated_kwh``.
    events : list of Event
        ``underperformance``, one per run of low days.
    """
    capacity_kw = float(site.capacity_kw)
    insolation = sun.clear_sky_insolation_kwh_m2(float(site.latitude), float(site.longitude), generated_kwh.index)
    figures = daily_figures(generated_kwh, capacity_kw, insolation)
    baseline = trailing_median(figures["performance_index"], baseline_days, min_baseline_days)
    low = underperforming(figures["performance_index"], baseline, margin_pct, underperformance_days)
    days = figures.assign(
        site_id=site.site_id,
        day=generated_kwh.index,
        generated_kwh=[None if pd.isna(value) else Decimal(str(value)) for value in generated_kwh],
        baseline_index=baseline,
        underperforming=low,
    ).reset_index(drop=True)[list(DAY_COLUMNS)]

    def detail(run: pd.Series) -> str:
        last = run.index[-1]
        index, median = figures.at[last, "performance_index"], baseline[run.index[0]]
        return (
            f"performance index {index:.2f} on {last:%Y-%m-%d}, {100 * (1 - index / median):.0f} % below "
            f"{median:.2f}, the median index of the days before the drop (up to {baseline_days})"
        )

    found = event_model.from_mask(low, "underperformance", site.site_id, timedelta(days=1), detail)
    return days, found
