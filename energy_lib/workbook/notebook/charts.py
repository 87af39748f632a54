"""Plotly figures of the workbook's DataFrames (:mod:`.display` shows them so that reports work offline).

Every figure function takes one DataFrame of the shapes in :mod:`energy_lib.workbook.notebook.frames` and
returns a :class:`plotly.graph_objects.Figure` with a title and a unit on every axis, in the colours of
:mod:`.palette`. An empty frame gives an empty figure with a "No data" annotation, never an exception; a frame
that has rows but lacks a column the chart needs raises ``ValueError`` naming the columns.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from energy_lib.rules import SEVERITIES
from energy_lib.workbook.notebook import scales
from energy_lib.workbook.notebook.palette import (
    ANOMALY_MARKER_COLOUR,
    EFFICIENCY_FAIR_PCT,
    EFFICIENCY_GOOD_PCT,
    LABEL_GROUND,
    SERIES_COLOURS,
    SEVERITY_COLOURS,
    SITE_COLOURS,
    ZONE_COLOURS,
    efficiency_text,
    efficiency_zone,
)

__all__ = [
    "ANOMALIES_AXIS",
    "EFFICIENCY_AXIS",
    "ENERGY_AXIS",
    "NET_ENERGY_AXIS",
    "anomaly_distribution",
    "efficiency_zones",
    "draw",
    "empty_figure",
    "energy_over_time",
    "generated_vs_consumed",
    "has_data",
    "hourly_heatmap",
    "net_energy_trend",
    "site_comparison",
]

# Axis titles: every quantity carries its unit.
ENERGY_AXIS = "Energy [kWh]"
GENERATED_AXIS = "Generated [kWh]"
CONSUMED_AXIS = "Consumed [kWh]"
NET_ENERGY_AXIS = "Net energy [kWh]"
MEAN_NET_ENERGY_AXIS = "Mean net energy [kWh]"
EFFICIENCY_AXIS = "Efficiency [%]"
ANOMALIES_AXIS = "Anomalies [count]"
READINGS_AXIS = "Readings [count]"
METRIC_AXIS = "Ledger metric"
SITE_AXIS = "Site"
TIME_AXIS = "Time [UTC]"

ENERGY_SERIES = {"energy_generated_kwh": "generated", "energy_consumed_kwh": "consumed", "net_energy_kwh": "net"}
_NO_DATA = "energy_no_data"  # key in ``layout.meta`` of a figure made by empty_figure()
BAR_LABEL = "bar label"  # the name of the annotations that label the bars of efficiency_zones()


# --------------------------------------------------------------------------------------------- helpers


def empty_figure(title: str, message: str = "No data") -> go.Figure:
    """A figure with only a title and a centred ``message``; what every chart returns for an empty frame.

    :func:`has_data` is False for it.
    """
    fig = go.Figure()
    fig.update_layout(
        title=title,
        meta={_NO_DATA: message},
        xaxis={"visible": False},
        yaxis={"visible": False},
        annotations=[
            {
                "text": message,
                "xref": "paper",
                "yref": "paper",
                "x": 0.5,
                "y": 0.5,
                "showarrow": False,
                "font": {"size": 18},
            }
        ],
    )
    return fig


def has_data(fig: go.Figure) -> bool:
    """False for a figure made by :func:`empty_figure` (nothing to draw), True for any other."""
    meta = fig.layout.meta
    return not (isinstance(meta, dict) and _NO_DATA in meta)


def is_empty(frame: pd.DataFrame | None) -> bool:
    return frame is None or len(frame) == 0


def require(frame: pd.DataFrame, columns: list[str] | tuple[str, ...], what: str) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(f"{what} needs columns {missing}; the frame has {list(frame.columns)}")


def draw(
    draw: Callable[..., go.Figure],
    frame: pd.DataFrame,
    title: str,
    labels: dict[str, str],
    columns: tuple[str, str, str],
    colours: Mapping[str, str] | Sequence[str],
    order: dict[str, list[Any]] | None = None,
    **options: Any,
) -> go.Figure:
    """``draw`` (a plotly express function) of ``frame``: ``columns`` are x, y and the column whose values
    take the ``colours`` (by value when a mapping), categories in ``order``. ``labels`` name the columns for
    people and title both axes, so that every axis says its quantity and its unit."""
    x, y, color = columns
    palette = {"color_discrete_map": colours} if isinstance(colours, Mapping) else {"color_discrete_sequence": colours}
    fig = draw(
        frame, x=x, y=y, color=color, title=title, labels=labels, category_orders=order or {}, **palette, **options
    )
    fig.update_layout(xaxis_title=labels[x], yaxis_title=labels[y])
    return fig


def _energy_series(frame: pd.DataFrame, key: str, columns: list[str]) -> pd.DataFrame:
    """``frame`` in long form: ``key``, ``series`` (named by :data:`ENERGY_SERIES`) and ``energy_kwh``."""
    long = frame.melt(id_vars=[key], value_vars=columns, var_name="series", value_name="energy_kwh")
    long["series"] = long["series"].map(ENERGY_SERIES)
    return long


def _site_order(frame: pd.DataFrame) -> list[str]:
    return sorted(frame["site_id"].astype(str).unique())


# --------------------------------------------------------------------------------------------- figures


def energy_over_time(readings: pd.DataFrame, site_id: str | None = None) -> go.Figure:
    """Generation, consumption and net energy of one site over time, anomalies marked.

    Parameters
    ----------
    readings : DataFrame
        Readings frame (``site_id``, ``timestamp``, ``energy_generated_kwh``, ``energy_consumed_kwh``,
        ``net_energy_kwh``, ``anomaly``; ``anomaly_reasons`` and ``severity`` for the hover text).
    site_id : str, optional
        The site to draw; may be omitted when the frame holds one site only.

    Returns
    -------
    Figure
        Three lines (``generated``, ``consumed``, ``net``) [kWh] and an ``anomaly`` marker trace placed on
        the value that made the reading an anomaly (the negative one, else the larger). The axis covers the
        usual range of the site's values (:func:`scales.readable_range`) without the flagged ones (a flagged
        reading's faulty value and its net): whatever their sign, they never set it. A flagged value outside it
        is drawn at the edge, the marker labelled with its true value, and so is a lone valid value far outside
        the others (an ``off scale`` trace), instead of flattening every other reading.
    """
    title = f"Energy of {site_id}" if site_id else "Energy over time"
    if is_empty(readings):
        return empty_figure(title)
    require(
        readings,
        ["site_id", "timestamp", "energy_generated_kwh", "energy_consumed_kwh", "net_energy_kwh", "anomaly"],
        "energy_over_time",
    )
    if site_id is None:
        sites = _site_order(readings)
        if len(sites) > 1:
            raise ValueError(f"energy_over_time draws one site; give site_id, one of {sites}")
        site_id = sites[0]
        title = f"Energy of {site_id}"
    frame = readings[readings["site_id"] == site_id].sort_values("timestamp")
    if frame.empty:
        return empty_figure(title, f"No readings of {site_id}")
    flagged = frame["anomaly"].fillna(False).astype(bool)
    anomalies = frame[flagged]
    generated = anomalies["energy_generated_kwh"].astype(float)
    consumed = anomalies["energy_consumed_kwh"].astype(float)
    lowest = generated.where(generated <= consumed, consumed)
    highest = generated.where(generated >= consumed, consumed)
    marker_kwh = lowest.where(lowest < 0, highest)  # the value that made the reading an anomaly
    # a flagged reading's faulty value and its net: whatever their sign, they never set the axis
    faulty_series = {
        moment: {"net", "generated" if value == gen else "consumed"}
        for moment, value, gen in zip(anomalies["timestamp"], marker_kwh, generated, strict=True)
    }
    long = _energy_series(frame, "timestamp", list(ENERGY_SERIES))
    long["energy_kwh"] = long["energy_kwh"].astype(float)
    faulty = pd.Series(
        [
            series in faulty_series.get(moment, ())
            for moment, series in zip(long["timestamp"], long["series"], strict=True)
        ],
        index=long.index,
    )
    basis = long[~faulty] if not faulty.all() else long
    low, high = scales.readable_range(basis["energy_kwh"], include=(0.0,))
    long["shown_kwh"] = scales.on_scale(long["energy_kwh"], low, high)
    labels = {"timestamp": TIME_AXIS, "shown_kwh": ENERGY_AXIS, "series": "Series"}
    fig = draw(
        px.line, long, title, labels, ("timestamp", "shown_kwh", "series"), SERIES_COLOURS, custom_data=["energy_kwh"]
    )
    fig.update_traces(hovertemplate="%{x}<br>%{customdata[0]:,.3f} kWh<extra>%{fullData.name}</extra>")
    scales.mark_off_scale(fig, long[~faulty], "timestamp", "energy_kwh", low, high)
    if not anomalies.empty:
        reasons = anomalies.get("anomaly_reasons", pd.Series("", index=anomalies.index)).fillna("")
        severity = anomalies.get("severity", pd.Series("", index=anomalies.index)).fillna("")
        fig.add_trace(
            go.Scatter(
                x=anomalies["timestamp"],
                y=scales.on_scale(marker_kwh, low, high),
                mode="markers",
                name="anomaly",
                marker={"color": ANOMALY_MARKER_COLOUR, "symbol": "x", "size": 10},
                cliponaxis=False,
                customdata=[[v, f"{s} {r}".strip()] for v, s, r in zip(marker_kwh, severity, reasons, strict=True)],
                hovertemplate="%{x}<br>%{customdata[0]:,.3f} kWh<br>%{customdata[1]}<extra>anomaly</extra>",
            )
        )
        scales.label_off_scale(fig, anomalies["timestamp"], marker_kwh, low, high, frame["timestamp"])
    fig.update_layout(legend_title_text="Series", yaxis_range=scales.padded(low, high))
    return fig


def site_comparison(site_summary: pd.DataFrame) -> go.Figure:
    """Energy generated and consumed per site [kWh], grouped bars (site summary frame: valid readings)."""
    title = "Site performance: generated vs consumed (valid readings)"
    if is_empty(site_summary):
        return empty_figure(title)
    require(site_summary, ["site_id", "energy_generated_kwh", "energy_consumed_kwh"], "site_comparison")
    long = _energy_series(site_summary, "site_id", ["energy_generated_kwh", "energy_consumed_kwh"])
    labels = {"site_id": SITE_AXIS, "energy_kwh": ENERGY_AXIS, "series": "Series"}
    order = {"site_id": _site_order(site_summary), "series": ["generated", "consumed"]}
    fig = draw(px.bar, long, title, labels, ("site_id", "energy_kwh", "series"), SERIES_COLOURS, order, barmode="group")
    fig.update_layout(yaxis_tickformat=",")
    return fig


def efficiency_zones(site_summary: pd.DataFrame) -> go.Figure:
    """Efficiency per site [%], one labelled bar each, coloured by zone (see ``EFFICIENCY_*_PCT``, ``ZONE_COLOURS``).

    Dotted lines mark the zone thresholds. Each bar's label (annotations named :data:`BAR_LABEL`) sits above it on
    a white ground, so a threshold line just above a bar never strikes the label through. A site that consumed
    nothing has no efficiency: it is listed in the ``ZONE_NONE`` zone with no bar and a "no consumption" note at
    zero. The axis covers 0, the
    thresholds and the fleet's usual range (:func:`scales.readable_range`); a site far outside it is drawn up
    to the edge, hatched, labelled with its true value (``▲ 96,356 %``), in the colour of its true zone.
    """
    title = "Efficiency zones (valid generated / valid consumed)"
    if is_empty(site_summary):
        return empty_figure(title)
    require(site_summary, ["site_id", "efficiency_pct"], "efficiency_zones")
    frame = site_summary[["site_id", "efficiency_pct"]].copy()
    frame["efficiency_pct"] = frame["efficiency_pct"].astype(float)
    low, high = scales.readable_range(frame["efficiency_pct"], include=(0.0, EFFICIENCY_GOOD_PCT))
    outside = scales.off_scale(frame["efficiency_pct"], low, high)
    frame["shown_pct"] = scales.on_scale(frame["efficiency_pct"], low, high)
    frame["zone"] = frame["efficiency_pct"].map(efficiency_zone)
    frame["label"] = [
        "" if pd.isna(pct) else scales.off_scale_label(pct, high, "%") if off else efficiency_text(pct)
        for pct, off in zip(frame["efficiency_pct"], outside, strict=True)
    ]
    labels = {"site_id": SITE_AXIS, "shown_pct": EFFICIENCY_AXIS, "zone": "Zone"}
    order = {"site_id": _site_order(frame), "zone": list(ZONE_COLOURS)}
    columns = ("site_id", "shown_pct", "zone")
    fig = draw(px.bar, frame, title, labels, columns, ZONE_COLOURS, order, custom_data=["efficiency_pct"])
    fig.update_traces(hovertemplate="%{x}<br>%{customdata[0]:,.2f} %<extra>%{fullData.name}</extra>")
    _hatch_off_scale(fig, dict(zip(frame["site_id"], outside, strict=True)))
    for threshold in (EFFICIENCY_FAIR_PCT, EFFICIENCY_GOOD_PCT):
        fig.add_hline(y=threshold, line_dash="dot", line_color="#555555", annotation_text=f"{threshold:g} %")
    for site, shown, label in zip(frame["site_id"], frame["shown_pct"], frame["label"], strict=True):
        if label:  # above its bar, on a white ground: a threshold line passing behind never strikes it through
            fig.add_annotation(
                x=site,
                y=shown,
                text=label,
                yanchor="bottom",
                yshift=2,
                showarrow=False,
                bgcolor=LABEL_GROUND,
                font_size=14,
                name=BAR_LABEL,
            )
    for site in frame.loc[frame["efficiency_pct"].isna(), "site_id"]:
        fig.add_annotation(x=site, y=0, text="no consumption", showarrow=False, yshift=10, font_color="#616161")
    fig.update_layout(yaxis_range=[min(low, 0.0) * 1.15, high * 1.15])  # room for the labels
    return fig


def _hatch_off_scale(fig: go.Figure, off_scale_by_x: dict[str, bool]) -> None:
    """Hatch the bars whose value is off scale (drawn clipped): one pattern entry per bar of each trace."""
    for trace in fig.data:
        shapes = ["/" if off_scale_by_x.get(x, False) else "" for x in trace.x]
        if any(shapes):
            trace.marker.pattern = {"shape": shapes, "fgcolor": "white", "solidity": 0.3}


def generated_vs_consumed(site_summary: pd.DataFrame) -> go.Figure:
    """Energy generated against energy consumed per site [kWh], one labelled point each, coloured by zone.

    Lines through the origin mark efficiency 100 % (generated = consumed) and 120 %: a point above a line
    is a site above that efficiency; the distance from the origin is the site's size.
    """
    title = "Generated vs consumed per site (valid readings)"
    if is_empty(site_summary):
        return empty_figure(title)
    require(site_summary, ["site_id", "energy_generated_kwh", "energy_consumed_kwh"], "generated_vs_consumed")
    frame = site_summary[["site_id", "energy_generated_kwh", "energy_consumed_kwh"]].copy()
    for column in ("energy_generated_kwh", "energy_consumed_kwh"):
        frame[column] = frame[column].astype(float)
    consumed, generated = frame["energy_consumed_kwh"], frame["energy_generated_kwh"]
    efficiency = (generated / consumed.where(consumed != 0) * 100).astype(float)
    frame["zone"] = efficiency.map(efficiency_zone)
    frame["efficiency"] = efficiency.map(efficiency_text)
    labels = {
        "energy_consumed_kwh": CONSUMED_AXIS,
        "energy_generated_kwh": GENERATED_AXIS,
        "zone": "Zone",
        "site_id": SITE_AXIS,
        "efficiency": "Efficiency",
    }
    columns, order = ("energy_consumed_kwh", "energy_generated_kwh", "zone"), {"zone": list(ZONE_COLOURS)}
    hover = {"efficiency": True, "zone": False}
    fig = draw(px.scatter, frame, title, labels, columns, ZONE_COLOURS, order, text="site_id", hover_data=hover)
    fig.update_traces(marker_size=14, textposition="top center", cliponaxis=False)
    top = max(float(consumed.max()), float(generated.max()), 0.0) * 1.1 or 1.0
    bottom = min(float(consumed.min()), float(generated.min()), 0.0) * 1.1
    for ratio_pct in (EFFICIENCY_FAIR_PCT, EFFICIENCY_GOOD_PCT):
        ratio = ratio_pct / 100
        end_x, end_y = (top, top * ratio) if ratio <= 1 else (top / ratio, top)
        fig.add_shape(type="line", x0=0, y0=0, x1=end_x, y1=end_y, line={"dash": "dot", "color": "#555555"})
        fig.add_annotation(x=end_x, y=end_y, text=f"{ratio_pct:g} %", showarrow=False, xanchor="left", yanchor="bottom")
    # the same range on both axes, full width
    fig.update_layout(xaxis_range=[bottom, top], yaxis_range=[bottom, top], xaxis_tickformat=",", yaxis_tickformat=",")
    return fig


def anomaly_distribution(frame: pd.DataFrame) -> go.Figure:
    """Anomalies per site, stacked by severity [count].

    Takes either the site summary frame (``anomalies_low`` … ``anomalies_critical``) or a frame of anomalous
    readings (``site_id``, ``severity``; rows with ``anomaly`` False are left out when that column exists).
    """
    title = "Flagged readings (anomalies) by site and severity"
    if is_empty(frame):
        return empty_figure(title)
    severity_columns = [f"anomalies_{severity.lower()}" for severity in SEVERITIES]
    if all(column in frame.columns for column in severity_columns):
        require(frame, ["site_id"], "anomaly_distribution")
        counts = frame.melt(id_vars=["site_id"], value_vars=severity_columns, var_name="severity", value_name="n")
        counts["severity"] = counts["severity"].str.removeprefix("anomalies_").str.upper()
    else:
        require(frame, ["site_id", "severity"], "anomaly_distribution")
        rows = frame[frame["anomaly"].fillna(False).astype(bool)] if "anomaly" in frame.columns else frame
        rows = rows[rows["severity"].notna()]
        counts = rows.groupby(["site_id", "severity"]).size().rename("n").reset_index()
    counts["n"] = counts["n"].fillna(0).astype(int)
    others = sorted(set(counts["severity"]) - set(SEVERITIES))
    labels = {"site_id": SITE_AXIS, "n": ANOMALIES_AXIS, "severity": "Severity"}
    order = {"site_id": _site_order(frame), "severity": [*SEVERITIES, *others]}
    fig = draw(px.bar, counts, title, labels, ("site_id", "n", "severity"), SEVERITY_COLOURS, order, barmode="stack")
    if counts["n"].sum() == 0:  # every site listed with zero bars, and said in words
        fig.update_layout(yaxis_range=[0, 1], yaxis_dtick=1)
        fig.add_annotation(
            text="No anomalies", xref="paper", yref="paper", x=0.5, y=0.5, showarrow=False, font={"size": 18}
        )
    return fig


def _period_column(frame: pd.DataFrame) -> str:
    for column in ("hour_start", "day_start"):
        if column in frame.columns:
            return column
    raise ValueError(f"expected an hourly (hour_start) or daily (day_start) frame; columns are {list(frame.columns)}")


def net_energy_trend(frame: pd.DataFrame) -> go.Figure:
    """Net energy per site over time [kWh], one line per site, from the hourly or the daily frame.

    The axis covers the fleet's usual range (:func:`scales.readable_range`); a value far outside it is drawn
    at the edge with a triangle and its true value as a label (and in the hover text).
    """
    if is_empty(frame):
        return empty_figure("Net energy trend")
    period = _period_column(frame)
    require(frame, ["site_id", period, "net_energy_kwh"], "net_energy_trend")
    unit = "hour" if period == "hour_start" else "day"
    title = f"Net energy of valid readings per {unit} and site"
    x_title = f"{unit.capitalize()} start [UTC]"
    labels = {period: x_title, "shown_kwh": NET_ENERGY_AXIS, "site_id": SITE_AXIS}
    ordered, order = frame.sort_values([period, "site_id"]), {"site_id": _site_order(frame)}
    ordered = ordered.assign(net_energy_kwh=ordered["net_energy_kwh"].astype(float))
    low, high = scales.readable_range(ordered["net_energy_kwh"], include=(0.0,))
    ordered["shown_kwh"] = scales.on_scale(ordered["net_energy_kwh"], low, high)
    columns = (period, "shown_kwh", "site_id")
    options = {"markers": True, "custom_data": ["net_energy_kwh"]}
    fig = draw(px.line, ordered, title, labels, columns, SITE_COLOURS, order, **options)
    fig.update_traces(hovertemplate="%{x}<br>%{customdata[0]:,.3f} kWh<extra>%{fullData.name}</extra>")
    scales.mark_off_scale(fig, ordered, period, "net_energy_kwh", low, high)
    fig.add_hline(y=0, line_color="#555555", line_width=1)
    fig.update_layout(yaxis_range=scales.padded(low, high))
    return fig


def hourly_heatmap(hourly: pd.DataFrame, tz: str = "UTC") -> go.Figure:
    """Mean net energy [kWh] per site and hour of day, from the hourly frame.

    Parameters
    ----------
    hourly : DataFrame
        Hourly frame (``site_id``, ``hour_start`` timezone-aware, ``net_energy_kwh``).
    tz : str
        Time zone in which to take the hour of day (IANA name); UTC by default.

    Returns
    -------
    Figure
        A heatmap with hours 0–23 on x, sites on y, a diverging colour scale centred on 0 kWh and as wide as
        the fleet's usual range (:func:`scales.readable_range` of the cells' magnitudes), so one extreme
        cell cannot wash out the others: it shows in full colour with its value written in it. Hours with
        no data are blank.
    """
    title = f"Mean net energy of valid readings by hour of day ({tz})"
    if is_empty(hourly):
        return empty_figure(title)
    require(hourly, ["site_id", "hour_start", "net_energy_kwh"], "hourly_heatmap")
    hours = pd.to_datetime(hourly["hour_start"], utc=True).dt.tz_convert(tz).dt.hour
    table = (
        hourly.assign(hour=hours, net_energy_kwh=hourly["net_energy_kwh"].astype(float))
        .pivot_table(index="site_id", columns="hour", values="net_energy_kwh", aggfunc="mean")
        .reindex(index=_site_order(hourly), columns=range(24))
    )
    x_title = f"Hour of day [{tz}]"
    cells = pd.Series(table.to_numpy().ravel()).dropna()
    limit = scales.readable_range(cells.abs(), include=(0.0,))[1] or 1.0  # the colour scale: -limit .. +limit
    fig = px.imshow(
        table,
        x=list(range(24)),
        y=list(table.index),
        color_continuous_scale="RdBu",
        range_color=[-limit, limit],
        aspect="auto",
        title=title,
        labels={"x": x_title, "y": SITE_AXIS, "color": MEAN_NET_ENERGY_AXIS},
    )
    labels = [[f"{v:,.0f}" if abs(v) > limit else "" for v in row] for row in table.to_numpy()]  # NaN: False
    if any(any(row) for row in labels):  # off-scale cells: full colour, their true value [kWh] written in them
        fig.update_traces(text=labels, texttemplate="%{text}", textfont={"color": "white", "size": 11})
    fig.update_traces(hovertemplate="%{y}, hour %{x}<br>%{z:,.3f} kWh<extra></extra>")
    fig.update_layout(xaxis_title=x_title, yaxis_title=SITE_AXIS, coloraxis_colorbar_title_text=MEAN_NET_ENERGY_AXIS)
    fig.update_xaxes(dtick=1)
    return fig
