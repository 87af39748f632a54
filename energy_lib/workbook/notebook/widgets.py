"""Interactive views of the workbook: the query explorer and what every widget shares (the operations widgets are
:mod:`.operations`, the raw-file browser :mod:`.raw_files`, the simulation panel :mod:`.simulation_panel`).

:func:`explorer` builds the query explorer; :func:`site_view` is the same view of one site without widgets
(it is what the explorer draws, and what a static report shows).

Each widget draws its first state as soon as it is created, so a notebook run by papermill or nbval, where
nobody clicks, still shows it. Its rich display carries, next to the widget, an HTML copy of what is on
screen: JupyterLab shows the live widget, while an nbconvert export without widget state (see
:mod:`energy_lib.workbook.reports`) shows the copy; the explorer's chart draws with the plotly.js that
:func:`energy_lib.workbook.notebook.display.setup` embedded.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import ipywidgets as w
import pandas as pd
from IPython.display import HTML, display
from pandas.io.formats.style import Styler

from energy_lib.timeutil import CLOCK_FORMAT, CLOCK_SECONDS_FORMAT, clock, format_timestamp, now, utc
from energy_lib.workbook.notebook import charts, views
from energy_lib.workbook.notebook import display as offline
from energy_lib.workbook.notebook.palette import ANOMALY_ROW_STYLE, ERROR_TEXT

__all__ = [
    "ANOMALY_ROW_STYLE",
    "MAX_TABLE_ROWS",
    "Explorer",
    "SiteView",
    "error_html",
    "explorer",
    "html_of",
    "site_view",
    "table_rows",
    "with_static",
]

Loader = Callable[[str, datetime, datetime], pd.DataFrame]
Day = datetime | date | str  # a moment or a day (its midnight), UTC; text in ISO-8601

CHART_MIN_WIDTH = "420px"  # narrower, the anomalies go below the chart
MAX_TABLE_ROWS = 1000  # readings in the table (a day of 5-minute readings is 288), plus every later anomaly
READING_COLUMNS = {
    "timestamp": "Time [UTC]",
    "energy_generated_kwh": "Generated [kWh]",
    "energy_consumed_kwh": "Consumed [kWh]",
    "net_energy_kwh": "Net [kWh]",
    "severity": "Severity",
    "anomaly_reasons": "Reasons",
}
ANOMALY_COLUMNS = ["timestamp", "severity", "anomaly_reasons", "energy_generated_kwh", "energy_consumed_kwh"]
NO_SITES = "No site has readings yet, so there is nothing to explore: run 02-run-simulation or upload files first."


def _flags(frame: pd.DataFrame) -> pd.Series:
    """True for each anomalous row (the ``anomaly`` column; all False without one)."""
    if "anomaly" not in frame.columns:
        return pd.Series(False, index=frame.index)
    return frame["anomaly"].fillna(False).astype(bool)


def table_rows(readings: pd.DataFrame, max_rows: int = MAX_TABLE_ROWS) -> pd.DataFrame:
    """The rows of the readings table: the first ``max_rows`` readings and every anomaly after them.

    Anomalies are never left out, whatever the number of readings; the order stays that of ``readings``.
    """
    position = pd.Series(range(len(readings)), index=readings.index)
    return readings[(position < max_rows) | _flags(readings)]


def _time_format(moments: pd.Series) -> str:
    """Minutes when every moment is on a whole minute (readings usually are), else seconds."""
    return CLOCK_FORMAT if (moments.dt.second == 0).all() else CLOCK_SECONDS_FORMAT


def _curated(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``columns`` of ``frame`` (those it has), named for people, times as text in UTC."""
    present = [column for column in columns if column in frame.columns]
    out = frame[present].reset_index(drop=True)
    if "timestamp" in out.columns and len(out):
        moments = pd.to_datetime(out["timestamp"], utc=True)
        out["timestamp"] = moments.dt.strftime(_time_format(moments))
    return out.rename(columns=READING_COLUMNS)


def _styled(frame: pd.DataFrame) -> Styler:
    text = [READING_COLUMNS["severity"], READING_COLUMNS["anomaly_reasons"]]
    styler = views.base_style(frame.style.format(precision=3, thousands=",", na_rep=""), text)
    time_column = READING_COLUMNS["timestamp"]
    if time_column in frame.columns:
        styler = styler.set_properties(subset=[time_column], **{"white-space": "nowrap"})
    return styler


def with_static(bundle: dict[str, Any] | None, static_html: str) -> dict[str, Any] | None:
    """A widget's display bundle with ``static_html`` as its ``text/html``, what an nbconvert export shows."""
    if bundle is not None:
        bundle["text/html"] = static_html
    return bundle


def error_html(text: str) -> str:
    """``text`` as an error line, for a widget's message."""
    return f'<p style="color:{ERROR_TEXT}">{html.escape(text)}</p>'


@dataclass(frozen=True, slots=True)
class SiteView:
    """What the explorer shows for one site and range: data, chart and tables.

    ``readings`` and ``anomalies`` are what the loaders returned for ``[start, end)`` (UTC), asked at ``read_at``
    (UTC): the readings table answers with every reading stored by then, rolled up or not.
    """

    site_id: str
    start: datetime
    end: datetime
    readings: pd.DataFrame
    anomalies: pd.DataFrame
    figure: Any  # plotly.graph_objects.Figure
    read_at: datetime

    @property
    def caption(self) -> str:
        """Site, period, counts, when they were read, and what the table leaves out when the range has more than
        it shows."""
        caption = (
            f"{self.site_id}: {views.count(len(self.readings), 'reading')}, "
            f"{views.count(len(self.anomalies), 'anomaly', 'anomalies')}, {views.period_text(self.start, self.end)}"
            f"; read at {clock(self.read_at)} UTC"
        )
        if len(self.readings) > MAX_TABLE_ROWS:
            later = views.count(len(table_rows(self.readings)) - MAX_TABLE_ROWS, "anomaly", "anomalies")
            caption += f"; the table shows the first {MAX_TABLE_ROWS:,} readings and the {later} after them"
        return caption

    def readings_table(self) -> Styler:
        """The readings of :func:`table_rows`: time, energies [kWh], severity, reasons; anomalous rows
        highlighted with ``ANOMALY_ROW_STYLE``."""
        rows = table_rows(self.readings)
        flags = _flags(rows).reset_index(drop=True)
        frame = _curated(rows, list(READING_COLUMNS))

        def highlight(row: pd.Series) -> list[str]:
            return [ANOMALY_ROW_STYLE if flags.loc[row.name] else ""] * len(row)

        return _styled(frame).apply(highlight, axis=1)

    def anomalies_table(self) -> Styler:
        """The site's anomalies in the range: time, severity, reasons and the two input values [kWh]."""
        return _styled(_curated(self.anomalies, ANOMALY_COLUMNS))

    def display(self, chart: Any, anomalies: Any, table: Any) -> None:
        """Draw into three targets (``ipywidgets.Output`` or any context manager); the caption is not drawn."""
        with chart:
            offline.show(self.figure)
        with anomalies:
            display(HTML(f"<b>Anomalies of {html.escape(self.site_id)}</b>"))
            if self.anomalies.empty:
                display(HTML("<p>No anomalies in this range.</p>"))
            else:
                display(self.anomalies_table())
        with table:
            if self.readings.empty:
                display(HTML(f"<p>No readings of {html.escape(self.site_id)} in this range.</p>"))
            else:
                display(self.readings_table())

    def to_html(self) -> str:
        """A static HTML copy: chart with the anomalies beside it, readings table below.

        The chart needs ``window.Plotly`` in the page (see :func:`energy_lib.workbook.notebook.display.setup`).
        """
        anomalies = "<p>No anomalies in this range.</p>" if self.anomalies.empty else self.anomalies_table().to_html()
        readings = (
            f"<p>No readings of {html.escape(self.site_id)} in this range.</p>"
            if self.readings.empty
            else self.readings_table().to_html()
        )
        # The anomalies come first in the document (shown right by ``order``): the chart's script runs while
        # the page is parsed and sizes the chart to its box, which must already have its final width.
        return (
            '<div class="energy-explorer">'
            f"<p><b>{html.escape(self.caption)}</b></p>"
            '<div style="display:flex;flex-wrap:wrap;gap:1em;align-items:flex-start">'
            '<div style="order:2;flex:1 1 0;min-width:min-content;overflow:auto;max-height:480px">'
            f"<b>Anomalies of {html.escape(self.site_id)}</b>{anomalies}</div>"
            f'<div style="order:1;flex:1 1 0;min-width:{CHART_MIN_WIDTH}">{offline.figure_html(self.figure)}</div>'
            "</div>"
            f'<div style="overflow:auto;max-height:600px">{readings}</div>'
            "</div>"
        )

    def _repr_html_(self) -> str:
        return self.to_html()


def site_view(
    site_id: str,
    start: Day,
    end: Day,
    load_readings: Loader,
    load_anomalies: Loader,
) -> SiteView:
    """Load and prepare the explorer's view of one site over ``[start, end)``.

    Parameters
    ----------
    site_id : str
        The site.
    start, end : datetime, date or ISO-8601 str
        The range, end exclusive; converted to timezone-aware UTC datetimes before the loaders see them.
    load_readings, load_anomalies : callable ``(site_id, start, end) -> DataFrame``
        Return the readings frame and the anomalies (readings frame rows with ``anomaly`` True) of the site.
    """
    first, last = utc(start), utc(end)
    read_at = now()
    readings = load_readings(site_id, first, last)
    anomalies = load_anomalies(site_id, first, last)
    readings = readings if readings is not None else pd.DataFrame()
    anomalies = anomalies if anomalies is not None else pd.DataFrame()
    return SiteView(site_id, first, last, readings, anomalies, charts.energy_over_time(readings, site_id), read_at)


class Explorer(w.VBox):
    """The explorer widget: a ``VBox`` of controls and outputs; see :func:`explorer`.

    Attributes: ``site`` (Dropdown), ``start_date``/``end_date`` (DatePicker, the end day included),
    ``message`` (HTML), outputs ``chart``, ``anomalies``, ``table``, ``range`` (the ``[start, end)`` drawn
    or being drawn) and ``view`` (the :class:`SiteView` on screen, None after a failed redraw or when there
    are no sites).
    """

    def __init__(self, sites: list[str], load_readings: Loader, load_anomalies: Loader, start: Day, end: Day) -> None:
        first, last = utc(start), utc(end)
        if last <= first:
            raise ValueError(f"end {format_timestamp(last)} must be after start {format_timestamp(first)}")
        self._load_readings = load_readings
        self._load_anomalies = load_anomalies
        self.range = (first, last)
        self.site = w.Dropdown(options=list(sites), value=sites[0] if sites else None, description="Site")
        self.start_date = w.DatePicker(value=first.date(), description="From (UTC)")
        self.end_date = w.DatePicker(value=(last - timedelta(microseconds=1)).date(), description="To (UTC)")
        self.message = w.HTML()
        # side by side while both fit (the anomalies table never narrower than its content); else the anomalies
        # go below the chart, at full width: never clipped, never scrolled sideways inside a scrolled box
        self.chart = w.Output(layout=w.Layout(flex="1 1 0%", min_width=CHART_MIN_WIDTH))
        self.anomalies = w.Output(
            layout=w.Layout(flex="1 1 0%", min_width="min-content", max_height="480px", overflow="auto")
        )
        self.table = w.Output(layout=w.Layout(max_height="600px", overflow="auto"))
        self.view: SiteView | None = None
        if not sites:  # nothing to pick or draw: say so, draw nothing
            self.site.disabled = True
            self.message.value = views.message(NO_SITES).html
            super().__init__([self.message])
            return
        super().__init__(
            [
                w.HBox([self.site, self.start_date, self.end_date]),
                self.message,
                w.HBox([self.chart, self.anomalies], layout=w.Layout(width="100%", flex_flow="row wrap")),
                self.table,
            ]
        )
        self.draw(sites[0], first, last, raise_errors=True)
        self.site.observe(self._on_site, names="value")
        self.start_date.observe(self._on_dates, names="value")
        self.end_date.observe(self._on_dates, names="value")

    def picked_range(self) -> tuple[datetime, datetime] | None:
        """``[start, end)`` from the pickers: midnight UTC of the first day to midnight after the last day."""
        if self.start_date.value is None or self.end_date.value is None:
            return None
        return utc(self.start_date.value), utc(self.end_date.value + timedelta(days=1))

    def draw(self, site_id: str, start: datetime, end: datetime, raise_errors: bool = False) -> None:
        """Load ``site_id`` over ``[start, end)`` (which becomes ``range``) and redraw; a loader error shows
        in ``message``, or is raised with ``raise_errors``."""
        self.range = (start, end)
        self._clear()
        try:
            view = site_view(site_id, start, end, self._load_readings, self._load_anomalies)
        except Exception as error:
            self.message.value = error_html(f"Could not load {site_id}: {error!r}")
            if raise_errors:
                raise
            return
        self.view = view
        self.message.value = f"<p>{html.escape(view.caption)}</p>"
        view.display(self.chart, self.anomalies, self.table)

    def _on_site(self, change: dict[str, Any]) -> None:
        """Another site: the same range, whatever it is (it need not be whole days)."""
        self.draw(change["new"], *self.range)

    def _clear(self) -> None:
        """Nothing on screen: no chart, no tables, no view (so no stale copy either)."""
        for output in (self.chart, self.anomalies, self.table):
            output.clear_output()
        self.view = None

    def _on_dates(self, _change: dict[str, Any]) -> None:
        """Another day picked: the range becomes the picked whole UTC days. A range that cannot be drawn (a day
        left empty, To before From) clears the chart and the tables and says why."""
        picked = self.picked_range()
        if picked is None or picked[1] <= picked[0]:
            self._clear()
            if picked is None:
                why = "pick both a From and a To day."
            else:
                why = (
                    f"To ({self.end_date.value:%Y-%m-%d}) is before From ({self.start_date.value:%Y-%m-%d}); "
                    "pick a To day on or after From."
                )
            self.message.value = error_html(f"Nothing drawn: {why}")
            return
        self.draw(self.site.value, *picked)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        static = self.view.to_html() if self.view is not None else self.message.value
        return with_static(super()._repr_mimebundle_(**kwargs), static)


def explorer(sites: list[str], load_readings: Loader, load_anomalies: Loader, start: Day, end: Day) -> Explorer:
    """A site Dropdown and two DatePickers redrawing the readings table, chart and anomalies of the site.

    Parameters
    ----------
    sites : list of str
        The sites to pick from; the first is drawn at once. With none, the explorer says that no site has
        readings and draws nothing.
    load_readings, load_anomalies : callable ``(site_id, start, end) -> DataFrame``
        Called with timezone-aware UTC datetimes, range ``[start, end)``; called once each per redraw.
    start, end : datetime, date or ISO-8601 str
        The initial range (end exclusive), drawn exactly. Picking another site keeps the range; picking a
        date makes it whole UTC days, from the first picked day to the end of the last picked day.

    Returns
    -------
    Explorer
        An ``ipywidgets.VBox``; display it (last expression of a cell). Also ensures plotly.js is in the
        document (:func:`energy_lib.workbook.notebook.display.setup`) before the widget's static copy.
    """
    offline.ensure_setup()
    return Explorer(sites, load_readings, load_anomalies, start, end)


def html_of(shown: Styler | views.Html) -> str:
    """The HTML of a table or message, for a widget's static copy."""
    return shown.to_html() if isinstance(shown, Styler) else shown.html
