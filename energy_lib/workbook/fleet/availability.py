"""Availability and the energy lost to outages, with RdTools' :class:`rdtools.availability.AvailabilityAnalysis`.

The lake holds one meter per site and no inverter data, so the site is its own single subsystem and its meter's
cumulative energy is the running sum of its interval energies. An interval without a valid reading (none
stored, or a flagged one) is unknown, not an outage: RdTools types an outage that ends in one ``unknown`` and
counts no loss for it, and time-based availability leaves such intervals out. RdTools finds the system
outages (intervals the expected output says are light but the plant is offline, spanning nights), rescales the
expected output to the plant's level and estimates each outage's lost energy; only the expected output of
intervals with the sun at least :data:`~.expectation.DAYLIGHT_ELEVATION_DEG` up is used, so that dawn and
dusk, when a plant may read zero under clouds, are never outages. Each outage's lost energy is spread over its
intervals by their expected power (:func:`spread`).

- energy-based availability [%] = 100 x (1 - lost / (lost + actual)) (RdTools' ``availability``);
- time-based availability [%] = 100 x (1 - daylight intervals inside a real outage / daylight intervals with a
  valid reading).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from energy_lib.workbook.fleet.expectation import Expectation


@dataclass(frozen=True, slots=True)
class Availability:
    """``lost_kwh`` per interval (indexed like the expectation) [kWh], ``down`` per interval (inside a real
    outage), ``outages`` (RdTools' ``outage_info`` rows of type ``real``), both availabilities [%]."""

    lost_kwh: pd.Series
    down: pd.Series
    outages: pd.DataFrame
    time_pct: float
    energy_pct: float


def spread(loss_kwh: float, expected_kw: np.ndarray) -> np.ndarray:
    """An outage's lost energy [kWh] over its intervals, in proportion to their expected power (evenly if none is
    expected). RdTools' own spread (``loss_total``) divides by the expected energy of the outage's intervals after
    its first, which is zero for an outage of one daylight interval at dusk: an infinite loss."""
    weights = expected_kw if expected_kw.sum() > 0 else np.ones_like(expected_kw)
    return loss_kwh * weights / weights.sum()


def assess_availability(energy_kwh: pd.Series, expectation: Expectation) -> Availability:
    """Outages and availability of a site whose interval energies are ``energy_kwh`` (indexed like the
    expectation's frame, by interval start; NaN where no reading)."""
    from rdtools.availability import AvailabilityAnalysis

    frame = expectation.frame
    step = pd.Timedelta(minutes=expectation.interval_minutes)
    ends = frame.index + step  # RdTools wants right-labelled interval averages
    energy = pd.Series(energy_kwh.clip(lower=0.0).to_numpy(), index=ends)
    power = energy / expectation.interval_h
    expected = pd.Series(np.where(frame["daylight"], frame["power_kw"], 0.0), index=ends)
    analysis = AvailabilityAnalysis(power, power.to_frame("meter"), energy.cumsum(), expected)
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", UserWarning)  # an outage of night intervals only: no expected energy
        warnings.simplefilter("ignore", RuntimeWarning)
        analysis.run(rollup_period=pd.tseries.offsets.YearEnd())
    real = analysis.outage_info[analysis.outage_info["type"] == "real"].reset_index(drop=True)
    down = np.zeros(len(frame), dtype=bool)
    lost_kwh = np.zeros(len(frame))
    for start, end, loss_kwh in zip(real["start"], real["end"], real["loss"], strict=True):
        inside = (ends >= start) & (ends <= end)
        down |= inside
        lost_kwh[inside] += spread(loss_kwh, expected.to_numpy()[inside])
    daylight = frame["daylight"].to_numpy() & energy.notna().to_numpy()
    lost, actual = float(lost_kwh.sum()), float(energy.sum())
    return Availability(
        lost_kwh=pd.Series(lost_kwh, index=frame.index),
        down=pd.Series(down, index=frame.index),
        outages=real,
        time_pct=100 * (1 - np.count_nonzero(down & daylight) / max(1, np.count_nonzero(daylight))),
        energy_pct=100 * (1 - lost / (lost + actual)) if lost + actual > 0 else float("nan"),
    )
