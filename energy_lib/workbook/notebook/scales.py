"""Axis and colour ranges that no single value can make unreadable.

A chart's range is that of the bulk of its values. The most extreme value (or two or three together: one
reading can be extreme as generated and as net energy) is set aside when it lies further beyond the range
of the others (and of the values the range must always cover, such as 0 or a zone threshold) than twice
that range is wide; then the next, up to a quarter of the values. A cluster of many values (a site ten
times the size of the others) is never set aside. A value set aside
is *off scale*: the charts draw it at the edge of the range, marked, with its true value as a label and in
the hover text. So the bulk always keeps at least a third of the axis or of the colour scale, whatever one
reading says. :func:`mark_off_scale` and :func:`label_off_scale` draw them so, :func:`padded` gives the axis.

Why not percentiles alone: a fleet is often 3 to 10 sites, and with 5 values the upper quartile moves with
the one extreme site (a site at 96,356 % put Tukey's fence at about 100,000 %).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import pandas as pd
import plotly.graph_objects as go

from energy_lib.workbook.notebook.palette import LABEL_GROUND

__all__ = [
    "MAX_GROUP",
    "MAX_OFF_SCALE_SHARE",
    "MAX_STRETCH",
    "OFF_SCALE_LABEL",
    "label_off_scale",
    "mark_off_scale",
    "off_scale",
    "off_scale_label",
    "on_scale",
    "padded",
    "readable_range",
]

MAX_OFF_SCALE_SHARE = 0.25  # at most this share of the values (and at least one) is set aside
MAX_STRETCH = 2.0  # a value further beyond the others than this many times their range is set aside
MAX_GROUP = 3  # values set aside together: one reading is off scale in several series (generated and net)
OFF_SCALE_LABEL = "off-scale label"  # the name of the annotations that give an off-scale value its true value
LABEL_EDGE_PX, LABEL_ROW_PX, LABEL_ROWS = 10, 16, 3  # off-scale labels: in from the edge, a row, rows at most


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


def padded(low: float, high: float, share: float = 0.08) -> list[float]:
    """``[low, high]`` widened by ``share`` of its span on each side, so that points at the edge show whole."""
    pad = (high - low) * share or 1.0
    return [low - pad, high + pad]


def label_off_scale(
    fig: go.Figure, x: pd.Series, values: pd.Series, low: float, high: float, axis: pd.Series, near: float = 0.2
) -> None:
    """Label each of ``values`` outside ``[low, high]`` with its true value [kWh] (annotations named
    :data:`OFF_SCALE_LABEL`), inside the plot at the edge it is drawn on, on a white ground. A label closer than
    ``near`` of the time ``axis``'s span to the one before it at the same edge goes one row further in (up to
    :data:`LABEL_ROWS` rows), so two flagged readings an hour apart do not print one label over the other."""
    moments = pd.to_datetime(pd.Series(list(x)), utc=True)
    drawn = pd.to_datetime(pd.Series(list(axis)), utc=True)
    span = (drawn.max() - drawn.min()) or pd.Timedelta(seconds=1)
    previous: dict[bool, tuple[pd.Timestamp, int]] = {}
    for at, moment, value in zip(x, moments, values, strict=True):
        if low <= value <= high:
            continue
        top = value > high
        before = previous.get(top)
        row = (before[1] + 1) % LABEL_ROWS if before and (moment - before[0]) / span < near else 0
        previous[top] = (moment, row)
        shift = LABEL_EDGE_PX + LABEL_ROW_PX * row
        fig.add_annotation(
            x=at,
            y=high if top else low,
            text=off_scale_label(value, high, "kWh"),
            yanchor="top" if top else "bottom",
            yshift=-shift if top else shift,
            showarrow=False,
            bgcolor=LABEL_GROUND,
            font_size=12,
            name=OFF_SCALE_LABEL,
        )


def mark_off_scale(fig: go.Figure, data: pd.DataFrame, x: str, column: str, low: float, high: float) -> None:
    """Add an ``off scale`` trace: a triangle at the edge for each value of ``column`` outside ``[low, high]``,
    labelled with its true value [kWh] (:func:`label_off_scale`)."""
    outside = data[off_scale(data[column], low, high)]
    if outside.empty:
        return
    values = outside[column].astype(float)
    fig.add_trace(
        go.Scatter(
            x=outside[x],
            y=on_scale(values, low, high),
            mode="markers",
            name="off scale",
            marker={"symbol": ["triangle-up" if v > high else "triangle-down" for v in values], "size": 13},
            marker_color="#212121",
            cliponaxis=False,
            customdata=values,
            hovertemplate="%{x}<br>%{customdata:,.3f} kWh (off scale)<extra></extra>",
        )
    )
    label_off_scale(fig, outside[x], values, low, high, data[x])
