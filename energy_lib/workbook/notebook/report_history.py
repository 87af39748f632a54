"""The report-history page (``notebooks/11-review-report-history.ipynb``): any figure the reports recorded, drawn
over their runs, and the runs themselves with their status and reason.

The rows come from the run history (:class:`energy_lib.workbook.reports.HistoryStore`: next to the reports on the
local target, in S3 on AWS). A figure is drawn over the runs that succeeded: a failed run's figures may stop
half-way, so they are left out of the chart and counted in its title.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import ipywidgets as w
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
from pandas.io.formats.style import Styler

from energy_lib.config import Settings
from energy_lib.timeutil import utc
from energy_lib.workbook.notebook import charts, views
from energy_lib.workbook.notebook import display as offline
from energy_lib.workbook.notebook.palette import HEALTHY, SITE_COLOURS, UNHEALTHY
from energy_lib.workbook.notebook.views import Html
from energy_lib.workbook.notebook.widgets import with_static
from energy_lib.workbook.reports import HistoryStore

__all__ = ["FigurePicker", "figure_chart", "figure_names", "figure_picker", "figures_frame", "load", "runs_table"]

Row = Mapping[str, Any]
WHEN_AXIS = "Period start (run start for a run on demand) [UTC]"
NO_RUNS = "No report run in the history yet: run `energy-workbook report due`, `report run` or `make demo` first."
RUN_COLUMNS = {
    "started_utc": "Started [UTC]",
    "entry": "Entry",
    "status": "Status",
    "reason": "Reason",
    "duration_s": "Duration [s]",
    "attempts": "Attempts",
    "figures": "Figures",
    "alert": "Alert",
}


def load(settings: Settings, notebook: str = "", since_utc: str = "") -> list[dict[str, Any]]:
    """The runs in ``settings``' history, oldest first: of ``notebook`` (a name or a schedule entry; "" for all),
    started at or after ``since_utc`` ("" for all)."""
    since = utc(since_utc) if since_utc else None
    return HistoryStore.of(settings, settings.reports_dir).rows(notebook or None, since)


def _entry(row: Row) -> str:
    return str(row["entry"] or row["notebook"])


def figures_frame(rows: Sequence[Row]) -> pd.DataFrame:
    """One row per run and recorded figure: ``run_id``, ``entry`` (the schedule entry, or the notebook of a run on
    demand), ``status``, ``when`` (the period's start, else the run's start; UTC), ``figure``, ``value``."""
    records = [
        {
            "run_id": row["run_id"],
            "entry": _entry(row),
            "status": row["status"],
            "when": row["period_start"] or row["started_utc"],
            "figure": name,
            "value": value,
        }
        for row in rows
        for name, value in (row["figures"] or {}).items()
    ]
    frame = pd.DataFrame(records, columns=["run_id", "entry", "status", "when", "figure", "value"])
    frame["when"] = pd.to_datetime(frame["when"], utc=True)
    frame["value"] = pd.to_numeric(frame["value"])
    return frame


def figure_names(rows: Sequence[Row]) -> list[str]:
    """Every figure recorded in ``rows``, sorted."""
    return sorted({name for row in rows for name in (row["figures"] or {})})


def figure_chart(frame: pd.DataFrame, figure: str) -> go.Figure:
    """``figure`` over the runs that succeeded (:func:`figures_frame`), a line per schedule entry, oldest left; the
    title counts the runs drawn and the failed runs left out."""
    title = f"{figure} over the runs"
    if charts.is_empty(frame) or figure not in set(frame["figure"]):
        return charts.empty_figure(title, f"No run recorded {figure}")
    of_figure = frame[frame["figure"] == figure]
    drawn = of_figure[(of_figure["status"] == "succeeded") & of_figure["value"].notna()].sort_values("when")
    failed = int((of_figure["status"] != "succeeded").sum())
    title = f"{figure} over {views.count(len(drawn), 'run')}" + (
        f" ({views.count(failed, 'failed run')} left out)" if failed else ""
    )
    if drawn.empty:
        return charts.empty_figure(title, f"No run that succeeded recorded {figure}")
    labels = {"when": WHEN_AXIS, "value": figure, "entry": "Entry"}
    fig = charts.draw(px.line, drawn, title, labels, ("when", "value", "entry"), SITE_COLOURS, markers=True)
    fig.update_traces(hovertemplate="%{x|%Y-%m-%d %H:%M} UTC<br>%{y:,}<extra>%{fullData.name}</extra>")
    return fig


def runs_table(rows: Sequence[Row]) -> Styler | Html:
    """The runs, newest first: start, entry, status (green or red), reason, duration, attempts, the figures they
    recorded and the alert they published."""
    frame = pd.DataFrame(
        [
            {
                **{name: row.get(name) for name in RUN_COLUMNS},
                "started_utc": pd.Timestamp(row["started_utc"]).strftime("%Y-%m-%d %H:%M:%S"),
                "entry": _entry(row),
                "figures": len(row["figures"] or {}),
            }
            for row in reversed(rows)
        ],
        columns=list(RUN_COLUMNS),
    )
    styled = views.table(frame.rename(columns=RUN_COLUMNS), NO_RUNS)
    if isinstance(styled, Html):
        return styled
    failed = int((frame["status"] == "failed").sum())
    colour = {"succeeded": HEALTHY, "failed": UNHEALTHY}
    return styled.map(
        lambda status: f"color: {colour.get(status, 'inherit')}; font-weight: 600", subset=["Status"]
    ).set_caption(f"{views.count(len(frame), 'run')}, {failed} failed")


class FigurePicker(w.VBox):
    """A Dropdown of the recorded figures redrawing :func:`figure_chart`; see :func:`figure_picker`.

    Attributes: ``figure`` (Dropdown), ``chart`` (Output), ``shown`` (the Figure on screen, None with no figures).
    """

    def __init__(self, rows: Sequence[Row], figure: str = "") -> None:
        self.frame = figures_frame(rows)
        names = figure_names(rows)
        self.figure = w.Dropdown(options=names, value=figure if figure in names else (names[0] if names else None))
        self.figure.description = "Figure"
        self.chart = w.Output()
        self.shown: go.Figure | None = None
        if not names:
            self.figure.disabled = True
            self.message = views.message(NO_RUNS if not rows else "No run recorded a figure yet.")
            super().__init__([w.HTML(self.message.html)])
            return
        super().__init__([self.figure, self.chart])
        self.draw(self.figure.value)
        self.figure.observe(lambda change: self.draw(change["new"]), names="value")

    def draw(self, figure: str) -> None:
        """Draw ``figure`` over the runs."""
        self.shown = figure_chart(self.frame, figure)
        self.chart.clear_output()
        with self.chart:
            offline.show(self.shown)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        static = offline.figure_html(self.shown) if self.shown is not None else self.message.html
        caption = f"<p><b>{html.escape(self.figure.value or '')}</b></p>" if self.shown is not None else ""
        return with_static(super()._repr_mimebundle_(**kwargs), caption + static)


def figure_picker(rows: Sequence[Row], figure: str = "") -> FigurePicker:
    """Pick a recorded figure and see it over the runs.

    Parameters
    ----------
    rows : sequence of dict
        History rows (:func:`load`).
    figure : str
        The figure drawn first (the first in name order when it was never recorded).

    Returns
    -------
    FigurePicker
        An ``ipywidgets.VBox``; its static copy (exported HTML) is the chart of ``figure``.
    """
    offline.ensure_setup()
    return FigurePicker(rows, figure)
