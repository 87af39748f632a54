"""The history notebook's figures and tables, from the lake's answers (:mod:`energy_lib.workbook.lake.queries`).

The lake's energies are exact ``Decimal`` sums; figures draw them as floats [kWh], tables show them
rounded to whole kWh. Totals are over valid readings; flagged energy (anomalies) is drawn beside them.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from energy_lib.rollups import ENERGY
from energy_lib.rules import SEVERITIES
from energy_lib.wording import count
from energy_lib.workbook.notebook.charts import ANOMALIES_AXIS, ENERGY_AXIS, SITE_AXIS, empty_figure
from energy_lib.workbook.notebook.palette import SERIES_COLOURS, SEVERITY_COLOURS
from energy_lib.workbook.notebook.views import Html, message, table

MONTH_AXIS = "Month [UTC]"
ENERGY_LABELS = {
    "energy_generated_kwh": "generated",
    "energy_consumed_kwh": "consumed",
    "net_energy_kwh": "net",
    "flagged_energy_generated_kwh": "flagged generated",
}
HOURLY_UP_TO = pd.Timedelta(days=31)  # a site's readings drawn as hourly totals up to a month, daily beyond


def _floats(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    frame = frame.copy()
    for column in columns:
        frame[column] = pd.to_numeric(frame[column].map(lambda v: None if v is None else float(v)))
    return frame


def monthly_heatmap(monthly: pd.DataFrame) -> go.Figure:
    """Valid energy generated per site and UTC month [kWh]: one row per site, one column per month."""
    title = "Energy generated per site and month (valid readings)"
    if monthly.empty:
        return empty_figure(title)
    frame = _floats(monthly, ["energy_generated_kwh"])
    frame["month"] = frame["month_start"].dt.strftime("%Y-%m")
    grid = frame.pivot_table(index="site_id", columns="month", values="energy_generated_kwh", aggfunc="sum")
    fig = px.imshow(
        grid,
        aspect="auto",
        color_continuous_scale="YlGn",
        labels={"x": MONTH_AXIS, "y": SITE_AXIS, "color": "Generated [kWh]"},
        title=title,
        text_auto=".3s" if grid.size <= 400 else False,
    )
    fig.update_layout(height=max(360, min(1600, 40 + 18 * len(grid))))
    fig.update_xaxes(type="category")  # "2025-06" is a month, not a date to spread over a time axis
    return fig


def fleet_monthly(monthly: pd.DataFrame) -> go.Figure:
    """The chosen sites together per month: valid generated and consumed, flagged generated beside [kWh]."""
    title = "Energy per month, sites together"
    if monthly.empty:
        return empty_figure(title)
    columns = ["energy_generated_kwh", "energy_consumed_kwh", "flagged_energy_generated_kwh"]
    totals = _floats(monthly, columns).groupby("month_start", as_index=False)[columns].sum()
    long = totals.melt(id_vars="month_start", value_vars=columns, var_name="series", value_name="kwh")
    long["series"] = long["series"].map(ENERGY_LABELS)
    fig = px.bar(
        long,
        x="month_start",
        y="kwh",
        color="series",
        barmode="group",
        color_discrete_map={
            "generated": SERIES_COLOURS["generated"],
            "consumed": SERIES_COLOURS["consumed"],
            "flagged generated": SEVERITY_COLOURS["HIGH"],
        },
        title=title,
        labels={"month_start": MONTH_AXIS, "kwh": ENERGY_AXIS, "series": ""},
    )
    fig.update_xaxes(dtick="M1", tickformat="%Y-%m")
    return fig


def best_and_worst_days(daily: pd.DataFrame, count: int = 5) -> Any:
    """The ``count`` days with the most and the least valid energy generated, with consumed and net [kWh]."""
    if daily.empty:
        return message("No readings in this period.")
    frame = _floats(daily, list(ENERGY)).sort_values("energy_generated_kwh", ascending=False, kind="stable")
    picked = pd.concat([frame.head(count).assign(rank="best"), frame.tail(count).iloc[::-1].assign(rank="worst")])
    picked = picked.drop_duplicates("day")
    shown = picked[["rank", "day", *ENERGY, "readings", "anomalies", "sites"]].rename(
        columns={
            "energy_generated_kwh": "generated [kWh]",
            "energy_consumed_kwh": "consumed [kWh]",
            "net_energy_kwh": "net [kWh]",
        }
    )
    return table(shown, "No readings in this period.", caption=f"The {count} best and worst days by energy generated")


def site_series(readings: pd.DataFrame) -> pd.DataFrame:
    """A site's readings (full resolution) as totals of valid readings per hour (up to a month of readings) or
    per day [kWh], for drawing."""
    frame = _floats(readings, list(ENERGY))
    span = frame["timestamp"].max() - frame["timestamp"].min()
    rule = "h" if span <= HOURLY_UP_TO else "D"
    valid = frame[~frame["anomaly"]].set_index("timestamp")[list(ENERGY)].resample(rule).sum()
    return valid.reset_index()


def site_year(readings: pd.DataFrame, site_id: str) -> go.Figure:
    """One site's readings, drawn as hourly or daily totals of valid readings [kWh] (the anomalies are counted
    in :func:`anomalies_by_month`)."""
    title = f"{site_id}: every reading, as totals per period"
    if readings.empty:
        return empty_figure(title, f"No readings of {site_id} in this period")
    series = site_series(readings)
    unit = "hour" if len(series) < 2 or series["timestamp"].diff().min() < pd.Timedelta(days=1) else "day"
    fig = go.Figure()
    for column, name in (
        ("energy_generated_kwh", "generated"),
        ("energy_consumed_kwh", "consumed"),
        ("net_energy_kwh", "net"),
    ):
        fig.add_scatter(
            x=series["timestamp"], y=series[column], name=name, mode="lines", line_color=SERIES_COLOURS[name]
        )
    fig.update_layout(
        title=f"{title} ({count(len(readings), 'reading')}, one point per {unit})",
        xaxis_title=f"{unit.capitalize()} start [UTC]",
        yaxis_title=f"Energy per {unit} [kWh]",
    )
    return fig


def anomalies_by_month(frame: pd.DataFrame) -> go.Figure:
    """Anomalies per UTC month, stacked by severity [count]."""
    title = "Anomalies by month and severity"
    if frame.empty:
        return empty_figure(title, "No anomalies in this period")
    fig = px.bar(
        frame,
        x="month_start",
        y="anomalies",
        color="severity",
        barmode="stack",
        color_discrete_map=SEVERITY_COLOURS,
        category_orders={"severity": list(SEVERITIES)},
        title=title,
        labels={"month_start": MONTH_AXIS, "anomalies": ANOMALIES_AXIS, "severity": "Severity"},
    )
    fig.update_xaxes(dtick="M1", tickformat="%Y-%m")
    return fig


def lake_line(status: dict[str, Any]) -> Html:
    """One line on the lake: its days, size and how many change objects wait for compaction."""
    if not status["day_files"]:
        return message(f"The lake at {status['location']} holds no day yet.", "warning")
    waiting = status["pending_change_objects"]
    lag = f"; {count(waiting, 'change object')} wait for compaction" if waiting else "; compaction caught up"
    return message(
        f"Lake {status['location']}: {count(status['day_files'], 'day')} "
        f"({status['first_day']} to {status['last_day']}), "
        f"{status['size_bytes'] / 1e6:,.1f} MB{lag}."
    )
