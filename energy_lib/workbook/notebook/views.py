"""What the notebooks display: objects with an HTML form for notebooks and exported reports and a plain
text form for consoles (KPI strip, curated tables, check tables, one-line messages).

The data comes from :mod:`energy_lib.workbook.notebook.frames`; zones and colours from
:mod:`energy_lib.workbook.notebook.palette`, as in the charts, so a table and a chart of the same numbers agree.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import pandas as pd
from pandas.io.formats.style import Styler

from energy_lib import query
from energy_lib.config import Settings
from energy_lib.rules import SEVERITIES
from energy_lib.schema import EXPIRED
from energy_lib.timeutil import clock
from energy_lib.wording import count, freshness, moment
from energy_lib.workbook.aws import checks
from energy_lib.workbook.aws.checks import Check
from energy_lib.workbook.notebook import palette
from energy_lib.workbook.notebook.palette import FAIL_STYLE, HEALTHY, MUTED, NEUTRAL, PASS_STYLE, UNHEALTHY, WARNING

Moment = datetime | str | None

SITE_TABLE_COLUMNS = {  # energies and efficiency of valid readings; the flagged ones' beside them
    "site_id": "Site",
    "energy_generated_kwh": "Generated [kWh]",
    "energy_consumed_kwh": "Consumed [kWh]",
    "net_energy_kwh": "Net [kWh]",
    "efficiency_pct": "Efficiency [%]",
    "valid_readings": "Valid readings",
    "anomalies": "Flagged readings",
    "flagged_by_severity": "Flagged by severity",
    "flagged_energy_generated_kwh": "Flagged generated [kWh]",
    "flagged_energy_consumed_kwh": "Flagged consumed [kWh]",
    "anomaly_rate_pct": "Anomaly rate [%]",
}
FLEET_ROW = "Fleet"  # label of the totals row of the site table
_TEXT_CELL = {"text-align": "left", "white-space": "pre-wrap", "overflow-wrap": "break-word"}  # wrap, never cut


@dataclass(frozen=True, slots=True)
class Html:
    """Something to display: ``html`` in notebooks and exported reports, ``text`` in a console."""

    html: str
    text: str

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return self.text

    def __str__(self) -> str:
        return self.text


def _moment(value: Moment) -> datetime:
    moment = query.utc(value)
    if moment is None:
        raise ValueError("a moment is needed, got nothing")
    return moment


def period_text(start: Moment, end: Moment) -> str:
    """``[start, end)`` for people: ``"2025-06-11 00:00 → 2025-06-12 00:00 UTC"``."""
    return f"{clock(_moment(start))} → {clock(_moment(end))} UTC"


def _duration(start: Moment, end: Moment) -> str:
    hours = (_moment(end) - _moment(start)).total_seconds() / 3600
    if hours >= 48 and hours % 24 == 0:
        return f"{hours / 24:g} days"
    return f"{hours:g} h"


def message(text: str, tone: str = "info") -> Html:
    """A short message in a box: ``tone`` is ``"info"`` (grey), ``"warning"`` (amber) or ``"error"`` (red)."""
    border = {"info": NEUTRAL, "warning": palette.ZONE_COLOURS[palette.ZONE_FAIR], "error": UNHEALTHY}[tone]
    return Html(
        f'<div style="border-left:4px solid {border};background:#f7f7f7;padding:6px 12px;margin:4px 0">'
        f"{html.escape(text)}</div>",
        text,
    )


def connection(settings: Settings) -> Html:
    """One line saying where the notebook works: target, region, bucket and endpoint."""
    parts = {
        "target": settings.target,
        "region": settings.region,
        "bucket": settings.bucket,
        "endpoint": settings.endpoint or "AWS default",
    }
    items = " · ".join(f"{name} <code>{html.escape(str(value))}</code>" for name, value in parts.items())
    return Html(
        f'<p style="color:{MUTED};margin:0">Connected: {items}</p>',
        "Connected: " + " · ".join(f"{name} {value}" for name, value in parts.items()),
    )


def exact_text(value: Any) -> str:
    """A number as plain decimal text with every digit it has and no exponent: ``17592.934``, ``94.04``, ``5``."""
    number = value if isinstance(value, int | Decimal) else Decimal(repr(float(value)))
    return f"{Decimal(number):f}"


def _kwh(value: Any) -> tuple[str, str]:
    """(shown to 0.1 kWh, exact for machines) of an energy [kWh]: ``("17,592.9", "17592.934")``."""
    shown = Decimal(exact_text(value)).quantize(Decimal("0.1"))
    return f"{shown:,f}", exact_text(value)


@dataclass(frozen=True, slots=True)
class Kpi:
    """One figure of the KPI strip: ``label`` (unit in brackets), ``text`` as shown, ``value`` for machines
    (exact), ``figure`` the name it is recorded under in the run history (see :meth:`Kpis.figures`)."""

    label: str
    text: str
    value: str = ""
    note: str = ""
    accent: str = NEUTRAL
    figure: str = ""

    def html(self) -> str:
        shown = html.escape(self.text)
        if self.value:
            shown = f'<data value="{html.escape(self.value)}">{shown}</data>'
        return (
            f'<div style="border:1px solid #e0e0e0;border-left:6px solid {self.accent};border-radius:4px;'
            'padding:6px 12px;min-width:110px">'
            f'<div style="font-size:0.85em;color:{MUTED}">{html.escape(self.label)}</div>'
            f'<div style="font-size:1.5em;font-weight:600;white-space:nowrap">{shown}</div>'
            f'<div style="font-size:0.8em;color:{MUTED};max-width:16em">{html.escape(self.note) or "&nbsp;"}</div>'
            "</div>"
        )


@dataclass(frozen=True, slots=True)
class Kpis:
    """The business report's header: the period, its KPIs, or a message when it holds no readings."""

    period: str
    duration: str
    items: tuple[Kpi, ...]
    empty_message: str = ""
    freshness: str = ""  # the moment the figures are exact to, and what came from after the rollups

    def as_dict(self) -> dict[str, str]:
        """KPI label -> text as shown."""
        return {item.label: item.text for item in self.items}

    def figures(self) -> dict[str, float | None]:
        """Figure name -> the exact value of each KPI that has one (None where it is not defined), for
        :func:`energy_lib.workbook.reports.figures.record_all`: the history keeps what the strip shows."""
        return {item.figure: float(item.value) if item.value else None for item in self.items if item.figure}

    def _repr_html_(self) -> str:
        notice = message(self.empty_message, "warning").html if self.empty_message else ""
        cards = "".join(item.html() for item in self.items)
        return (
            '<div class="energy-kpis">'
            f'<div style="font-size:1.35em;font-weight:600;margin:0.2em 0 0.5em">{html.escape(self.period)} '
            f'<span style="font-size:0.75em;font-weight:normal;color:{MUTED}">'
            f"({html.escape(self.duration)})</span></div>"
            f'<p class="energy-freshness" style="color:{MUTED};margin:0 0 0.4em">{html.escape(self.freshness)}</p>'
            f"{notice}"
            f'<div style="display:flex;flex-wrap:wrap;gap:10px;margin:0.5em 0">{cards}</div>'
            "</div>"
        )

    def __repr__(self) -> str:
        lines = [f"{self.period} ({self.duration})", self.freshness]
        if self.empty_message:
            lines.append(self.empty_message)
        lines += [f"{item.label}: {item.text}{f' ({item.note})' if item.note else ''}" for item in self.items]
        return "\n".join(lines)


def resource_status(row: dict[str, Any]) -> str:
    """A health row's status (rows without one, as older callers build them, go by ``healthy``)."""
    return row.get("status") or ("healthy" if row["healthy"] else "unhealthy")


def health_verdict(health: list[dict[str, Any]]) -> tuple[str, str, str]:
    """(headline, note, accent colour) of :func:`energy_lib.workbook.aws.ops.health`: ``"7/8"``, ``"degraded:
    energy-workbook-ingest-dlq (1 message that failed every delivery: ...)"``, amber.

    Healthy resources are counted; an unhealthy one makes the verdict red, a degraded one (a dead-letter
    queue that holds messages) amber, each named with its detail.
    """
    by_status = {
        status: [row for row in health if resource_status(row) == status] for status in ("unhealthy", "degraded")
    }
    good = len(health) - sum(len(rows) for rows in by_status.values())
    notes = [
        f"{status}: " + "; ".join(f"{row['resource']} ({row['detail']})" for row in rows)
        for status, rows in by_status.items()
        if rows
    ]
    accent = UNHEALTHY if by_status["unhealthy"] else WARNING if by_status["degraded"] else HEALTHY
    return f"{good}/{len(health)}", " · ".join(notes) or "resources healthy", accent


def _health_kpi(health: list[dict[str, Any]]) -> Kpi:
    headline, note, accent = health_verdict(health)
    return Kpi("System health", headline, note=note, accent=accent)


def kpis(fleet: dict[str, Any], health: list[dict[str, Any]], start: Moment, end: Moment) -> Kpis:
    """The KPI strip of the business report for ``[start, end)``.

    Parameters
    ----------
    fleet : dict
        Fleet totals from :func:`energy_lib.workbook.notebook.frames.summary` (``sites``, ``readings``, energies
        [kWh], ``efficiency_pct``, ``anomalies``, ``anomaly_rate_pct``; ``complete_through``,
        ``rolled_up_through``, ``readings_after_rollups``).
    health : list of dict
        :func:`energy_lib.workbook.aws.ops.health` rows (``resource``, ``healthy``, ``detail``).
    start, end : datetime or ISO-8601 str
        The period, end exclusive.

    Returns
    -------
    Kpis
        Sites, readings (valid and flagged in the note), generated / consumed / net [kWh] of valid readings to
        0.1 with thousands separators, efficiency [%] of valid readings coloured by zone, the flagged readings'
        generated energy beside them (their number by severity and consumed energy in the note), anomaly
        rate [%] and system health; under the period, the moment the figures are exact to and how many readings
        came from after the rollups (:func:`energy_lib.wording.freshness`). A period without readings gets one
        message, "No readings between … and … as of …", and the system health only.
    """
    first, last = _moment(start), _moment(end)
    period, duration = period_text(first, last), _duration(first, last)
    if not fleet.get("readings"):
        empty = (
            f"No readings between {clock(first)} and {clock(last)} UTC as of {moment(fleet['complete_through'])} "
            "UTC: nothing to report for this period."
        )
        return Kpis(period, duration, (_health_kpi(health),), empty)
    efficiency = fleet["efficiency_pct"]
    zone = palette.efficiency_zone(efficiency)
    rate = fleet["anomaly_rate_pct"]
    valid = f"{fleet['readings'] - fleet['anomalies']:,} valid, {fleet['anomalies']:,} flagged"
    items = (
        Kpi("Sites", f"{fleet['sites']:,}", str(fleet["sites"]), figure="fleet_sites"),
        Kpi("Readings", f"{fleet['readings']:,}", str(fleet["readings"]), note=valid, figure="fleet_readings"),
        *[
            Kpi(label, *_kwh(fleet[name]), note="valid readings", figure=f"fleet_{name}")
            for label, name in (
                ("Generated [kWh]", "energy_generated_kwh"),
                ("Consumed [kWh]", "energy_consumed_kwh"),
                ("Net [kWh]", "net_energy_kwh"),
            )
        ],
        Kpi(
            "Efficiency",
            palette.efficiency_text(efficiency, 1),
            "" if efficiency is None else exact_text(efficiency),
            note=f"valid readings; {palette.ZONE_WORDS[zone]}",
            accent=palette.ZONE_COLOURS[zone],
            figure="fleet_efficiency_pct",
        ),
        _flagged_kpi(fleet),
        Kpi(
            "Anomaly rate",
            "n/a" if rate is None else f"{rate:.2f} %",
            "" if rate is None else exact_text(rate),
            note=count(fleet["anomalies"], "anomaly", "anomalies"),
            figure="fleet_anomaly_rate_pct",
        ),
        _health_kpi(health),
    )
    return Kpis(period, duration, items, freshness=freshness(fleet, fleet["complete_through"]))


def _flagged_by_severity(row: Any) -> list[tuple[str, int]]:
    """The severities a summary row has flagged readings of, with their counts, the highest first."""
    counts = [(severity, int(row.get(f"anomalies_{severity.lower()}") or 0)) for severity in reversed(SEVERITIES)]
    return [(severity, n) for severity, n in counts if n]


def by_severity(row: Any) -> str:
    """The flagged readings of a summary row by severity, the highest first: ``"CRITICAL 1 · MEDIUM 2"``; ""
    when none."""
    return " · ".join(f"{severity} {n:,}" for severity, n in _flagged_by_severity(row))


def _flagged_kpi(fleet: dict[str, Any]) -> Kpi:
    """Energy of the flagged readings, left out of every total and shown beside them, with their severities; in
    the colour of the highest severity among them."""
    consumed = _kwh(fleet["flagged_energy_consumed_kwh"])[0]
    readings = by_severity(fleet) or "no flagged readings"
    present = _flagged_by_severity(fleet)
    return Kpi(
        "Flagged generated [kWh]",
        *_kwh(fleet["flagged_energy_generated_kwh"]),
        note=f"{readings}; consumed {consumed} kWh; not in the totals",
        accent=palette.SEVERITY_COLOURS[present[0][0]] if present else NEUTRAL,
        figure="fleet_flagged_energy_generated_kwh",
    )


def base_style(styler: Styler, text_columns: list[str]) -> Styler:
    """The workbook's table look: no index, caption left above the table, ``text_columns`` left-aligned and
    wrapped (never cut off) with their headers aligned alike."""
    styler = styler.hide(axis="index").set_table_styles(
        [{"selector": "caption", "props": "caption-side: top; text-align: left; font-weight: bold; padding: 4px 0"}],
        overwrite=False,
    )
    text = [column for column in text_columns if column in styler.data.columns]
    if text:
        styler = styler.set_properties(subset=text, **_TEXT_CELL)
        positions = [styler.data.columns.get_loc(column) for column in text]
        styler = styler.set_table_styles(
            [{"selector": f"th.col_heading.col{i}", "props": "text-align: left"} for i in positions], overwrite=False
        )
    return styler


def _zone_css(efficiency_pct: Any) -> str:
    zone = palette.efficiency_zone(efficiency_pct)
    return f"background-color: {palette.ZONE_COLOURS[zone]}; color: {palette.ZONE_TEXT_COLOURS[zone]}; font-weight: 600"


def site_table(per_site: pd.DataFrame, fleet: dict[str, Any] | None = None, caption: str = "") -> Styler | None:
    """The per-site table of the business report; None (nothing displayed) when there are no sites.

    Parameters
    ----------
    per_site : DataFrame
        :func:`energy_lib.workbook.notebook.frames.summary`'s per-site frame.
    fleet : dict, optional
        Fleet totals from :func:`energy_lib.workbook.notebook.frames.summary`; adds a bold ``Fleet`` row at the bottom.
    caption : str
        Shown above the table.

    Returns
    -------
    Styler or None
        Site; generated / consumed / net [kWh] of valid readings to 0.1 with thousands separators; their
        efficiency [%] on the colour of its zone (as :func:`energy_lib.workbook.notebook.charts.efficiency_zones`);
        valid readings; beside them the flagged readings, by severity, and their generated and consumed energy
        [kWh]; anomaly rate [%]. No index; ``.data`` is the table as a DataFrame.
    """
    if per_site is None or per_site.empty:
        return None
    rows = [*per_site.to_dict("records"), *([fleet | {"site_id": FLEET_ROW}] if fleet is not None else [])]
    for row in rows:
        row["flagged_by_severity"] = by_severity(row)
    frame = pd.DataFrame(rows, columns=list(SITE_TABLE_COLUMNS)).rename(columns=SITE_TABLE_COLUMNS)
    for column in ("Valid readings", "Flagged readings"):
        frame[column] = frame[column].astype(int)
    energies = [label for name, label in SITE_TABLE_COLUMNS.items() if name.endswith("_kwh")]
    for column in (*energies, "Efficiency [%]", "Anomaly rate [%]"):
        frame[column] = pd.to_numeric(frame[column].map(lambda v: None if v is None else float(v)))
    styler = frame.style.format(
        {
            **dict.fromkeys(energies, "{:,.1f}"),
            "Efficiency [%]": lambda pct: palette.efficiency_text(pct, 1).removesuffix(" %"),
            "Valid readings": "{:,}",
            "Flagged readings": "{:,}",
            "Anomaly rate [%]": "{:.2f}",
        },
        na_rep="n/a",
    ).map(_zone_css, subset=["Efficiency [%]"])
    if fleet is not None:
        styler = styler.set_properties(
            subset=pd.IndexSlice[[len(frame) - 1], :], **{"font-weight": "bold", "border-top": "2px solid #555"}
        )
    styler = base_style(styler, ["Site", "Flagged by severity"]).set_properties(  # severities on one line
        subset=["Flagged by severity"], **{"white-space": "nowrap"}
    )
    return styler.set_caption(html.escape(caption)) if caption else styler


def table(frame: pd.DataFrame, empty: str, caption: str = "", text_columns: list[str] | None = None) -> Styler | Html:
    """``frame`` without its index, text wrapped instead of cut; or the message ``empty`` when it has no rows.

    Numbers get thousands separators; float columns of whole numbers show no decimals, others three.
    ``text_columns`` (default: every column holding strings) are left-aligned and wrap.
    """
    if frame is None or frame.empty:
        return message(empty)
    frame = frame.reset_index(drop=True)
    if text_columns is None:
        text_columns = [c for c in frame.columns if frame[c].map(lambda v: isinstance(v, str)).any()]
    whole = [column for column in frame.select_dtypes("float").columns if (frame[column].dropna() % 1 == 0).all()]
    styler = frame.style.format(precision=3, thousands=",", na_rep="")
    if whole:
        styler = styler.format("{:,.0f}", subset=whole, na_rep="")
    styler = base_style(styler, text_columns)
    return styler.set_caption(html.escape(caption)) if caption else styler


def file_status(ledger: dict[str, Any]) -> Html:
    """A raw object's ledger entry as one line: its status in the status colour, what it held and what became
    of it (and how many readings were stored rounded, when any were), and the error of a failed or rejected
    object; for an object older than the ledger keeps (``expired``), the counts
    :func:`energy_lib.workbook.notebook.frames.raw_file` found in the file and the lake."""
    status = str(ledger.get("status", "pending"))
    colour = palette.STATUS_COLOURS.get(status, MUTED)
    stored = "in the lake from this file" if status == EXPIRED else "stored"
    counts = (
        f"{count(ledger.get('read', 0), 'record')} read, {ledger.get('stored', 0):,} {stored}, "
        f"{ledger.get('quarantined', 0):,} quarantined, {count(ledger.get('anomalies', 0), 'anomaly', 'anomalies')}"
    )
    if ledger.get("rounded"):
        counts += f", {count(ledger['rounded'], 'reading')} rounded to 9 decimals"
    if status == EXPIRED:
        counts += (
            " (the ledger keeps a file's outcome for the hot window; these counts come from the file and the lake)"
        )
    error = f" · {ledger['error']}" if ledger.get("error") else ""
    return Html(
        f'<p><b style="color:{colour}">{html.escape(status)}</b> · {html.escape(counts)}{html.escape(error)}</p>',
        f"{status} · {counts}{error}",
    )


def run_statistics_line(statistics: dict[str, int], injected_anomalies: int | None = None) -> Html:
    """:func:`energy_lib.workbook.notebook.frames.run_statistics` as one sentence, with the anomalies the simulator
    injected when given."""
    s = statistics
    text = (
        f"{s['processed']:,} of {count(s['files'], 'file')} processed: {count(s['read'], 'reading')} read, "
        f"{s['stored']:,} stored, {s['quarantined']:,} quarantined, {count(s['anomalies'], 'anomaly', 'anomalies')} "
        "found"
    )
    if injected_anomalies is not None:
        text += f" ({injected_anomalies:,} injected)"
    return Html(f"<p><b>{html.escape(text)}.</b></p>", text)


def settled_line(files_by_status: dict[str, int]) -> Html:
    """What :func:`energy_lib.workbook.aws.ops.wait` returned, as one sentence: objects under raw/ per status."""
    total = sum(files_by_status.values())
    counts = ", ".join(f"{count:,} {status}" for status, count in files_by_status.items()) or "none"
    every, have = ("The", "has") if total == 1 else ("All", "have")
    return message(
        f"{every} {count(total, 'object')} under raw/ {have} a final status ({counts}); the ingest queue is empty."
    )


def check_table(results: list[Check]) -> Styler:
    """The checks as a table, failed ones first: Result (PASS on green, FAIL on red), Resource, Setting,
    Expected, Actual, with the full text of every value (wrapped, never cut); the verdict is the caption.

    ``.data`` of the returned Styler is the same table as a DataFrame.
    """
    frame = pd.DataFrame(
        [
            {
                "Result": "PASS" if check.passed else "FAIL",
                "Resource": check.resource,
                "Setting": check.setting,
                "Expected": check.expected,
                "Actual": check.actual,
            }
            for check in results
        ],
        columns=["Result", "Resource", "Setting", "Expected", "Actual"],
    )
    frame = frame.sort_values("Result", key=lambda result: result != "FAIL", kind="stable", ignore_index=True)
    failed = (frame["Result"] == "FAIL").any()
    caption = f"color: {UNHEALTHY if failed else 'inherit'}; caption-side: top; text-align: left; font-weight: bold"
    return (
        frame.style.hide(axis="index")
        .map(lambda result: FAIL_STYLE if result == "FAIL" else PASS_STYLE, subset=["Result"])
        .set_properties(subset=["Resource", "Setting"], **{"text-align": "left", "white-space": "nowrap"})
        .set_properties(
            subset=["Expected", "Actual"],
            **{"text-align": "left", "white-space": "pre-wrap", "overflow-wrap": "break-word", "min-width": "12em"},
        )
        .set_table_styles([{"selector": "th", "props": "text-align: left"}, {"selector": "caption", "props": caption}])
        .set_caption(checks.verdict(results))
    )
