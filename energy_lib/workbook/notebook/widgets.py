"""Interactive views of the workbook: the query explorer, the dead-letter queue with its redrive button and the
quarantine browser (the raw-file browser is :mod:`.raw_files`, the simulation panel :mod:`.simulation_panel`).

:func:`explorer` builds the query explorer; :func:`site_view` is the same view of one site without widgets
(it is what the explorer draws, and what a static report shows). :func:`dead_letters` lists the queues and
the dead-letter queue with a button that redrives it; :func:`quarantine_browser` picks a quarantine object
and shows what it holds; :func:`file_browser` pages through the raw objects and shows one;
:func:`simulation_panel` simulates from the page, once or in continuous batches that a Stop button ends.

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

from energy_lib.timeutil import CLOCK_FORMAT, CLOCK_SECONDS_FORMAT, format_timestamp, utc
from energy_lib.workbook.notebook import charts, views
from energy_lib.workbook.notebook import display as offline
from energy_lib.workbook.notebook.palette import ANOMALY_ROW_STYLE, ERROR_TEXT

__all__ = [
    "ANOMALY_ROW_STYLE",
    "MAX_TABLE_ROWS",
    "DeadLetters",
    "Explorer",
    "QuarantineBrowser",
    "SiteView",
    "dead_letters",
    "error_html",
    "explorer",
    "html_of",
    "quarantine_browser",
    "site_view",
    "table_rows",
    "with_static",
]

Loader = Callable[[str, datetime, datetime], pd.DataFrame]
Day = datetime | date | str  # a moment or a day (its midnight), UTC; text in ISO-8601

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
QUARANTINE_EMPTY = "The quarantine is empty: no rejected readings and no unparseable files."
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

    ``readings`` and ``anomalies`` are what the loaders returned for ``[start, end)`` (UTC).
    """

    site_id: str
    start: datetime
    end: datetime
    readings: pd.DataFrame
    anomalies: pd.DataFrame
    figure: Any  # plotly.graph_objects.Figure

    @property
    def caption(self) -> str:
        """Site, period, counts, and what the table leaves out when the range has more than it shows."""
        caption = (
            f"{self.site_id}: {len(self.readings):,} readings, {len(self.anomalies):,} anomalies, "
            f"{views.period_text(self.start, self.end)}"
        )
        if len(self.readings) > MAX_TABLE_ROWS:
            later = len(table_rows(self.readings)) - MAX_TABLE_ROWS
            caption += f"; the table shows the first {MAX_TABLE_ROWS:,} readings and the {later:,} anomalies after them"
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
            '<div style="display:flex;gap:1em;align-items:flex-start">'
            '<div style="order:2;flex:1 1 0;min-width:0;overflow:auto;max-height:480px">'
            f"<b>Anomalies of {html.escape(self.site_id)}</b>{anomalies}</div>"
            f'<div style="order:1;flex:1 1 0;min-width:0">{offline.figure_html(self.figure)}</div>'
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
    readings = load_readings(site_id, first, last)
    anomalies = load_anomalies(site_id, first, last)
    readings = readings if readings is not None else pd.DataFrame()
    anomalies = anomalies if anomalies is not None else pd.DataFrame()
    return SiteView(site_id, first, last, readings, anomalies, charts.energy_over_time(readings, site_id))


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
        self.chart = w.Output(layout=w.Layout(flex="1 1 0%", min_width="0"))
        self.anomalies = w.Output(layout=w.Layout(flex="1 1 0%", max_height="480px", overflow="auto"))
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
                w.HBox([self.chart, self.anomalies], layout=w.Layout(width="100%")),
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
        for output in (self.chart, self.anomalies, self.table):
            output.clear_output()
        self.view = None
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

    def _on_dates(self, _change: dict[str, Any]) -> None:
        """Another day picked: the range becomes the picked whole UTC days."""
        picked = self.picked_range()
        if picked is None or picked[1] <= picked[0]:
            self.message.value = error_html("Pick a start date on or before the end date.")
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


class DeadLetters(w.VBox):
    """The queue depths, the dead-letter queue's messages and a button that moves them back to the ingest
    queue.

    Attributes: ``button`` (Button: redrive), ``refresh_button`` (Button: load again), ``depths`` (HTML: the
    queue line, when a ``depths`` loader was given), ``message`` (HTML), ``table`` (Output), ``messages`` (the
    DataFrame on screen) and ``moved`` (messages moved by the last redrive, None before any). See
    :func:`dead_letters`.
    """

    def __init__(
        self,
        load: Callable[[], pd.DataFrame],
        redrive: Callable[[], int],
        redrive_now: bool = False,
        depths: Callable[[], dict[str, int]] | None = None,
    ) -> None:
        self._load = load
        self._redrive = redrive
        self._depths = depths
        self.button = w.Button(
            description="Redrive to ingest queue",
            icon="rotate-left",
            button_style="warning",
            tooltip="Move every message of the dead-letter queue back to the ingest queue",
            layout=w.Layout(width="auto"),
        )
        self.refresh_button = w.Button(description="Refresh", icon="refresh", layout=w.Layout(width="auto"))
        self.depths = w.HTML()
        self.message = w.HTML()
        self.table = w.Output()
        self.messages = pd.DataFrame()
        self.moved: int | None = None
        super().__init__([self.depths, w.HBox([self.button, self.refresh_button, self.message]), self.table])
        if redrive_now:
            self.redrive()
        else:
            self.refresh()
        self.button.on_click(self._on_click)
        self.refresh_button.on_click(lambda _button: self.refresh())

    def _status(self) -> str:
        waiting = (
            "The dead-letter queue is empty: nothing to redrive."
            if self.messages.empty
            else f"{views.count(len(self.messages), 'message')} in the dead-letter queue."
        )
        if self.moved is None:
            return waiting
        return f"Moved {views.count(self.moved, 'message')} back to the ingest queue. {waiting}"

    def refresh(self) -> None:
        """Load the queue depths and the dead-letter messages again; redraw the line, table and status."""
        if self._depths is not None:
            self.depths.value = views.queue_line(self._depths()).html
        self.messages = self._load()
        self.message.value = views.message(self._status()).html
        self.table.clear_output()
        if not self.messages.empty:
            with self.table:
                display(self._table())

    def _table(self) -> Styler | views.Html:
        return views.table(self.messages, "")

    def redrive(self) -> int:
        """Call the redrive callable, then reload; returns how many messages it moved."""
        self.moved = int(self._redrive())
        self.refresh()
        return self.moved

    def _on_click(self, _button: w.Button) -> None:
        self.button.disabled = True
        try:
            self.redrive()
        except Exception as error:
            self.message.value = error_html(f"Redrive failed: {error!r}")
        finally:
            self.button.disabled = False

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        table = "" if self.messages.empty else html_of(self._table())
        static = f"{self.depths.value}{views.message(self._status()).html}{table}"
        return with_static(super()._repr_mimebundle_(**kwargs), static)


def dead_letters(
    load: Callable[[], pd.DataFrame],
    redrive: Callable[[], int],
    redrive_now: bool = False,
    depths: Callable[[], dict[str, int]] | None = None,
) -> DeadLetters:
    """The dead-letter queue as a table, with a button that redrives it and says how many messages moved.

    Parameters
    ----------
    load : callable ``() -> DataFrame``
        The queue's messages, one row each (e.g. ``partial(frames.dead_letters, settings)``); called again
        after every redrive and refresh.
    redrive : callable ``() -> int``
        Moves the messages back to the ingest queue and returns how many it moved (e.g.
        ``partial(ops.redrive, settings)``).
    redrive_now : bool
        Redrive once at creation (a report run's parameter; nobody clicks under papermill).
    depths : callable ``() -> dict``, optional
        Messages per queue (e.g. ``partial(ops.queue_depths, settings)``), shown above as
        :func:`energy_lib.workbook.notebook.views.queue_line` and loaded again after every redrive and refresh.
    """
    return DeadLetters(load, redrive, redrive_now, depths)


class QuarantineBrowser(w.VBox):
    """A Dropdown of quarantine objects and what the picked one holds; see :func:`quarantine_browser`.

    Attributes: ``object`` (Dropdown of keys, labelled), ``message`` (HTML), ``content`` (Output),
    ``objects`` (the listing), ``key`` and ``shown`` (the object on screen and its rows; None when none).
    """

    def __init__(self, objects: pd.DataFrame, load: Callable[[str], pd.DataFrame]) -> None:
        self._load = load
        self.objects = objects.reset_index(drop=True) if "key" in objects.columns else pd.DataFrame(columns=["key"])
        options = list(zip(self._labels(), self.objects["key"], strict=True))
        self.object = w.Dropdown(
            options=options,
            value=options[0][1] if options else None,
            description="Object",
            layout=w.Layout(width="100%", max_width="900px"),
        )
        self.message = w.HTML()
        self.content = w.Output(layout=w.Layout(max_height="600px", overflow="auto"))
        self.key: str | None = None
        self.shown: pd.DataFrame | None = None
        if not options:
            self.object.disabled = True
            self.message.value = views.message(QUARANTINE_EMPTY).html
            super().__init__([self.message])
            return
        super().__init__([self.object, self.message, self.content])
        self.show(options[0][1], raise_errors=True)
        self.object.observe(lambda change: self.show(change["new"]), names="value")

    def _labels(self) -> list[str]:
        return list(self.objects["label"] if "label" in self.objects.columns else self.objects["key"])

    def _caption(self) -> str:
        label = dict(zip(self.objects["key"], self._labels(), strict=True))
        rows = "" if self.shown is None else f": {views.count(len(self.shown), 'row')}"
        return (
            f"{views.count(len(self.objects), 'object')} in quarantine; showing {label.get(self.key, self.key)}{rows}"
        )

    def show(self, key: str, raise_errors: bool = False) -> None:
        """Load the object ``key`` and show its rows; a loader error shows in ``message``."""
        self.key, self.shown = key, None
        self.content.clear_output()
        try:
            self.shown = self._load(key)
        except Exception as error:
            self.message.value = error_html(f"Could not read {key}: {error!r}")
            if raise_errors:
                raise
            return
        self.message.value = f"<p>{html.escape(self._caption())}</p>"
        with self.content:
            display(self._table())

    def _table(self) -> Styler | views.Html:
        return views.table(self.shown, "This object holds no rows.")

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        if self.shown is None:
            static = self.message.value
        else:
            shown_columns = [c for c in ("label", "size_bytes", "last_modified") if c in self.objects.columns]
            listing = views.table(self.objects[shown_columns].rename(columns={"label": "object"}), "")
            static = (
                f"{html_of(listing)}<p><b>{html.escape(self._caption())}</b></p>"
                f'<div style="overflow:auto;max-height:600px">{html_of(self._table())}</div>'
            )
        return with_static(super()._repr_mimebundle_(**kwargs), static)


def quarantine_browser(objects: pd.DataFrame, load: Callable[[str], pd.DataFrame]) -> QuarantineBrowser:
    """Browse the quarantine: pick an object, see its rejected readings (or an unparseable file's reason).

    Parameters
    ----------
    objects : DataFrame
        One row per object, with ``key`` and a ``label`` for the Dropdown (e.g. ``frames.quarantine(settings)``);
        the first is shown at once.
    load : callable ``(key) -> DataFrame``
        What one object holds (e.g. ``partial(frames.quarantined, settings)``).

    Returns
    -------
    QuarantineBrowser
        An ``ipywidgets.VBox``; its static copy (exported HTML) lists every object and shows the first.
    """
    return QuarantineBrowser(objects, load)


def html_of(shown: Styler | views.Html) -> str:
    """The HTML of a table or message, for a widget's static copy."""
    return shown.to_html() if isinstance(shown, Styler) else shown.html
