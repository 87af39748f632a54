"""Clock shifts: readings stamped minutes off their true time from some day on (a logger's clock reset, a time
zone or daylight-saving error), found with PVAnalytics and undone before anything else is measured.

The daily event is the middle of the producing day, halfway between the first and the last interval with
generation above zero (from the lake's daily aggregation); the reference is the same moment of the expected
sun (the intervals with the sun above the horizon, :mod:`.expectation`), which the same interval grid
quantizes the same way. PVAnalytics'
:func:`pvanalytics.quality.time.shifts_ruptures` finds where their difference changes (binary segmentation,
``ruptures``) and rounds each segment's difference to whole multiples of the reading interval.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from energy_lib.workbook.fleet.expectation import Expectation, solar_offset_minutes
from energy_lib.workbook.fleet.readings import SiteReadings

MIN_SHIFT_DAYS = 15  # shortest run of days a shift must last to be found [days]
PENALTY = 20  # ruptures' penalty for a change point: PVAnalytics' default
WEEK = 7  # days after a change whose dawn and dusk show the new clock [days]


@dataclass(frozen=True, slots=True)
class ClockShift:
    """Readings stamped ``minutes`` late (negative: early) on the solar days ``[start, end]``."""

    start: pd.Timestamp
    end: pd.Timestamp
    minutes: int

    def row(self) -> dict[str, object]:
        return {"start": f"{self.start:%Y-%m-%d}", "end": f"{self.end:%Y-%m-%d}", "minutes": self.minutes}


def middays(first_minute: pd.Series, last_minute: pd.Series, interval_minutes: int) -> pd.Series:
    """The middle of each day's producing intervals, in minutes after solar midnight."""
    return (first_minute + last_minute + interval_minutes) / 2


def sun_up_minutes(expectation: Expectation, longitude: float) -> pd.DataFrame:
    """The first and the last interval with the sun up (the geometry, whatever the expectation's basis), in
    minutes after solar midnight, per solar date (columns ``first``, ``last``)."""
    frame = expectation.frame
    local = frame.index.tz_convert("UTC").tz_localize(None) + pd.Timedelta(minutes=solar_offset_minutes(longitude))
    minute = (local - local.normalize()) / pd.Timedelta(minutes=1)
    producing = pd.Series(minute.to_numpy(), index=local.normalize())[frame["sun_up"].to_numpy()]
    grouped = producing.groupby(level=0)
    return pd.DataFrame({"first": grouped.min(), "last": grouped.max()})


def find_shifts(readings: SiteReadings, expectation: Expectation, longitude: float) -> pd.Series:
    """Each solar day's clock error [min] (0 where none), by PVAnalytics' ``shifts_ruptures``, each change moved
    back to where the clock changed (:func:`back_to_the_change`); empty when the period is shorter than
    :data:`MIN_SHIFT_DAYS`."""
    from pvanalytics.quality.time import shifts_ruptures

    days = readings.days
    interval = expectation.interval_minutes
    observed = middays(days["first_producing_minute"], days["last_producing_minute"], interval)
    sun = sun_up_minutes(expectation, longitude).reindex(days.index)
    reference = middays(sun["first"], sun["last"], interval)
    usable = observed.notna() & reference.notna()
    if usable.sum() < 2 * MIN_SHIFT_DAYS:
        return pd.Series(0, index=days.index, dtype=int)
    step = max(interval, 15)
    _, amount = shifts_ruptures(
        observed[usable], reference[usable], period_min=MIN_SHIFT_DAYS, shift_min=step, prediction_penalty=PENALTY
    )
    shifts = amount.reindex(days.index).ffill().bfill().fillna(0).astype(int)
    dawn_late = days["first_producing_minute"] - sun["first"]
    dusk_late = days["last_producing_minute"] - sun["last"]
    return back_to_the_change(shifts, dawn_late, dusk_late, step / 2)


def back_to_the_change(shifts: pd.Series, dawn_late: pd.Series, dusk_late: pd.Series, tolerance: float) -> pd.Series:
    """``shifts`` with each change moved back over the days just before it that show the new clock and not the
    old one at dawn or at dusk (a day producing from noon only shows its clock at dusk), or that show no clock at
    all (no production). Ruptures places a change at the first day whose middle of the day fits the new clock;
    after an outage that is days late, and a logger's clock often changes as it restarts after one.
    ``dawn_late``, ``dusk_late``: the first and last producing minute less the sun's, per day [min]."""
    values = shifts.to_numpy().copy()
    dark = dawn_late.isna().to_numpy()
    changes = np.flatnonzero(values[1:] != values[:-1]) + 1
    for earliest, at in zip([0, *changes], changes, strict=False):  # each change, and the one before it
        # each day's dawn and dusk against the new clock's first week [min]: about 0 on the new clock
        dawn = dawn_late.to_numpy() - dawn_late.iloc[at : at + WEEK].median()
        dusk = dusk_late.to_numpy() - dusk_late.iloc[at : at + WEEK].median()
        shows_new = (np.abs(dawn) <= tolerance) | (np.abs(dusk) <= tolerance)
        old = values[at - 1] - values[at]
        shows_old = (np.abs(dawn - old) <= tolerance) | (np.abs(dusk - old) <= tolerance)
        day = at - 1
        while day >= earliest and (dark[day] or (shows_new[day] and not shows_old[day])):
            day -= 1
        values[day + 1 : at] = values[at]
    return pd.Series(values, index=shifts.index)


def shift_runs(shifts: pd.Series) -> list[ClockShift]:
    """The runs of days with the same nonzero clock error."""
    runs = []
    change = shifts.ne(shifts.shift()).cumsum()
    for _, run in shifts.groupby(change):
        if run.iloc[0] != 0:
            runs.append(ClockShift(run.index[0], run.index[-1], int(run.iloc[0])))
    return runs


def corrected(readings: SiteReadings, shifts: pd.Series, longitude: float) -> pd.Series:
    """The interval energies with each solar day's clock error taken off their timestamps."""
    energy = readings.generated_kwh
    if not shifts.any():
        return energy
    offset = pd.Timedelta(minutes=solar_offset_minutes(longitude))
    day = (energy.index.tz_convert("UTC").tz_localize(None) + offset).normalize()
    minutes = shifts.reindex(day).fillna(0).to_numpy()
    stamps = energy.index - pd.to_timedelta(minutes, unit="min")
    fixed = pd.Series(energy.to_numpy(), index=stamps)
    return fixed[~fixed.index.duplicated(keep="last")].sort_index()
