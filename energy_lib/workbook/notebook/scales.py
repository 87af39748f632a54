"""Axis and colour ranges that no single value can make unreadable.

A chart's range is that of the bulk of its values. The most extreme value (or two or three together: one
reading can be extreme as generated and as net energy) is set aside when it lies further beyond the range
of the others (and of the values the range must always cover, such as 0 or a zone threshold) than twice
that range is wide; then the next, up to a quarter of the values. A cluster of many values (a site ten
times the size of the others) is never set aside. A value set aside
is *off scale*: the charts draw it at the edge of the range, marked, with its true value as a label and in
the hover text. So the bulk always keeps at least a third of the axis or of the colour scale, whatever one
reading says.

Why not percentiles alone: a fleet is often 3 to 10 sites, and with 5 values the upper quartile moves with
the one extreme site (a site at 96,356 % put Tukey's fence at about 100,000 %).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import pandas as pd

__all__ = [
    "MAX_GROUP",
    "MAX_OFF_SCALE_SHARE",
    "MAX_STRETCH",
    "off_scale",
    "off_scale_label",
    "on_scale",
    "readable_range",
]

MAX_OFF_SCALE_SHARE = 0.25  # at most this share of the values (and at least one) is set aside
MAX_STRETCH = 2.0  # a value further beyond the others than this many times their range is set aside
MAX_GROUP = 3  # values set aside together: one reading is off scale in several series (generated and net)


def readable_range(values: Iterable[float], include: Iterable[float] = ()) -> tuple[float, float]:
    """The ``(low, high)`` a chart of ``values`` should show.

    Parameters
    ----------
    values : iterable of float
        The values drawn; NaN and None are left out.
    include : iterable of float
        Values the range always covers (0, the zone thresholds).

    Returns
    -------
    (float, float)
        The range of ``include`` and of the values left after setting aside, at either end, the fewest
        values (up to ``MAX_GROUP``) that lie further beyond the range of the rest than ``MAX_STRETCH`` times
        that range, again and again (at most ``MAX_OFF_SCALE_SHARE`` of the values in all); ``(0.0, 1.0)``
        when there is nothing to cover.
    """
    kept = sorted(float(v) for v in values if v is not None and math.isfinite(float(v)))
    fixed = [float(v) for v in include]
    if not kept and not fixed:
        return 0.0, 1.0
    allowed = max(1, int(len(kept) * MAX_OFF_SCALE_SHARE))
    while allowed > 0:
        found = [found for found in (_lone_group(kept, fixed, top) for top in (True, False)) if found]
        if not found:
            break
        set_aside, kept = max(found)[1:]
        allowed -= set_aside
    return min(kept[:1] + fixed), max(kept[-1:] + fixed)


def _lone_group(kept: list[float], fixed: list[float], top: bool) -> tuple[float, int, list[float]] | None:
    """The fewest (up to ``MAX_GROUP``) values at one end of the sorted ``kept`` that lie further beyond the
    range of the rest and ``fixed`` than ``MAX_STRETCH`` times its width: (how far, how many, the rest)."""
    for size in range(1, min(MAX_GROUP, len(kept) - 1) + 1):
        rest = kept[:-size] if top else kept[size:]
        low, high = min([rest[0], *fixed]), max([rest[-1], *fixed])
        width = (high - low) or abs(high) or 1.0
        beyond = (kept[-size] - high) if top else (low - kept[size - 1])
        if beyond > MAX_STRETCH * width:
            return beyond / width, size, rest
    return None


def on_scale(values: pd.Series, low: float, high: float) -> pd.Series:
    """``values`` clipped to ``[low, high]``: where each is drawn (NaN stays NaN)."""
    return values.astype(float).clip(lower=low, upper=high)


def off_scale(values: pd.Series, low: float, high: float) -> pd.Series:
    """True where a value lies outside ``[low, high]`` (drawn clipped, labelled with its true value)."""
    numbers = values.astype(float)
    return (numbers < low) | (numbers > high)


def off_scale_label(value: float, high: float, unit: str) -> str:
    """The label of an off-scale value: its true value, with an arrow to where it lies (``"▲ 96,356 %"``)."""
    digits = 0 if abs(value) >= 100 else 1
    return f"{'▲' if value > high else '▼'} {value:,.{digits}f} {unit}"
