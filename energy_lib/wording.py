"""Words for people, shared by alerts (Lambda side) and the workbook: counts in the right number, how fresh a
summary is."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from energy_lib import timeutil


def count(n: int, noun: str, plural: str = "") -> str:
    """``n`` and ``noun``, in the plural (``plural``, default ``noun + "s"``) unless ``n`` is 1.

    ``count(1, "message")`` is ``"1 message"``; ``count(1440, "anomaly", "anomalies")`` is ``"1,440 anomalies"``.
    """
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"


def moment(value: str | datetime) -> str:
    """A moment (or stored text, ``2025-06-11T20:00:00Z``) for people: ``2025-06-11 20:00``, seconds when it has
    some."""
    return timeutil.clock(timeutil.utc(value))


def freshness(row: dict[str, Any], complete_through: str | datetime) -> str:
    """How fresh a summary is, in one sentence, from its fleet row (``readings``, ``readings_after_rollups``,
    ``rolled_up_through``) and ``complete_through`` (see :func:`energy_lib.query.summary`), e.g. ``Exact as of
    2025-06-11 10:20:07 UTC: the rollups hold its readings up to 2025-06-11 10:05 UTC; 3 readings after that were
    read from the readings table.``"""
    exact = f"Exact as of {moment(complete_through)} UTC"
    after = row["readings_after_rollups"]
    if not row["readings"]:
        return f"{exact}: no readings."
    if not after:
        return f"{exact}: every reading in it is in the rollups."
    if after == row["readings"]:
        all_read = f"all {count(after, 'reading')} were read from the readings table"
        return f"{exact}: none of its readings is in the rollups yet; {all_read}."
    return (
        f"{exact}: the rollups hold its readings up to {moment(row['rolled_up_through'])} UTC; "
        f"{count(after, 'reading')} after that {'was' if after == 1 else 'were'} read from the readings table."
    )
