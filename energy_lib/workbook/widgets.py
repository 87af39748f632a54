"""The query explorer: pick a site and a date range, see its readings, chart and anomalies.

:func:`explorer` builds the interactive widget; :func:`site_view` is the same view of one site without
widgets (it is what the explorer draws, and what a static report shows).

The explorer draws its first site as soon as it is created, so a notebook run by papermill or nbval, where
nobody clicks, still shows that site. Its rich display carries, next to the widget, an HTML copy of the
current view: JupyterLab shows the live widget, while an nbconvert export without widget state (see
:mod:`energy_lib.workbook.reports`) shows the copy; its chart draws with the plotly.js that
:func:`energy_lib.workbook.charts.setup` embedded.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import ipywidgets as w
import pandas as pd
from IPython.display import HTML, display

from energy_lib.workbook import charts

__all__ = ["ANOMALY_ROW_STYLE", "MAX_TABLE_ROWS", "Explorer", "SiteView", "explorer", "site_view"]

Loader = Callable[[str, datetime, datetime], pd.DataFrame]

ANOMALY_ROW_STYLE = "background-color: #fde0dc; color: #7f0000"  # CSS of an anomalous reading's row
MAX_TABLE_ROWS = 200  # readings shown in the table; the chart always draws every reading
ANOMALY_COLUMNS = ["timestamp", "severity", "anomaly_reasons", "energy_generated_kwh", "energy_consumed_kwh"]


def _utc(value: datetime | date | str) -> datetime:
    """A timezone-aware UTC datetime from a datetime (naive taken as UTC), a date (its midnight) or ISO text."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    elif not isinstance(value, datetime):
        value = datetime.combine(value, time(), tzinfo=timezone.utc)
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


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
        shown = min(len(self.readings), MAX_TABLE_ROWS)
        more = f", table shows the first {shown}" if shown < len(self.readings) else ""
        return (
            f"{self.site_id}: {len(self.readings)} readings, {len(self.anomalies)} anomalies "
            f"in [{_stamp(self.start)}, {_stamp(self.end)}){more}"
        )

    def readings_table(self) -> pd.io.formats.style.Styler:
        """The readings (first ``MAX_TABLE_ROWS``), anomalous rows highlighted with ``ANOMALY_ROW_STYLE``."""
        frame = self.readings.head(MAX_TABLE_ROWS).reset_index(drop=True)
        flags = (
            frame["anomaly"].fillna(False).astype(bool)
            if "anomaly" in frame.columns
            else pd.Series(False, index=frame.index)
        )

        def highlight(row: pd.Series) -> list[str]:
            return [ANOMALY_ROW_STYLE if flags.loc[row.name] else ""] * len(row)

        return frame.style.apply(highlight, axis=1).hide(axis="index").format(precision=3, na_rep="")

    def anomalies_table(self) -> pd.io.formats.style.Styler:
        """The site's anomalies in the range: time, severity, reasons and the two input values."""
        columns = [column for column in ANOMALY_COLUMNS if column in self.anomalies.columns]
        frame = self.anomalies[columns].reset_index(drop=True) if columns else self.anomalies
        return frame.style.hide(axis="index").format(precision=3, na_rep="")

    def display(self, chart: Any, anomalies: Any, table: Any) -> None:
        """Draw into three targets (``ipywidgets.Output`` or any context manager); the caption is not drawn."""
        with chart:
            charts.show(self.figure)
        with anomalies:
            display(HTML(f"<b>Anomalies of {html.escape(self.site_id)}</b>"))
            if self.anomalies.empty:
                display(HTML("<p>No anomalies in this range.</p>"))
            else:
                display(self.anomalies_table())
        with table:
            display(self.readings_table())

    def to_html(self) -> str:
        """A static HTML copy: chart with the anomalies beside it, readings table below.

        The chart needs ``window.Plotly`` in the page (see :func:`energy_lib.workbook.charts.setup`).
        """
        anomalies = "<p>No anomalies in this range.</p>" if self.anomalies.empty else self.anomalies_table().to_html()
        # The anomalies come first in the document (shown right by ``order``): the chart's script runs while
        # the page is parsed and sizes the chart to its box, which must already have its final width.
        return (
            '<div class="energy-explorer">'
            f"<p><b>{html.escape(self.caption)}</b></p>"
            '<div style="display:flex;gap:1em;align-items:flex-start">'
            '<div style="order:2;flex:1 1 0;min-width:0;overflow:auto;max-height:480px">'
            f"<b>Anomalies of {html.escape(self.site_id)}</b>{anomalies}</div>"
            f'<div style="order:1;flex:2 1 0;min-width:0">{charts.figure_html(self.figure)}</div>'
            "</div>"
            f'<div style="overflow:auto;max-height:600px">{self.readings_table().to_html()}</div>'
            "</div>"
        )

    def _repr_html_(self) -> str:
        return self.to_html()


def site_view(
    site_id: str,
    start: datetime | date | str,
    end: datetime | date | str,
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
    first, last = _utc(start), _utc(end)
    readings = load_readings(site_id, first, last)
    anomalies = load_anomalies(site_id, first, last)
    readings = readings if readings is not None else pd.DataFrame()
    anomalies = anomalies if anomalies is not None else pd.DataFrame()
    return SiteView(site_id, first, last, readings, anomalies, charts.energy_over_time(readings, site_id))


class Explorer(w.VBox):
    """The explorer widget: a ``VBox`` of controls and outputs; see :func:`explorer`.

    Attributes: ``site`` (Dropdown), ``start_date``/``end_date`` (DatePicker, the end day included),
    ``message`` (HTML), outputs ``chart``, ``anomalies``, ``table``, and ``view`` (the :class:`SiteView` on
    screen, None after a failed redraw).
    """

    def __init__(
        self,
        sites: list[str],
        load_readings: Loader,
        load_anomalies: Loader,
        start: datetime | date | str,
        end: datetime | date | str,
    ) -> None:
        if not sites:
            raise ValueError("explorer needs at least one site")
        first, last = _utc(start), _utc(end)
        if last <= first:
            raise ValueError(f"end {_stamp(last)} must be after start {_stamp(first)}")
        self._load_readings = load_readings
        self._load_anomalies = load_anomalies
        self.site = w.Dropdown(options=list(sites), value=sites[0], description="Site")
        self.start_date = w.DatePicker(value=first.date(), description="From (UTC)")
        self.end_date = w.DatePicker(value=(last - timedelta(microseconds=1)).date(), description="To (UTC)")
        self.message = w.HTML()
        self.chart = w.Output(layout=w.Layout(flex="2 1 0%", min_width="0"))
        self.anomalies = w.Output(layout=w.Layout(flex="1 1 0%", max_height="480px", overflow="auto"))
        self.table = w.Output(layout=w.Layout(max_height="600px", overflow="auto"))
        self.view: SiteView | None = None
        super().__init__(
            [
                w.HBox([self.site, self.start_date, self.end_date]),
                self.message,
                w.HBox([self.chart, self.anomalies], layout=w.Layout(width="100%")),
                self.table,
            ]
        )
        self.draw(sites[0], first, last, raise_errors=True)
        self.site.observe(self._on_change, names="value")
        self.start_date.observe(self._on_change, names="value")
        self.end_date.observe(self._on_change, names="value")

    def picked_range(self) -> tuple[datetime, datetime] | None:
        """``[start, end)`` from the pickers: midnight UTC of the first day to midnight after the last day."""
        if self.start_date.value is None or self.end_date.value is None:
            return None
        return _utc(self.start_date.value), _utc(self.end_date.value + timedelta(days=1))

    def draw(self, site_id: str, start: datetime, end: datetime, raise_errors: bool = False) -> None:
        """Load ``site_id`` over ``[start, end)`` and redraw; a loader error shows in ``message``."""
        for output in (self.chart, self.anomalies, self.table):
            output.clear_output()
        self.view = None
        try:
            view = site_view(site_id, start, end, self._load_readings, self._load_anomalies)
        except Exception as error:
            problem = f"Could not load {site_id}: {error!r}"
            self.message.value = f'<p style="color:#b00020">{html.escape(problem)}</p>'
            if raise_errors:
                raise
            return
        self.view = view
        self.message.value = f"<p>{html.escape(view.caption)}</p>"
        view.display(self.chart, self.anomalies, self.table)

    def _on_change(self, _change: dict[str, Any]) -> None:
        picked = self.picked_range()
        if picked is None or picked[1] <= picked[0]:
            self.message.value = '<p style="color:#b00020">Pick a start date on or before the end date.</p>'
            return
        self.draw(self.site.value, *picked)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is not None and self.view is not None:
            bundle["text/html"] = self.view.to_html()
        return bundle


def explorer(
    sites: list[str],
    load_readings: Loader,
    load_anomalies: Loader,
    start: datetime | date | str,
    end: datetime | date | str,
) -> Explorer:
    """A site Dropdown and two DatePickers redrawing the readings table, chart and anomalies of the site.

    Parameters
    ----------
    sites : list of str
        The sites to pick from; the first is drawn at once.
    load_readings, load_anomalies : callable ``(site_id, start, end) -> DataFrame``
        Called with timezone-aware UTC datetimes, range ``[start, end)``; called once each per redraw.
    start, end : datetime, date or ISO-8601 str
        The initial range (end exclusive), drawn exactly; after a picker changes, the range is whole UTC days
        from the first picked day to the end of the last picked day.

    Returns
    -------
    Explorer
        An ``ipywidgets.VBox``; display it (last expression of a cell). Also ensures plotly.js is in the
        document (:func:`energy_lib.workbook.charts.setup`) before the widget's static copy.
    """
    charts.ensure_setup()
    return Explorer(sites, load_readings, load_anomalies, start, end)
