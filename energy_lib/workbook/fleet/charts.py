"""The fleet-performance notebook's figures (plotly; show them with
:func:`energy_lib.workbook.notebook.display.show`): the fleet ranked by lost energy, the expected -> actual
waterfall per site and for the fleet, the degradation forest plot, soiling profiles with cleanings, clipping.
Every title says which expectation the figures were measured against."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from energy_lib.workbook.fleet.analysis import SitePerformance
from energy_lib.workbook.fleet.losses import CAUSES
from energy_lib.workbook.notebook.charts import SITE_AXIS, empty_figure
from energy_lib.workbook.notebook.palette import MUTED, SITE_COLOURS

ENERGY_AXIS = "Energy [kWh]"
CAUSE_COLOURS = {
    "outage": "#d62728",
    "clipping": "#ff7f0e",
    "soiling": "#8c564b",
    "degradation": "#9467bd",
    "other": "#9e9e9e",
}
INTERVAL_COLOURS = {"68": "#1f77b4", "95": "#9ecae1"}
TRUTH_COLOUR = "#2ca02c"


def _analysed(results: Sequence[SitePerformance]) -> list[dict[str, Any]]:
    return [result.row() for result in results if "lost_energy_kwh" in result.row()]


def bases(rows: Sequence[Mapping[str, Any]]) -> str:
    """The expectations the rows were measured against, for titles: ``clear sky``, ``weather`` or both."""
    names = sorted({str(row["expectation"]) for row in rows})
    return " and ".join(names).replace("clear-sky", "clear sky") or "no expectation"


def lost_energy_ranking(results: Sequence[SitePerformance]) -> go.Figure:
    """Sites ranked by the energy lost to outages, clipping, soiling and degradation [kWh], stacked by cause;
    ``other`` (what the expectation promised that no cause explains) is left to the waterfalls."""
    rows = _analysed(results)
    title = "Sites ranked by lost energy"
    if not rows:
        return empty_figure(title, "No site with readings in the period")
    frame = pd.DataFrame([{"site_id": row["site_id"], **row["lost_energy_kwh"]} for row in rows])
    named = [cause for cause in CAUSES if cause != "other"]
    frame = frame.assign(total=frame[named].sum(axis=1)).sort_values("total")
    fig = go.Figure(
        [
            go.Bar(
                y=frame["site_id"],
                x=frame[cause],
                name=cause,
                orientation="h",
                marker_color=CAUSE_COLOURS[cause],
                hovertemplate="%{y}: %{x:,.0f} kWh " + cause + "<extra></extra>",
            )
            for cause in named
        ]
    )
    fig.update_layout(
        barmode="stack",
        title=f"{title} (against {bases(rows)})",
        xaxis_title=f"Lost {ENERGY_AXIS}",
        yaxis_title=SITE_AXIS,
        height=max(360, 60 + 26 * len(frame)),
        legend_title="Cause",
    )
    return fig


def _waterfall_trace(row: Mapping[str, Any], name: str, visible: bool) -> go.Waterfall:
    lost = row["lost_energy_kwh"]
    return go.Waterfall(
        name=name,
        visible=visible,
        orientation="v",
        x=["expected", *CAUSES, "actual"],
        measure=["absolute", *(["relative"] * len(CAUSES)), "total"],
        y=[row["expected_kwh"], *(-lost[cause] for cause in CAUSES), 0],
        text=[
            f"{row['expected_kwh']:,.0f}",
            *(f"{-lost[cause]:+,.0f}" for cause in CAUSES),
            f"{row['actual_kwh']:,.0f}",
        ],
        textposition="outside",
        decreasing={"marker": {"color": CAUSE_COLOURS["outage"]}},
        totals={"marker": {"color": "#2ca02c"}},
        connector={"line": {"color": MUTED}},
        hovertemplate="%{x}: %{y:,.0f} kWh<extra></extra>",
    )


def _waterfall_range(row: Mapping[str, Any]) -> list[float]:
    """The energy axis of a waterfall: from a little below its lowest step to a little above its highest, so
    that losses of a few percent show (an axis from zero would flatten them)."""
    levels = [row["expected_kwh"]]
    for cause in CAUSES:
        levels.append(levels[-1] - row["lost_energy_kwh"][cause])
    low, high = min(levels), max(levels)
    margin = 0.15 * (high - low) + 0.01 * high
    return [max(0.0, low - margin), high + margin]


def fleet_row(results: Sequence[SitePerformance]) -> dict[str, Any] | None:
    """The fleet's waterfall figures: expected, actual and lost energy by cause summed over the sites [kWh]."""
    rows = _analysed(results)
    if not rows:
        return None
    return {
        "site_id": "fleet",
        "expectation": bases(rows),
        "expected_kwh": sum(row["expected_kwh"] for row in rows),
        "actual_kwh": sum(row["actual_kwh"] for row in rows),
        "lost_energy_kwh": {cause: sum(row["lost_energy_kwh"][cause] for row in rows) for cause in CAUSES},
    }


def waterfalls(results: Sequence[SitePerformance]) -> go.Figure:
    """Expected -> lost by cause -> actual [kWh]: the fleet first, each site on the menu."""
    rows = _analysed(results)
    title = "Expected energy, what was lost and why, actual energy"
    fleet = fleet_row(results)
    if fleet is None:
        return empty_figure(title, "No site with readings in the period")
    shown = [fleet, *rows]
    fig = go.Figure([_waterfall_trace(row, row["site_id"], index == 0) for index, row in enumerate(shown)])
    buttons = [
        {
            "label": row["site_id"],
            "method": "update",
            "args": [
                {"visible": [index == other for other in range(len(shown))]},
                {
                    "title": f"{title}: {row['site_id']} (against {row['expectation']})",
                    "yaxis": {"title": ENERGY_AXIS, "range": _waterfall_range(row)},
                },
            ],
        }
        for index, row in enumerate(shown)
    ]
    fig.update_layout(
        title=f"{title}: fleet (against {fleet['expectation']})",
        yaxis={"title": ENERGY_AXIS, "range": _waterfall_range(fleet)},
        showlegend=False,
        updatemenus=[{"buttons": buttons, "direction": "down", "x": 1.0, "xanchor": "right", "y": 1.15}],
    )
    return fig


def degradation_forest(
    results: Sequence[SitePerformance], truth: Mapping[str, Mapping[str, Any]] | None = None
) -> go.Figure:
    """Each site's degradation rate [%/yr] with its 68 % (thick) and 95 % (thin) intervals; with ``truth`` (a
    truth file's ``sites``), the injected rate beside it. Sites refused (under two years) are named below."""
    rows = [row for row in _analysed(results) if row["degradation_pct_per_year"] is not None]
    refused = [row["site_id"] for row in _analysed(results) if row["degradation_pct_per_year"] is None]
    title = "Degradation rate with its 68 % and 95 % intervals (RdTools year-on-year)"
    if not rows:
        reason = next((row["degradation_refused"] for row in _analysed(results) if row.get("degradation_refused")), "")
        return empty_figure(title, f"No site with a rate. {reason}".strip())
    rows = sorted(rows, key=lambda row: row["degradation_pct_per_year"])
    sites = [row["site_id"] for row in rows]
    fig = go.Figure()
    for level, width in (("95", 2), ("68", 7)):
        key = f"degradation_ci{level}_pct_per_year"
        for row in rows:
            low, high = row[key]
            fig.add_trace(
                go.Scatter(
                    x=[low, high],
                    y=[row["site_id"]] * 2,
                    mode="lines",
                    line={"color": INTERVAL_COLOURS[level], "width": width},
                    name=f"{level} % interval",
                    legendgroup=level,
                    showlegend=row is rows[0],
                    hovertemplate=f"{row['site_id']}: {level} % interval %{{x:.2f}} %/yr<extra></extra>",
                )
            )
    fig.add_trace(
        go.Scatter(
            x=[row["degradation_pct_per_year"] for row in rows],
            y=sites,
            mode="markers",
            marker={"color": "black", "size": 8},
            name="rate (median of year-on-year slopes)",
            hovertemplate="%{y}: %{x:.2f} %/yr<extra></extra>",
        )
    )
    if truth:
        fig.add_trace(
            go.Scatter(
                x=[truth[site]["degradation_pct_per_year"] for site in sites if site in truth],
                y=[site for site in sites if site in truth],
                mode="markers",
                marker={"color": TRUTH_COLOUR, "symbol": "diamond-open", "size": 11, "line": {"width": 2}},
                name="injected (simulation's truth)",
                hovertemplate="%{y}: injected %{x:.2f} %/yr<extra></extra>",
            )
        )
    note = f"No rate (under two years of usable days): {', '.join(refused)}" if refused else ""
    fig.update_layout(
        title=f"{title}, against {bases(rows)}",
        xaxis_title="Degradation rate [%/yr]",
        yaxis_title=SITE_AXIS,
        height=max(360, 80 + 28 * len(rows)),
        annotations=[{"text": note, "xref": "paper", "yref": "paper", "x": 0, "y": -0.12, "showarrow": False}]
        if note
        else [],
    )
    return fig


def soiling_profiles(results: Sequence[SitePerformance]) -> go.Figure:
    """Per site (on the menu): the daily normalized energy relative to the plant's clean level (its 95th
    percentile), RdTools SRR's soiling ratio and the cleanings."""
    shown = [result for result in results if not result.daily.empty]
    title = "Soiling: daily normalized energy, soiling ratio (RdTools SRR) and cleanings"
    if not shown:
        return empty_figure(title, "No site with readings in the period")
    fig = go.Figure()
    traces_per_site = 3
    for index, result in enumerate(shown):
        row, daily = result.row(), result.daily
        relative = daily["normalized"] / daily["normalized"].quantile(0.95)
        colour = SITE_COLOURS[index % len(SITE_COLOURS)]
        visible = index == 0
        fig.add_trace(
            go.Scatter(
                x=daily.index,
                y=relative,
                mode="markers",
                marker={"color": colour, "size": 4, "opacity": 0.6},
                name="normalized energy / clean level",
                visible=visible,
            )
        )
        fig.add_trace(
            go.Scatter(
                x=daily.index,
                y=daily["soiling_ratio"],
                mode="lines",
                line={"color": CAUSE_COLOURS["soiling"]},
                name="soiling ratio (SRR)",
                visible=visible,
            )
        )
        cleanings = pd.to_datetime(pd.Series(row["cleaning_events"], dtype="object"))
        fig.add_trace(
            go.Scatter(
                x=cleanings,
                y=[relative.max()] * len(cleanings),
                mode="markers",
                marker={"symbol": "triangle-down", "color": "#17becf", "size": 9},
                name="cleaning",
                visible=visible,
            )
        )
    buttons = []
    for index, result in enumerate(shown):
        row = result.row()
        visible = [index == trace // traces_per_site for trace in range(traces_per_site * len(shown))]
        loss = row["soiling_loss_pct"]
        words = (
            "no figure" if loss is None else f"loss {loss:.2f} %, rate {row['soiling_rate_pct_per_day'] or 0:.3f} %/day"
        )
        buttons.append(
            {
                "label": row["site_id"],
                "method": "update",
                "args": [{"visible": visible}, {"title": f"{title}: {row['site_id']}, {words} ({row['expectation']})"}],
            }
        )
    fig.update_layout(
        title=buttons[0]["args"][1]["title"],
        xaxis_title="Solar day",
        yaxis_title="Relative to clean [-]",
        updatemenus=[{"buttons": buttons, "direction": "down", "x": 1.0, "xanchor": "right", "y": 1.15}],
    )
    return fig


def clipping(results: Sequence[SitePerformance]) -> go.Figure:
    """Clipping loss per site: the share of what the inverters would have delivered without their limit [%],
    with the registry's DC/AC ratio on hover."""
    rows = sorted(_analysed(results), key=lambda row: row["clipping_loss_pct"] or 0)
    title = "Clipping loss (RdTools logic clip filter)"
    if not rows:
        return empty_figure(title, "No site with readings in the period")
    ratios = [row.get("dc_ac_ratio") for row in rows]
    fig = go.Figure(
        go.Bar(
            y=[row["site_id"] for row in rows],
            x=[row["clipping_loss_pct"] for row in rows],
            orientation="h",
            marker_color=CAUSE_COLOURS["clipping"],
            customdata=[["unknown" if ratio is None else f"{float(ratio):g}"] for ratio in ratios],
            hovertemplate="%{y}: %{x:.2f} % clipped (DC/AC ratio %{customdata[0]})<extra></extra>",
        )
    )
    fig.update_layout(
        title=f"{title}, against {bases(rows)}",
        xaxis_title="Clipping loss [%]",
        yaxis_title=SITE_AXIS,
        height=max(360, 60 + 26 * len(rows)),
    )
    return fig
