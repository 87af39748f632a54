"""Site-health events: what was found, where, when and for how long, and how serious it is.

Detection functions return boolean masks over a site's interval slots; :func:`from_mask` turns the runs of True
into :class:`Event` objects, and :func:`merge_adjacent` joins an event that ends where the next of the same kind
and site starts (a gap that goes on past midnight is one gap).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import pandas as pd

from energy_lib.timeutil import format_timestamp

# kind -> (alert kind, severity); docs/site-health.md explains each
KINDS = {
    "site_silent": ("site_silent", "HIGH"),
    "gap": ("data_quality", "MEDIUM"),
    "frozen_values": ("data_quality", "MEDIUM"),
    "daytime_outage": ("data_quality", "HIGH"),
    "night_generation": ("data_quality", "MEDIUM"),
    "underperformance": ("underperformance", "MEDIUM"),
}
COLUMNS = ("kind", "site_id", "start_utc", "end_utc", "duration_min", "severity", "detail")


@dataclass(frozen=True, slots=True)
class Event:
    """One finding at one site over ``[start, end)`` (UTC). ``detail`` says what was seen, with units."""

    kind: str
    site_id: str
    start: pd.Timestamp
    end: pd.Timestamp
    detail: str = ""

    @property
    def severity(self) -> str:
        return KINDS[self.kind][1]

    @property
    def alert_kind(self) -> str:
        return KINDS[self.kind][0]

    @property
    def duration_min(self) -> float:
        """Length of the event. [min]"""
        return (self.end - self.start) / timedelta(minutes=1)

    def row(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "site_id": self.site_id,
            "start_utc": format_timestamp(self.start.to_pydatetime()),
            "end_utc": format_timestamp(self.end.to_pydatetime()),
            "duration_min": self.duration_min,
            "severity": self.severity,
            "detail": self.detail,
        }


def runs(mask: pd.Series) -> list[tuple[int, int]]:
    """``(first, last)`` positions of every run of consecutive True values in ``mask``."""
    values = mask.fillna(False).astype(bool).to_numpy()
    found, first = [], None
    for position, value in enumerate(values):
        if value and first is None:
            first = position
        elif not value and first is not None:
            found.append((first, position - 1))
            first = None
    if first is not None:
        found.append((first, len(values) - 1))
    return found


def long_runs(mask: pd.Series, min_length: int) -> pd.Series:
    """``mask`` with its runs of True shorter than ``min_length`` cleared."""
    kept = pd.Series(False, index=mask.index)
    for first, last in runs(mask):
        if last - first + 1 >= min_length:
            kept.iloc[first : last + 1] = True
    return kept


def from_mask(
    mask: pd.Series,
    kind: str,
    site_id: str,
    interval: timedelta,
    detail: Callable[[pd.Series], str] = lambda run: "",
    min_intervals: int = 1,
) -> list[Event]:
    """One event per run of at least ``min_intervals`` True slots in ``mask`` (indexed by slot start, UTC).

    ``detail`` gets the run (the part of ``mask``'s index it covers, as a boolean Series) and says what was seen.
    """
    events = []
    for first, last in runs(mask):
        if last - first + 1 >= min_intervals:
            run = mask.iloc[first : last + 1]
            events.append(Event(kind, site_id, mask.index[first], mask.index[last] + interval, detail(run)))
    return events


def merge_adjacent(events: Iterable[Event]) -> list[Event]:
    """Events sorted by site, kind and start, those that touch (same kind and site, one ends where the next
    starts) joined into one; the joined detail is the first one's."""
    merged: list[Event] = []
    for event in sorted(events, key=lambda e: (e.site_id, e.kind, e.start)):
        last = merged[-1] if merged else None
        if last is not None and (last.site_id, last.kind) == (event.site_id, event.kind) and last.end == event.start:
            merged[-1] = replace(last, end=event.end)
        else:
            merged.append(event)
    return merged


def frame(events: Iterable[Event]) -> pd.DataFrame:
    """Events as a table (:data:`COLUMNS`), by start, site and kind."""
    rows = sorted((event.row() for event in events), key=lambda row: (row["start_utc"], row["site_id"], row["kind"]))
    return pd.DataFrame(rows, columns=list(COLUMNS))
