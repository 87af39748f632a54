"""Plotly figures of a site-health assessment; show them with :func:`energy_lib.workbook.notebook.display.show`
(drawn in exported HTML with no network). A part the run did not check, or that has no data, gives an empty
figure that says so."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from energy_lib.workbook.health.assessment import Assessment
from energy_lib.workbook.notebook import charts, palette

COMPLETENESS_AXIS = "Completeness [%]"
INDEX_AXIS = "Performance index [-]"
DAY_AXIS = "Day [UTC]"
UNDERPERFORMING_COLOUR = "#d62728"
# completeness: red below 90 %, amber to 99 %, green at 100 %
COMPLETENESS_SCALE = [(0.0, "#d62728"), (0.9, "#ffbf00"), (0.99, "#c7e9c0"), (1.0, "#2ca02c")]


def _part(assessment: Assessment, check: str, title: str, empty: str) -> tuple[pd.DataFrame, go.Figure | None]:
    """The rows ``check`` produced (days with a performance index, for performance), or the empty figure that
    says why there are none: the check was not run, or it found nothing (``empty``)."""
    if check not in assessment.checks:
        return pd.DataFrame(), charts.empty_figure(
            title, f"Not part of this run (checks: {', '.join(assessment.checks)})"
        )
    frame = getattr(assessment, check)
    if frame is not None and check == "performance":
        frame = frame[frame["performance_index"].notna()]
    if frame is None or frame.empty:
        return pd.DataFrame(), charts.empty_figure(title, empty)
    return frame, None


def completeness_heatmap(assessment: Assessment) -> go.Figure:
    """Completeness [%] of each registered site (y) on each UTC day (x), the value written in each cell."""
    title = "Completeness of readings in reporting hours"
    quality, empty = _part(assessment, "quality", title, "No registered site")
    if empty is not None:
        return empty
    table = quality.assign(day=pd.to_datetime(quality["day"], utc=True).dt.strftime("%Y-%m-%d")).pivot_table(
        index="site_id", columns="day", values="completeness_pct", aggfunc="first", dropna=False
    )
    table = table.sort_index(ascending=False)  # first site on top
    fig = px.imshow(
        table,
        x=list(table.columns),
        y=list(table.index),
        zmin=0,
        zmax=100,
        color_continuous_scale=COMPLETENESS_SCALE,
        aspect="auto",
        text_auto=".1f",
        title=title,
        labels={"x": DAY_AXIS, "y": charts.SITE_AXIS, "color": COMPLETENESS_AXIS},
    )
    fig.update_layout(
        xaxis_title=DAY_AXIS, yaxis_title=charts.SITE_AXIS, coloraxis_colorbar_title_text=COMPLETENESS_AXIS
    )
    fig.update_xaxes(type="category")
    return fig


def performance_index(assessment: Assessment) -> go.Figure:
    """Performance index [-] of each site per UTC day (a line per site); underperforming days marked red."""
    title = "Performance index: generated / clear-sky expected energy"
    frame, empty = _part(assessment, "performance", title, "No registered site has readings in the period")
    if empty is not None:
        return empty
    frame = frame.assign(
        day=pd.to_datetime(frame["day"], utc=True), performance_index=frame["performance_index"].astype(float)
    )
    sites = sorted(frame["site_id"].unique())
    fig = px.line(
        frame,
        x="day",
        y="performance_index",
        color="site_id",
        markers=True,
        category_orders={"site_id": sites},
        color_discrete_sequence=palette.SITE_COLOURS,
        title=title,
        labels={"day": DAY_AXIS, "performance_index": INDEX_AXIS, "site_id": charts.SITE_AXIS},
    )
    under = frame[frame["underperforming"].astype(bool)]
    if len(under):
        fig.add_trace(
            go.Scatter(
                x=under["day"],
                y=under["performance_index"],
                mode="markers",
                name="underperforming",
                marker={"color": UNDERPERFORMING_COLOUR, "size": 13, "symbol": "x"},
                text=under["site_id"],
                hovertemplate="%{text} %{x|%Y-%m-%d}: index %{y:.2f} (underperforming)<extra></extra>",
            )
        )
    fig.update_layout(xaxis_title=DAY_AXIS, yaxis_title=INDEX_AXIS, yaxis_rangemode="tozero")
    fig.update_xaxes(dtick=24 * 3600 * 1000, tickformat="%Y-%m-%d")
    return fig


def actual_vs_expected(assessment: Assessment) -> go.Figure:
    """Energy generated [kWh] against what clear sky promises for the site's capacity, per site over the days of
    the period with readings."""
    title = "Generated against clear-sky expected energy"
    judged, empty = _part(assessment, "performance", title, "No registered site has readings in the period")
    if empty is not None:
        return empty
    totals = (
        judged.assign(generated_kwh=judged["generated_kwh"].astype(float))
        .groupby("site_id", as_index=False)[["generated_kwh", "expected_kwh"]]
        .sum()
    )
    long = totals.melt(id_vars="site_id", var_name="energy", value_name="kwh")
    long["energy"] = long["energy"].map({"generated_kwh": "generated", "expected_kwh": "clear-sky expected"})
    fig = px.bar(
        long,
        x="site_id",
        y="kwh",
        color="energy",
        barmode="group",
        color_discrete_map={"generated": palette.SERIES_COLOURS["generated"], "clear-sky expected": "#bdbdbd"},
        title=title,
        labels={"site_id": charts.SITE_AXIS, "kwh": charts.ENERGY_AXIS, "energy": "Energy"},
    )
    fig.update_layout(xaxis_title=charts.SITE_AXIS, yaxis_title=charts.ENERGY_AXIS, yaxis_tickformat=",")
    return fig
