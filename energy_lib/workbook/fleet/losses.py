"""Energy lost by cause, so that expected - lost = actual, as a waterfall.

Working back from what the meter read, interval by interval, each cause's share comes from a library result:

- **outage**: RdTools' outage losses (:mod:`.availability`);
- **clipping**: on the intervals RdTools' ``logic_clip_filter`` marks clipped, the expected energy at the plant's
  current level (its daily normalized energy, smoothed over :data:`LEVEL_DAYS` days and carried across days
  without a usable interval) less what was delivered;
- **soiling**: the energy the plant would have made clean: what it made unconstrained (actual + outage +
  clipping) divided by RdTools SRR's daily soiling ratio, less that;
- **degradation**: likewise with ``(1 + rate / 100) ** age``, the RdTools year-on-year rate compounded over the
  years since commissioning (the registry's ``commissioned_on``; else since the period's first day, said so);
- **other**: the expectation's energy less the actual energy and the four causes above: what the model does
  not explain (with the clear-sky expectation this is mostly the clouds).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from energy_lib.workbook.fleet.expectation import Expectation

CAUSES = ("outage", "clipping", "soiling", "degradation", "other")
LEVEL_DAYS = 15  # days over which the plant's level is the median normalized energy [days]


def plant_level(normalized: pd.Series) -> pd.Series:
    """The plant's daily level against the expectation [-]: the daily normalized energy's rolling median,
    carried across days that have none."""
    level = normalized.rolling(LEVEL_DAYS, center=True, min_periods=1).median()
    return level.interpolate(limit_direction="both").fillna(1.0)


def clipping_lost_kwh(
    energy_kwh: pd.Series, expectation: Expectation, clipped: pd.Series, down: pd.Series, level: pd.Series
) -> pd.Series:
    """Energy the inverter's limit cost in each interval [kWh] (0 outside the clipped intervals)."""
    expected_kwh = expectation.frame["power_kw"] * expectation.interval_h
    unclipped = expected_kwh * level.to_numpy()
    lost = (unclipped - energy_kwh.fillna(0.0)).clip(lower=0.0)
    return lost.where(clipped & ~down, 0.0)


def degradation_factor(
    days: pd.DatetimeIndex, rate_pct_per_year: float | None, commissioned_on: date | None
) -> pd.Series:
    """``(1 + rate / 100) ** age`` for each solar day, age in years since ``commissioned_on`` (or ``days[0]``)."""
    if rate_pct_per_year is None:
        return pd.Series(1.0, index=days)
    since = pd.Timestamp(commissioned_on) if commissioned_on is not None else days[0]
    age = np.clip((days - since) / pd.Timedelta(days=365.25), 0, None)
    return pd.Series((1 + rate_pct_per_year / 100) ** np.asarray(age, dtype=float), index=days)


def waterfall(
    energy_kwh: pd.Series,
    expectation: Expectation,
    interval_day: pd.DatetimeIndex,
    outage_kwh: pd.Series,
    clipping_kwh: pd.Series,
    soiling_ratio: pd.Series,
    degradation: pd.Series,
) -> dict[str, float]:
    """Lost energy by cause [kWh] over the intervals (``interval_day``: each one's solar day), with ``other``
    closing expected - lost = actual."""
    unconstrained = energy_kwh.fillna(0.0).to_numpy() + outage_kwh.to_numpy() + clipping_kwh.to_numpy()
    ratio = soiling_ratio.reindex(interval_day).fillna(1.0).clip(lower=0.05).to_numpy()
    factor = degradation.reindex(interval_day).fillna(1.0).to_numpy()
    clean = unconstrained / ratio
    as_new = clean / factor
    lost = {
        "outage": float(outage_kwh.sum()),
        "clipping": float(clipping_kwh.sum()),
        "soiling": float((clean - unconstrained).sum()),
        "degradation": float((as_new - clean).sum()),
    }
    expected = float((expectation.frame["power_kw"] * expectation.interval_h).sum())
    lost["other"] = expected - float(energy_kwh.fillna(0.0).sum()) - sum(lost.values())
    return lost
