"""The operations notebook's views: resource health, the alerts received, the queues (a line of depths, and the
dead-letter queue with its redrive button), the quarantine browser, and the ingestion statistics of the ledger.

Each widget draws its first state as soon as it is created and carries an HTML copy for exported reports, as
:mod:`.widgets` explains.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import ipywidgets as w
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
from IPython.display import display
from pandas.io.formats.style import Styler

from energy_lib.wording import count
from energy_lib.workbook.notebook import views
from energy_lib.workbook.notebook.charts import METRIC_AXIS, READINGS_AXIS, draw, empty_figure, is_empty, require
from energy_lib.workbook.notebook.palette import HEALTHY, STATUS_COLOURS, UNHEALTHY, WARNING
from energy_lib.workbook.notebook.views import Html, table
from energy_lib.workbook.notebook.widgets import error_html, html_of, with_static

__all__ = [
    "DeadLetters",
    "QuarantineBrowser",
    "alerts_table",
    "dead_letters",
    "health_table",
    "ingestion_statistics",
    "quarantine_browser",
    "queue_line",
]

QUARANTINE_EMPTY = "The quarantine is empty: no rejected readings and no unparseable files."
RESOURCE_COLOURS = {"healthy": HEALTHY, "degraded": WARNING, "unhealthy": UNHEALTHY}


def health_table(health: list[dict[str, Any]]) -> Styler | Html:
    """:func:`energy_lib.workbook.aws.ops.health` as Resource, Status (green ``healthy``, amber ``degraded``,
    red ``unhealthy``), Detail; the caption counts them (``7 of 8 resources healthy, 1 degraded``)."""
    frame = pd.DataFrame(
        [
            {"Resource": row["resource"], "Status": views.resource_status(row), "Detail": row["detail"]}
            for row in health
        ],
        columns=["Resource", "Status", "Detail"],
    )
    styled = table(frame, "No resources to check.")
    if isinstance(styled, Html):
        return styled
    statuses = frame["Status"].value_counts()
    verdict = f"{statuses.get('healthy', 0)} of {len(health)} resources healthy" + "".join(
        f", {statuses[status]} {status}" for status in ("degraded", "unhealthy") if status in statuses
    )
    return styled.map(
        lambda status: f"color: {RESOURCE_COLOURS.get(status, UNHEALTHY)}; font-weight: 600", subset=["Status"]
    ).set_caption(verdict)


ALERT_COLUMNS = {
    "sent_at": "Sent [UTC]",
    "kind": "Kind",
    "severity": "Severity",
    "sites": "Sites",
    "anomalies": "Anomalies",
    "events": "Site events",  # site-health alerts: silent sites, frozen meters, outages, yield losses
    "notebook": "Report",  # report_failed and report_recovered: the notebook whose run failed or recovered
    "subject": "Subject",
}


def alerts_table(alerts: list[dict[str, Any]]) -> Styler | Html:
    """:func:`energy_lib.workbook.aws.ops.alerts` as a table for people: sent (UTC, to the second), kind
    (anomaly, summary, site health, report failed or recovered), severity, sites, anomalies, site events, report,
    subject; a message when none was received."""
    frame = pd.DataFrame(alerts, columns=list(ALERT_COLUMNS))
    if not frame.empty:
        sent = pd.to_datetime(frame["sent_at"], utc=True, errors="coerce")
        frame["sent_at"] = sent.dt.strftime("%Y-%m-%d %H:%M:%S").fillna(frame["sent_at"])
    return table(frame.rename(columns=ALERT_COLUMNS), "No alerts received.")


QUEUE_NAMES = {
    "ingest_queue": "ingest queue",
    "dead_letter_queue": "dead-letter queue",
    "rollups_dead_letter_queue": "rollups dead-letter queue",
}


def queue_line(depths: dict[str, int]) -> Html:
    """Messages waiting or in flight per queue on one line, e.g. ``ingest queue 0 · dead-letter queue 3``;
    a dead-letter queue that holds messages is shown in red."""
    parts = [(QUEUE_NAMES.get(name, name.replace("_", " ")), int(n)) for name, n in depths.items()]
    items = " · ".join(
        f'{html.escape(name)} <b style="color:{UNHEALTHY if "dead-letter" in name and n else "inherit"}">{n:,}</b>'
        for name, n in parts
    )
    text = " · ".join(f"{name} {n:,}" for name, n in parts)
    return Html(f"<p>Messages waiting or in flight: {items}</p>", f"Messages waiting or in flight: {text}")


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
            self.depths.value = queue_line(self._depths()).html
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
        :func:`energy_lib.workbook.notebook.operations.queue_line` and loaded again after every redrive and refresh.
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


def ingestion_statistics(status: pd.DataFrame) -> go.Figure:
    """Readings read, stored, quarantined and anomalous, summed over the ingest ledger, by file status.

    Takes the ingest status frame (``key``, ``status``, ``read``, ``stored``, ``quarantined``,
    ``anomalies``). The title counts files per status; for every status read = stored + quarantined.
    """
    title = "Ingestion statistics"
    if is_empty(status):
        return empty_figure(title, "No files ingested")
    metrics = ["read", "stored", "quarantined", "anomalies"]
    require(status, ["key", "status", *metrics], "ingestion_statistics")
    frame = status.assign(status=status["status"].fillna("unknown").astype(str))
    for metric in metrics:
        frame[metric] = pd.to_numeric(frame[metric], errors="coerce").fillna(0).astype(int)
    totals = frame.groupby("status")[metrics].sum().reset_index()
    long = totals.melt(id_vars=["status"], value_vars=metrics, var_name="metric", value_name="readings")
    files = frame.groupby("status")["key"].count()
    title = f"{title}: {count(len(frame), 'file')} (" + ", ".join(f"{n} {s}" for s, n in files.items()) + ")"
    labels = {"metric": METRIC_AXIS, "readings": READINGS_AXIS, "status": "File status"}
    order = {"metric": metrics, "status": [s for s in STATUS_COLOURS if s in set(long["status"])]}
    columns = ("metric", "readings", "status")
    fig = draw(px.bar, long, title, labels, columns, STATUS_COLOURS, order, barmode="group", text="readings")
    fig.update_traces(textposition="outside", cliponaxis=False, texttemplate="%{y:,}")
    fig.update_layout(yaxis_tickformat=",")
    return fig
