"""Data quality of one site from its readings: completeness, gaps, frozen values, daytime outages, night
generation.

A site's readings are first laid on its interval slots (:func:`slot_series`): slot ``k`` of a UTC day starts at
``midnight + k x interval``; a reading counts in the slot its timestamp falls in. Each check is one function
that takes Series indexed by slot start and returns a boolean mask of the same index; :func:`site_quality`
runs them all and turns the masks into events (:mod:`energy_lib.workbook.health.events`) and one row of figures
per site and UTC day.

Generation of a flagged reading (an anomaly: a negative value, an implausible one) is left out of the
generation checks, as a missing value: it is already reported as an anomaly.
"""

from __future__ import annotations

import math
import warnings
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from pvanalytics.quality.gaps import stale_values_diff

from energy_lib.workbook.health import events as event_model
from energy_lib.workbook.health import sun
from energy_lib.workbook.health.events import Event
from energy_lib.workbook.health.thresholds import (
    FROZEN_ATOL_KWH,
    FROZEN_INTERVALS,
    FROZEN_RTOL,
    GAP_MINUTES,
    MIN_ELEVATION_DEG,
    NIGHT_THRESHOLD_KWH,
    OUTAGE_INTERVALS,
)

if TYPE_CHECKING:
    from energy_lib.workbook.sites.registry import RegisteredSite

DAY_COLUMNS = (
    "site_id",
    "day",
    "expected_intervals",
    "received_intervals",
    "completeness_pct",
    "longest_gap_min",
    "frozen_intervals",
    "outage_intervals",
    "night_generation_kwh",
)


def slots(start: datetime, end: datetime, interval: timedelta) -> pd.DatetimeIndex:
    """Slot starts in ``[start, end)``, aligned to UTC midnight; ``interval`` divides a day."""
    first = pd.Timestamp(start).floor("D")
    index = pd.date_range(first, pd.Timestamp(end), freq=interval, inclusive="left")
    return index[index >= pd.Timestamp(start)]


def slot_series(
    readings: pd.DataFrame, slot_starts: pd.DatetimeIndex, interval: timedelta
) -> tuple[pd.Series, pd.Series]:
    """Lay one site's readings on its slots.

    Parameters
    ----------
    readings : DataFrame
        ``timestamp`` (UTC, text or datetime), ``energy_generated_kwh`` and, when present, ``anomaly`` (bool).
    slot_starts : DatetimeIndex
        The slots (:func:`slots`).

    Returns
    -------
    received : Series of bool
        True for a slot that holds at least one reading.
    generation_kwh : Series of float
        Generation of the slot's first valid reading; NaN when it has none. [kWh]
    """
    received = pd.Series(False, index=slot_starts)
    generation = pd.Series(np.nan, index=slot_starts)
    if readings.empty or slot_starts.empty:
        return received, generation
    moments = pd.to_datetime(readings["timestamp"], utc=True)
    position = ((moments - slot_starts[0]) // interval).to_numpy()
    inside = (position >= 0) & (position < len(slot_starts))
    received.iloc[np.unique(position[inside])] = True
    valid = (
        inside & ~readings.get("anomaly", pd.Series(False, index=readings.index)).fillna(False).astype(bool).to_numpy()
    )
    values = pd.Series(readings["energy_generated_kwh"].to_numpy()[valid].astype(float), index=position[valid])
    first = values[~values.index.duplicated(keep="first")]
    generation.iloc[first.index.to_numpy()] = first.to_numpy()
    return received, generation


def expected(
    slot_starts: pd.DatetimeIndex,
    interval: timedelta,
    as_of: datetime,
    reporting_hours: str,
    daylight: pd.Series,
) -> pd.Series:
    """True for the slots in the site's reporting hours: every slot that has ended by ``as_of``, and for a site
    that reports only in ``daylight`` (registry ``reporting_hours``), only those with the sun up."""
    ended = pd.Series(slot_starts + interval <= pd.Timestamp(as_of), index=slot_starts)
    return ended & daylight if reporting_hours == "daylight" else ended


def completeness_pct(received: pd.Series, expected_slots: pd.Series) -> float:
    """Slots received out of slots expected, x 100; NaN when none is expected. [%]"""
    count = int(expected_slots.sum())
    return float("nan") if count == 0 else 100.0 * int((received & expected_slots).sum()) / count


def gaps(received: pd.Series, expected_slots: pd.Series) -> pd.Series:
    """True for each expected slot without a reading."""
    return expected_slots & ~received


def frozen_values(
    generation_kwh: pd.Series,
    daylight: pd.Series,
    window: int = FROZEN_INTERVALS,
    rtol: float = FROZEN_RTOL,
    atol_kwh: float = FROZEN_ATOL_KWH,
) -> pd.Series:
    """True for each daylight slot in a run of at least ``window`` [count] slots whose generation stays the same
    (within ``rtol`` and ``atol_kwh`` [kWh], as :func:`numpy.allclose`) and above zero: a frozen meter.

    PVAnalytics' :func:`~pvanalytics.quality.gaps.stale_values_diff` finds the runs; night, missing and flagged
    slots break them (zero generation by day is :func:`daytime_outage`).
    """
    by_day = generation_kwh.where(daylight)
    with warnings.catch_warnings():  # PVAnalytics 0.2.2 fills its float result with False; pandas 3 warns
        warnings.filterwarnings("ignore", message="'bool' is not supported as a fill value")
        stale = stale_values_diff(by_day, window=window, rtol=rtol, atol=atol_kwh, mark="all")
    return stale & (by_day > 0)


def daytime_outage(generation_kwh: pd.Series, daylight: pd.Series, min_intervals: int = OUTAGE_INTERVALS) -> pd.Series:
    """True for each slot in a run of at least ``min_intervals`` [count] daylight slots with zero generation:
    the sun is up and the plant produces nothing. Missing and flagged slots break a run."""
    return event_model.long_runs(daylight & (generation_kwh == 0), min_intervals)


def night_generation(
    generation_kwh: pd.Series, night: pd.Series, threshold_kwh: float = NIGHT_THRESHOLD_KWH
) -> pd.Series:
    """True for each slot with generation above ``threshold_kwh`` [kWh] while the sun stays below the horizon: a
    clock or time-zone error (or a meter that counts something else)."""
    return night & (generation_kwh > threshold_kwh)


def kwh_sum(values: pd.Series) -> Decimal:
    """The exact sum of generation values (floats read from stored decimals: each of up to 15 significant
    digits, which ``repr`` gives back as they were stored). [kWh]"""
    return sum((Decimal(repr(float(value))) for value in values), Decimal(0))


def _longest_minutes(mask: pd.Series, interval: timedelta) -> float:
    longest = max((last - first + 1 for first, last in event_model.runs(mask)), default=0)
    return longest * interval / timedelta(minutes=1)


def site_quality(
    site: RegisteredSite,
    received: pd.Series,
    generation_kwh: pd.Series,
    as_of: datetime,
    *,
    gap_minutes: float = GAP_MINUTES,
    frozen_intervals: int = FROZEN_INTERVALS,
    outage_intervals: int = OUTAGE_INTERVALS,
    min_elevation_deg: float = MIN_ELEVATION_DEG,
    night_threshold_kwh: float = NIGHT_THRESHOLD_KWH,
) -> tuple[pd.DataFrame, list[Event]]:
    """Every data-quality check of one site over its slots (:func:`slot_series`).

    Returns
    -------
    days : DataFrame
        One row per UTC day (:data:`DAY_COLUMNS`): intervals expected and received in the reporting hours,
        completeness [%], longest gap [min], frozen and outage intervals [count], night generation [kWh].
    events : list of Event
        ``gap`` (missing readings for at least ``gap_minutes`` [min]), ``frozen_values``, ``daytime_outage``,
        ``night_generation``.
    """
    interval = timedelta(minutes=site.interval_minutes)
    index = received.index
    elevations = sun.interval_elevations(float(site.latitude), float(site.longitude), index, interval)
    is_daylight = sun.daylight(elevations, min_elevation_deg)
    wanted = expected(index, interval, as_of, site.reporting_hours, is_daylight)
    missing = gaps(received, wanted)
    frozen = frozen_values(generation_kwh, is_daylight, frozen_intervals)
    outage = daytime_outage(generation_kwh, is_daylight, outage_intervals)
    at_night = night_generation(generation_kwh, sun.night(elevations), night_threshold_kwh)

    rows = []
    for day, part in pd.Series(index, index=index).groupby(index.floor("D")):
        where = part.index
        rows.append(
            {
                "site_id": site.site_id,
                "day": day,
                "expected_intervals": int(wanted[where].sum()),
                "received_intervals": int((received[where] & wanted[where]).sum()),
                "completeness_pct": completeness_pct(received[where], wanted[where]),
                "longest_gap_min": _longest_minutes(missing[where], interval),
                "frozen_intervals": int(frozen[where].sum()),
                "outage_intervals": int(outage[where].sum()),
                "night_generation_kwh": kwh_sum(generation_kwh[where][at_night[where]]),
            }
        )
    found = [
        *event_model.from_mask(
            missing,
            "gap",
            site.site_id,
            interval,
            lambda run: f"no reading in {len(run)} expected intervals",
            min_intervals=max(1, math.ceil(gap_minutes / site.interval_minutes)),
        ),
        *event_model.from_mask(
            frozen,
            "frozen_values",
            site.site_id,
            interval,
            lambda run: f"generation stuck at {kwh_sum(generation_kwh[run.index[:1]]):f} kWh per reading",
        ),
        *event_model.from_mask(
            outage,
            "daytime_outage",
            site.site_id,
            interval,
            lambda run: f"zero generation with the sun at least {min_elevation_deg:g} degrees up",
        ),
        *event_model.from_mask(
            at_night,
            "night_generation",
            site.site_id,
            interval,
            lambda run: f"{kwh_sum(generation_kwh[run.index]):f} kWh generated with the sun below the horizon",
        ),
    ]
    return pd.DataFrame(rows, columns=list(DAY_COLUMNS)), found
