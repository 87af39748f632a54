"""Clock shifts: a jump in the middle of the producing day against the sun's is found from its first day,
with its minutes, and taken off the readings; a steady clock gives nothing."""

from __future__ import annotations

import numpy as np
import pandas as pd

from energy_lib.workbook.fleet import clock
from energy_lib.workbook.fleet.expectation import expect, solar_offset_minutes
from energy_lib.workbook.fleet.readings import SiteReadings

LATITUDE, LONGITUDE = 37.39, -5.98
OFFSET = solar_offset_minutes(LONGITUDE)
GRID = pd.date_range(
    pd.Timestamp("2024-03-01", tz="UTC") - pd.Timedelta(minutes=OFFSET), periods=120 * 96, freq="15min"
)


def readings(
    shift_from_day: int | None, minutes: int, down: tuple[int, float] | None = None
) -> tuple[SiteReadings, object]:
    """A site whose readings follow the sun, stamped ``minutes`` late from day ``shift_from_day`` on, with a
    little noise of one interval at either end of some days (clouds at dawn); ``down``: (first day, days) of an
    outage, from solar midnight."""
    expectation = expect(LATITUDE, LONGITUDE, 100.0, GRID.floor("15min"), 15)
    frame = expectation.frame
    energy = pd.Series(frame["power_kw"].to_numpy() * 0.25, index=frame.index)
    days = (frame.index.tz_localize(None) + pd.Timedelta(minutes=OFFSET)).normalize()
    if down is not None:
        first, local = days.unique()[down[0]], frame.index.tz_localize(None) + pd.Timedelta(minutes=OFFSET)
        energy[(local >= first) & (local < first + pd.Timedelta(days=down[1]))] = 0.0
    late = np.zeros(len(energy), dtype=int)
    if shift_from_day is not None:
        late[days >= days.unique()[shift_from_day]] = minutes
    stamped = pd.Series(energy.to_numpy(), index=energy.index + pd.to_timedelta(late, unit="min"))
    stamped = stamped[~stamped.index.duplicated(keep="last")]
    local = stamped.index.tz_localize(None) + pd.Timedelta(minutes=OFFSET)
    minute = pd.Series(((local - local.normalize()) / pd.Timedelta(minutes=1)).to_numpy(), index=local.normalize())
    producing = minute[stamped.to_numpy() > 0].groupby(level=0)
    rng = np.random.default_rng(2)
    first = producing.min() + 15 * rng.integers(0, 2, producing.ngroups)
    last = producing.max() - 15 * rng.integers(0, 2, producing.ngroups)
    table = pd.DataFrame({"first_producing_minute": first, "last_producing_minute": last}).reindex(days.unique())
    return SiteReadings("S", table, stamped), expectation


def test_a_clock_that_jumps_an_hour_is_found_from_its_first_day_and_undone() -> None:
    site, expectation = readings(shift_from_day=70, minutes=60)
    shifts = clock.find_shifts(site, expectation, LONGITUDE)
    [run] = clock.shift_runs(shifts)
    assert (run.minutes, run.end) == (60, site.days.index[-1])
    assert abs((run.start - site.days.index[70]).days) <= 1  # the target: its start within a day
    assert run.row() == {"start": f"{run.start:%Y-%m-%d}", "end": f"{run.end:%Y-%m-%d}", "minutes": 60}
    fixed = clock.corrected(site, shifts, LONGITUDE)
    truth = pd.Series(expectation.frame["power_kw"].to_numpy() * 0.25, index=expectation.frame.index)
    both = fixed.index.intersection(truth.index)
    assert len(both) > 0.98 * len(truth) and np.allclose(fixed[both], truth[both])


def test_a_steady_clock_gives_no_shift() -> None:
    site, expectation = readings(shift_from_day=None, minutes=0)
    assert clock.shift_runs(clock.find_shifts(site, expectation, LONGITUDE)) == []
    assert clock.corrected(site, clock.find_shifts(site, expectation, LONGITUDE), LONGITUDE) is site.generated_kwh


def test_a_clock_that_changed_as_the_logger_went_down_is_found_from_the_day_it_went_down() -> None:
    # GIVEN a clock an hour late from day 70 on, the day an outage began that lasted until noon of day 72
    site, expectation = readings(shift_from_day=70, minutes=60, down=(70, 2.5))
    # WHEN its shifts are found
    [run] = clock.shift_runs(clock.find_shifts(site, expectation, LONGITUDE))
    # THEN the shift starts the day the logger went down (ruptures alone: day 73, the first whole day after)
    assert run.minutes == 60 and abs((run.start - site.days.index[70]).days) <= 1


def test_a_shift_after_an_outage_that_the_old_clock_ended_starts_after_it() -> None:
    # GIVEN an outage from day 67 until noon of day 69, under the old clock, and the clock an hour late from day 70
    site, expectation = readings(shift_from_day=70, minutes=60, down=(67, 2.5))
    # WHEN its shifts are found
    [run] = clock.shift_runs(clock.find_shifts(site, expectation, LONGITUDE))
    # THEN the outage keeps the old clock: the shift starts on day 70
    assert run.minutes == 60 and abs((run.start - site.days.index[70]).days) <= 1
