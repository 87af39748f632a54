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

import pandas as pd

from energy_lib.workbook.fleet.expectation import Expectation, solar_offset_minutes
from energy_lib.workbook.fleet.readings import SiteReadings

MIN_SHIFT_DAYS = 15  # shortest run of days a shift must last to be found [days]
PENALTY = 20  # ruptures' penalty for a change point: PVAnalytics' default


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


def expected_middays(expectation: Expectation, longitude: float) -> pd.Series:
    """:func:`middays` of the intervals with the sun up (the geometry, whatever the expectation's basis), per
    solar date."""
    frame = expectation.frame
    local = frame.index.tz_convert("UTC").tz_localize(None) + pd.Timedelta(minutes=solar_offset_minutes(longitude))
    minute = (local - local.normalize()) / pd.Timedelta(minutes=1)
    producing = pd.Series(minute.to_numpy(), index=local.normalize())[frame["sun_up"].to_numpy()]
    grouped = producing.groupby(level=0)
    return middays(grouped.min(), grouped.max(), expectation.interval_minutes)


def find_shifts(readings: SiteReadings, expectation: Expectation, longitude: float) -> pd.Series:
    """Each solar day's clock error [min] (0 where none), by PVAnalytics' ``shifts_ruptures``; empty when the
    period is shorter than :data:`MIN_SHIFT_DAYS`."""
    from pvanalytics.quality.time import shifts_ruptures

    days = readings.days
    observed = middays(days["first_producing_minute"], days["last_producing_minute"], expectation.interval_minutes)
    reference = expected_middays(expectation, longitude).reindex(observed.index)
    usable = observed.notna() & reference.notna()
    if usable.sum() < 2 * MIN_SHIFT_DAYS:
        return pd.Series(0, index=days.index, dtype=int)
    step = max(expectation.interval_minutes, 15)
    _, amount = shifts_ruptures(
        observed[usable], reference[usable], period_min=MIN_SHIFT_DAYS, shift_min=step, prediction_penalty=PENALTY
    )
    return amount.reindex(days.index).ffill().bfill().fillna(0).astype(int)


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
