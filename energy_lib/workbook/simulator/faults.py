"""Faults the simulator injects on request, so that the site-health checks have something to find.

Each fault names a site and when it starts (a timezone-aware UTC datetime); an interval is affected when its
start lies in the fault's span. Faults act on the simulated energy before anomalies are drawn, and no anomaly is
put into a faulted interval, so a fault looks exactly as described:

- :class:`Silence`: the site sends no reading from ``start`` on (a dead logger or link);
- :class:`FrozenMeter`: every reading in ``[start, start + hours)`` repeats both values of the first reading of
  the span (a stuck meter);
- :class:`Outage`: generation is zero in ``[start, start + hours)``, consumption goes on (an inverter trip);
- :class:`YieldLoss`: from ``start``, generation loses ``pct_per_day`` percent of its value per day, linearly,
  down to nothing (soiling, a failing string).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from energy_lib import query
from energy_lib.errors import QueryError

KINDS = ("yield_loss", "frozen_meter", "outage", "silence")  # in the order apply() acts


def _utc(moment: datetime, what: str) -> datetime:
    if not isinstance(moment, datetime) or moment.tzinfo is None or moment.utcoffset() != timedelta(0):
        raise ValueError(f"{what}: start must be a timezone-aware UTC datetime, not {moment!r}")
    return moment


def _positive(value: float, what: str, name: str, top: float = math.inf) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= top:
        limit = "" if top == math.inf else f" and at most {top:g}"
        raise ValueError(f"{what}: {name} must be a number above 0{limit}, not {value!r}")


@dataclass(frozen=True, slots=True)
class _SiteFault:
    site_id: str
    start: datetime

    def __post_init__(self) -> None:
        _utc(self.start, self._what())

    def _what(self) -> str:
        return f"{type(self).__name__} of {self.site_id}"


@dataclass(frozen=True, slots=True)
class Silence(_SiteFault):
    """The site sends no reading from ``start`` on."""


@dataclass(frozen=True, slots=True)
class _Span(_SiteFault):
    hours: float  # [h]

    def __post_init__(self) -> None:
        _SiteFault.__post_init__(self)
        _positive(self.hours, self._what(), "hours")


@dataclass(frozen=True, slots=True)
class FrozenMeter(_Span):
    """Readings in ``[start, start + hours)`` repeat the values of the span's first reading. ``hours`` [h]"""


@dataclass(frozen=True, slots=True)
class Outage(_Span):
    """Zero generation in ``[start, start + hours)``; consumption goes on. ``hours`` [h]"""


@dataclass(frozen=True, slots=True)
class YieldLoss(_SiteFault):
    """From ``start``, generation x max(0, 1 - pct_per_day / 100 x days since start). ``pct_per_day`` [%/day]"""

    pct_per_day: float

    def __post_init__(self) -> None:
        _SiteFault.__post_init__(self)
        _positive(self.pct_per_day, self._what(), "pct_per_day", 100)


Fault = Silence | FrozenMeter | Outage | YieldLoss
_ORDER = (YieldLoss, FrozenMeter, Outage, Silence)  # the classes of KINDS


def _moment(value: datetime | str, what: str) -> datetime:
    try:
        moment = query.utc(value)
    except QueryError as error:
        raise ValueError(f"{what}: {error}") from None
    if moment is None:
        raise ValueError(f"{what}: a start time is needed")
    return moment


def requested(
    silent: Iterable[tuple[str, datetime | str]] = (),
    frozen: Iterable[tuple[str, datetime | str, float]] = (),
    outage: Iterable[tuple[str, datetime | str, float]] = (),
    yield_loss: Iterable[tuple[str, datetime | str, float]] = (),
) -> list[Fault]:
    """Faults from plain values, as a command line or a notebook's parameters give them: ``(site, from)`` for
    ``silent``, ``(site, start, hours)`` for ``frozen`` and ``outage``, ``(site, start, pct_per_day)`` for
    ``yield_loss``; times are ISO-8601 UTC text or datetimes. An entry whose site is ``""`` is left out."""
    found: list[Fault] = []
    for option, kind, entries in (
        ("silent", Silence, silent),
        ("frozen", FrozenMeter, frozen),
        ("outage", Outage, outage),
        ("yield_loss", YieldLoss, yield_loss),
    ):
        for site_id, start, *amount in entries:
            if not site_id:
                continue
            what = f"{option} {site_id}"
            try:
                numbers = [float(value) for value in amount]
            except (TypeError, ValueError):
                raise ValueError(f"{what}: {amount[0]!r} is not a number") from None
            found.append(kind(site_id, _moment(start, what), *numbers))
    return found


def rows(faults: Iterable[Fault]) -> list[dict[str, Any]]:
    """One row per fault: ``fault`` (its kind), then its fields."""
    return [{"fault": KINDS[_ORDER.index(type(fault))], **asdict(fault)} for fault in faults]


def check(faults: Sequence[Fault], site_ids: Sequence[str]) -> tuple[Fault, ...]:
    """``faults`` as a tuple, each a fault of a site in ``site_ids``; ValueError otherwise."""
    for fault in faults:
        if not isinstance(fault, Fault):
            raise ValueError(f"not a fault: {fault!r} (use Silence, FrozenMeter, Outage or YieldLoss)")
        if fault.site_id not in site_ids:
            raise ValueError(f"{type(fault).__name__} names {fault.site_id!r}, which is not in the fleet")
    return tuple(faults)


def _span(starts: pd.DatetimeIndex, fault: Fault) -> np.ndarray:
    """True for the intervals whose start lies in the fault's span."""
    after = np.asarray(starts >= fault.start)
    if isinstance(fault, _Span):
        return after & np.asarray(starts < fault.start + timedelta(hours=fault.hours))
    return after


def apply(
    faults: Sequence[Fault],
    site_ids: Sequence[str],
    starts: pd.DatetimeIndex,
    generated_kwh: np.ndarray,
    consumed_kwh: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Change the energy arrays (sites x intervals, [kWh]) in place as ``faults`` say.

    Returns
    -------
    sent, faulted : array of bool
        ``sent``: False for the readings a :class:`Silence` holds back. ``faulted``: True for every interval a
        fault touches except a yield loss (no anomaly goes there).
    """
    sent = np.ones(generated_kwh.shape, dtype=bool)
    faulted = np.zeros(generated_kwh.shape, dtype=bool)
    row = {site_id: index for index, site_id in enumerate(site_ids)}
    for fault in sorted(faults, key=lambda fault: _ORDER.index(type(fault))):  # a frozen meter repeats a loss
        site, span = row[fault.site_id], _span(starts, fault)
        if isinstance(fault, Silence):
            sent[site] &= ~span
            faulted[site] |= span
        elif isinstance(fault, FrozenMeter):
            if span.any():
                first = int(np.argmax(span))
                generated_kwh[site, span] = generated_kwh[site, first]
                consumed_kwh[site, span] = consumed_kwh[site, first]
            faulted[site] |= span
        elif isinstance(fault, Outage):
            generated_kwh[site, span] = 0.0
            faulted[site] |= span
        else:
            days = np.asarray((starts - fault.start) / pd.Timedelta(days=1))
            factor = np.clip(1 - fault.pct_per_day / 100 * days, 0.0, 1.0)
            generated_kwh[site, span] = np.round(generated_kwh[site, span] * factor[span], 3)
    return sent, faulted
