"""The raw-file browser: the objects under ``raw/`` a page at a time, each with its ledger entry, filtered by a
prefix or a day, and a viewer of one (its content as a table, its rejects with their reasons, its status).

Like every widget of the workbook it draws its first state at once, and its display carries an HTML copy of
what is on screen for exported reports (:func:`energy_lib.workbook.notebook.widgets.with_static`).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import date
from typing import Any

import ipywidgets as w
import pandas as pd
from IPython.display import display
from pandas.io.formats.style import Styler

from energy_lib.workbook.notebook import views
from energy_lib.workbook.notebook.frames import ROUNDED_COLUMNS
from energy_lib.workbook.notebook.palette import (
    ANOMALY_ROW_STYLE,
    MUTED,
    REJECTED_ROW_STYLE,
    ROUNDED_CELL_STYLE,
    STATUS_COLOURS,
)
from energy_lib.workbook.notebook.widgets import error_html, html_of, with_static

__all__ = ["FileBrowser", "browser"]

PageLoader = Callable[[str, "str | None"], "tuple[pd.DataFrame, str | None]"]
LISTING_COLUMNS = {
    "key": "Object",
    "size_bytes": "Size [bytes]",
    "last_modified": "Uploaded [UTC]",
    "status": "Status",
    "read": "Read",
    "stored": "Stored",
    "quarantined": "Quarantined",
    "anomalies": "Anomalies",
    "rounded": "Rounded",
}
CONTENT_COLUMNS = {
    "position": "Position",
    "site_id": "site_id",
    "timestamp": "timestamp",
    "energy_generated_kwh": "energy_generated_kwh",
    "stored_generated_kwh": "stored as (rounded)",
    "energy_consumed_kwh": "energy_consumed_kwh",
    "stored_consumed_kwh": "stored as (rounded) ",  # labels must differ: a trailing space
    "flagged": "Flagged as",
    "rejected": "Rejected for",
}
ROUNDED_NOTE = "; a value with more than 9 decimals is stored rounded (half to even), shown beside the text"
NO_FILES = "No raw objects under {prefix}."


def _row_style(row: pd.Series) -> str:
    """A content row's CSS: a rejected record struck out, a flagged reading as the explorer shows anomalies."""
    if row[CONTENT_COLUMNS["rejected"]]:
        return REJECTED_ROW_STYLE
    return ANOMALY_ROW_STYLE if row[CONTENT_COLUMNS["flagged"]] else ""


class FileBrowser(w.VBox):
    """Raw objects page by page, each with its ledger entry, and a viewer of one; see :func:`browser`.

    Attributes: ``prefix`` (Text), ``day`` (DatePicker: sets the prefix to that day's), ``previous`` and
    ``next`` (Buttons), ``page_label`` and ``message`` (HTML), ``listing`` (Output), ``file`` (Dropdown of the
    page's keys), ``status`` (HTML: the picked file's ledger entry), ``viewer`` (Output: its rejects and
    content, a value stored rounded beside the text the file wrote); ``page`` (the listing on screen),
    ``page_number`` (from 1) and ``shown`` (the :class:`~energy_lib.workbook.notebook.frames.RawFile` on screen,
    None when none).
    """

    def __init__(
        self,
        list_page: PageLoader,
        load_file: Callable[[str], Any],
        prefix: str,
        day_prefix: Callable[[date], str],
    ) -> None:
        self._list_page, self._load_file, self._day_prefix = list_page, load_file, day_prefix
        self.prefix = w.Text(value=prefix, description="Prefix", continuous_update=False)
        self.day = w.DatePicker(description="Day (UTC)")
        self.previous = w.Button(description="Previous page", icon="chevron-left", disabled=True)
        self.next = w.Button(description="Next page", icon="chevron-right", disabled=True)
        self.page_label, self.message, self.status = w.HTML(), w.HTML(), w.HTML()
        self.listing = w.Output(layout=w.Layout(max_height="420px", overflow="auto"))
        self.file = w.Dropdown(description="File", layout=w.Layout(width="100%", max_width="900px"))
        self.viewer = w.Output(layout=w.Layout(max_height="700px", overflow="auto"))
        self.page = pd.DataFrame()
        self.page_number = 1
        self.shown: Any = None
        self._tokens: list[str | None] = [None]  # the token of each page shown so far; the last: this page's
        self._following: str | None = None
        super().__init__(
            [
                w.HBox([self.prefix, self.day]),
                w.HBox([self.previous, self.next, self.page_label]),
                self.message,
                self.listing,
                self.file,
                self.status,
                self.viewer,
            ]
        )
        self.load_page(None)
        self.prefix.observe(lambda _change: self.first_page(), names="value")
        self.day.observe(self._on_day, names="value")
        self.previous.on_click(lambda _button: self.turn(-1))
        self.next.on_click(lambda _button: self.turn(+1))
        self.file.observe(lambda change: change["new"] and self.show(change["new"]), names="value")

    def first_page(self) -> None:
        """List the first page under the prefix on screen."""
        self._tokens = [None]
        self.page_number = 1
        self.load_page(None)

    def turn(self, step: int) -> None:
        """Show the next (``+1``) or the previous (``-1``) page."""
        if step > 0 and self._following:
            self._tokens.append(self._following)
        elif step < 0 and len(self._tokens) > 1:
            self._tokens.pop()
        else:
            return
        self.page_number = len(self._tokens)
        self.load_page(self._tokens[-1])

    def load_page(self, token: str | None) -> None:
        """List the page that ``token`` starts (None: the first) and show its first file."""
        self.listing.clear_output()
        try:
            self.page, self._following = self._list_page(self.prefix.value, token)
        except Exception as error:
            self.message.value = error_html(f"Could not list {self.prefix.value}: {error!r}")
            return
        self.message.value = ""
        self.previous.disabled = len(self._tokens) <= 1
        self.next.disabled = self._following is None
        more = " (more on the next pages)" if self._following else ""
        self.page_label.value = f"<p>Page {self.page_number}: {views.count(len(self.page), 'object')}{more}</p>"
        with self.listing:
            display(self._listing())
        keys = list(self.page["key"]) if not self.page.empty else []
        self.file.options = keys
        if keys:
            self.file.value = keys[0]  # shows it (observer); set again when it already was
            if self.shown is None or self.shown.key != keys[0]:
                self.show(keys[0])
        else:
            self.shown, self.status.value = None, ""
            self.viewer.clear_output()

    def _listing(self) -> Styler | views.Html:
        frame = self.page[[c for c in LISTING_COLUMNS if c in self.page.columns]].rename(columns=LISTING_COLUMNS)
        styled = views.table(frame, NO_FILES.format(prefix=self.prefix.value))
        if isinstance(styled, views.Html):
            return styled
        return styled.map(lambda s: f"color: {STATUS_COLOURS.get(s, MUTED)}; font-weight: 600", subset=["Status"])

    def show(self, key: str) -> None:
        """Load the raw object ``key`` and show its ledger entry, its rejects with reasons and its content."""
        self.viewer.clear_output()
        try:
            self.shown = self._load_file(key)
        except Exception as error:
            self.shown = None
            self.status.value = error_html(f"Could not read {key}: {error!r}")
            return
        self.status.value = f"<p><b>{html.escape(key)}</b></p>{views.file_status(self.shown.ledger).html}"
        with self.viewer:
            for part in self._parts():
                display(part)

    def _parts(self) -> list[Any]:
        """What the viewer shows of ``shown``: why it was unreadable, or its rejects and its content."""
        raw = self.shown
        if raw.unparseable:
            return [views.message(f"The file could not be read at all: {raw.unparseable}", "error")]
        rejects = views.table(
            raw.rejects, "No record of this file was rejected.", caption="Rejected records and their reasons"
        )
        rounded = [name for name in ROUNDED_COLUMNS.values() if (raw.content[name] != "").any()]
        content = raw.content.drop(columns=[name for name in ROUNDED_COLUMNS.values() if name not in rounded])
        content = content.rename(columns=CONTENT_COLUMNS)
        caption = f"Content: {views.count(raw.records, 'record')}"
        if raw.records > len(raw.content):
            caption += f", the first {len(raw.content):,} shown"
        marks = [
            views.count(int((raw.content[column] != "").sum()), noun) + how
            for column, noun, how in (
                ("flagged", "flagged reading", " in red"),
                ("rejected", "rejected record", " struck out"),
            )
            if (raw.content[column] != "").any()
        ]
        if marks:
            caption += f" ({', '.join(marks)})"
        if rounded:
            caption += ROUNDED_NOTE
        shown = views.table(content, "The file holds no records.", caption=caption, text_columns=list(content.columns))
        if isinstance(shown, Styler):
            shown = shown.apply(lambda row: [_row_style(row)] * len(row), axis=1).set_properties(
                subset=["timestamp"], **{"white-space": "nowrap"}
            )
            labels = [CONTENT_COLUMNS[name] for name in rounded]
            shown = shown.map(lambda value: ROUNDED_CELL_STYLE if value else "", subset=labels)
        return [rejects, shown]

    def _on_day(self, change: dict[str, Any]) -> None:
        if change["new"] is not None:
            self.prefix.value = self._day_prefix(change["new"])  # lists the first page (observer)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        parts = [self.page_label.value, self.message.value, html_of(self._listing()), self.status.value]
        if self.shown is not None:
            parts += [html_of(part) for part in self._parts()]
        return with_static(super()._repr_mimebundle_(**kwargs), "".join(parts))


def browser(
    list_page: PageLoader, load_file: Callable[[str], Any], prefix: str, day_prefix: Callable[[date], str]
) -> FileBrowser:
    """Browse the raw objects: a page of them with their ledger entries, and the content of the one picked.

    Parameters
    ----------
    list_page : callable ``(prefix, token) -> (DataFrame, next_token)``
        One page of objects under ``prefix`` with their ledger rows (e.g.
        ``partial(frames.raw_files, settings, page_size=50)``).
    load_file : callable ``(key) -> RawFile``
        One object parsed as the pipeline parses it (e.g. ``partial(frames.raw_file, settings)``).
    prefix : str
        The prefix listed first (``settings.raw_prefix``).
    day_prefix : callable ``(date) -> str``
        The prefix of one day's objects (e.g. ``partial(frames.day_prefix, settings)``).

    Returns
    -------
    FileBrowser
        An ``ipywidgets.VBox``; its static copy (exported HTML) lists the first page and shows its first file.
    """
    return FileBrowser(list_page, load_file, prefix, day_prefix)
