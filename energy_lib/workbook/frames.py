"""energy_lib.query as pandas DataFrames, with the column names and units the charts expect, and the
tables and one-line summaries the notebooks display.

Energies become float columns [kWh] (they are exact Decimals in DynamoDB and in energy_lib.query),
timestamps timezone-aware UTC. What is displayed (:func:`kpis`, :func:`site_table`, :func:`table`, ...)
is an object with an HTML form for notebooks and exported reports and a plain-text form for consoles.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import unquote_plus

import pandas as pd
from pandas.io.formats.style import Styler

from energy_lib import query
from energy_lib.config import Settings
from energy_lib.storage import COUNTERS
from energy_lib.workbook import charts, ops
from energy_lib.workbook.session import aws

ENERGY_COLUMNS = ("energy_generated_kwh", "energy_consumed_kwh", "net_energy_kwh")
READING_COLUMNS = ("site_id", "timestamp", *ENERGY_COLUMNS, "anomaly", "anomaly_reasons", "severity")
SUMMARY_COLUMNS = ("site_id", *COUNTERS, "efficiency_pct", "anomaly_rate_pct")
ROLLUP_COLUMNS = ("site_id", *COUNTERS)
STATUS_COLUMNS = ("key", "etag", "status", "read", "stored", "quarantined", "anomalies", "error", "updated_at")
Moment = datetime | str | None


def _numeric(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    for column in columns:
        if column in frame:
            frame[column] = pd.to_numeric(frame[column].map(lambda v: None if v is None else float(v)))
    return frame


def readings_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(READING_COLUMNS))
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    frame["anomaly"] = frame["anomaly"].fillna(False).astype(bool)
    frame["anomaly_reasons"] = frame["anomaly_reasons"].map(lambda r: ", ".join(r) if isinstance(r, list) else "")
    frame["severity"] = frame["severity"].where(frame["anomaly"], None)
    return _numeric(frame, ENERGY_COLUMNS).sort_values(["timestamp", "site_id"], ignore_index=True)


def readings(settings: Settings, site_id: str, start: Moment = None, end: Moment = None) -> pd.DataFrame:
    """Readings of one site in ``[start, end)``."""
    return readings_frame(query.readings(settings, aws(settings, "dynamodb"), site_id, start, end))


def fleet_readings(settings: Settings, start: Moment, end: Moment) -> pd.DataFrame:
    """Readings of every site in ``[start, end)``."""
    return readings_frame(query.fleet_readings(settings, aws(settings, "dynamodb"), start, end))


def anomalies(settings: Settings, site_id: str | None = None, start: Moment = None, end: Moment = None) -> pd.DataFrame:
    """Anomalous readings of one site, or of all sites in ``[start, end)``."""
    return readings_frame(query.anomalies(settings, aws(settings, "dynamodb"), site_id, start, end))


def summary(settings: Settings, start: Moment = None, end: Moment = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """(one row per site, fleet totals) from rollups; no range means all time."""
    result = query.summary(settings, aws(settings, "dynamodb"), start, end)
    per_site = _numeric(
        pd.DataFrame(result["sites"], columns=list(SUMMARY_COLUMNS)),
        (*ENERGY_COLUMNS, "efficiency_pct", "anomaly_rate_pct"),
    )
    fleet = {k: (float(v) if v is not None and not isinstance(v, int) else v) for k, v in result["fleet"].items()}
    return per_site, fleet


def _periods(settings: Settings, buckets: list[str], column: str) -> pd.DataFrame:
    rows = query.rollups(settings, aws(settings, "dynamodb"), buckets)
    frame = pd.DataFrame(rows, columns=["bucket", *ROLLUP_COLUMNS])
    frame = frame[frame["readings"].fillna(0).astype(float) > 0].copy()
    frame[column] = pd.to_datetime(frame["bucket"].str[2:], utc=True, format="ISO8601")
    for name in COUNTERS:
        if not name.endswith("_kwh"):
            frame[name] = frame[name].fillna(0).astype(int)
    frame = _numeric(frame.drop(columns="bucket"), ENERGY_COLUMNS)
    return frame[["site_id", column, *COUNTERS]].sort_values([column, "site_id"], ignore_index=True)


def hourly(settings: Settings, start: Moment, end: Moment) -> pd.DataFrame:
    """Per site and UTC hour in ``[start, end)``: energies, readings and anomalies, from hour rollups."""
    first, last = query.bounded_range(start, end)
    hours = pd.date_range(first.replace(minute=0, second=0), last, freq="h", inclusive="left")
    return _periods(settings, [f"H#{h:%Y-%m-%dT%H}" for h in hours], "hour_start")


def daily(settings: Settings, start: Moment, end: Moment) -> pd.DataFrame:
    """Per site and UTC day touched by ``[start, end)``, from day rollups."""
    return _periods(settings, [f"D#{day}" for day in query.days(*query.bounded_range(start, end))], "day_start")


def sites(settings: Settings) -> list[str]:
    return query.sites(settings, aws(settings, "dynamodb"))


def ingest_status(settings: Settings) -> pd.DataFrame:
    """One row per object under raw/ with its ledger status and counts."""
    rows = query.ingest_status(settings, aws(settings, "s3"), aws(settings, "dynamodb"))
    return pd.DataFrame(rows, columns=list(STATUS_COLUMNS))


def ledger_errors(settings: Settings) -> pd.DataFrame:
    """Ledger entries in status ``failed`` or ``rejected``, newest first."""
    rows = []
    for status in ("failed", "rejected"):
        rows += query.ledger_entries(settings, aws(settings, "dynamodb"), status)
    frame = pd.DataFrame(rows, columns=["source_key", "etag", "status", "error", "updated_at", "attempts"])
    return frame.sort_values("updated_at", ascending=False, ignore_index=True)


def files(settings: Settings, prefix: str | None = None) -> pd.DataFrame:
    return pd.DataFrame(
        query.files(settings, aws(settings, "s3"), prefix), columns=["key", "size_bytes", "etag", "last_modified"]
    )


def run_statistics(status: pd.DataFrame, keys: list[str]) -> dict[str, int]:
    """Files, readings read, stored, quarantined and anomalies over the ledger rows of ``keys``."""
    rows = status[status["key"].isin(keys)]
    totals = {name: int(rows[name].sum()) for name in ("read", "stored", "quarantined", "anomalies")}
    return {"files": len(rows), "processed": int((rows["status"] == "processed").sum()), **totals}


def site_choices(sites: list[str], first: str = "") -> list[str]:
    """``sites`` with ``first`` in front (when given); empty when there are no sites and no ``first``.

    An empty list is honest: the explorer then says that no site has readings and draws nothing.
    """
    return [first, *(site for site in sites if site != first)] if first else list(sites)


# --------------------------------------------------------------------------------------------- display

MUTED = "#616161"  # secondary text
NEUTRAL = "#bdbdbd"  # accent of a KPI that is neither good nor bad
HEALTHY, UNHEALTHY = "#2ca02c", "#d62728"
SITE_TABLE_COLUMNS = {
    "site_id": "Site",
    "energy_generated_kwh": "Generated [kWh]",
    "energy_consumed_kwh": "Consumed [kWh]",
    "net_energy_kwh": "Net [kWh]",
    "efficiency_pct": "Efficiency [%]",
    "readings": "Readings",
    "anomalies": "Anomalies",
    "anomaly_rate_pct": "Anomaly rate [%]",
}
FLEET_ROW = "Fleet"  # label of the totals row of the site table
_ZONE_TEXT = {
    charts.ZONE_GOOD: "white",
    charts.ZONE_FAIR: "black",
    charts.ZONE_POOR: "white",
    charts.ZONE_NONE: "black",
}
_ZONE_WORDS = {
    charts.ZONE_GOOD: "zone: 120 % or more",
    charts.ZONE_FAIR: "zone: 100 to 120 %",
    charts.ZONE_POOR: "zone: below 100 %",
    charts.ZONE_NONE: "nothing consumed",
}
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


def count(n: int, noun: str, plural: str = "") -> str:
    """``n`` and ``noun``, in the plural (``plural``, default ``noun + "s"``) unless ``n`` is 1.

    ``count(1, "message")`` is ``"1 message"``; ``count(1440, "anomaly", "anomalies")`` is ``"1,440 anomalies"``.
    """
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"


def _moment(value: Moment) -> datetime:
    moment = query.utc(value)
    if moment is None:
        raise ValueError("a moment is needed, got nothing")
    return moment


def _clock(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S" if moment.second else "%Y-%m-%d %H:%M")


def period_text(start: Moment, end: Moment) -> str:
    """``[start, end)`` for people: ``"2025-06-11 00:00 → 2025-06-12 00:00 UTC"``."""
    return f"{_clock(_moment(start))} → {_clock(_moment(end))} UTC"


def _duration(start: Moment, end: Moment) -> str:
    hours = (_moment(end) - _moment(start)).total_seconds() / 3600
    if hours >= 48 and hours % 24 == 0:
        return f"{hours / 24:g} days"
    return f"{hours:g} h"


def message(text: str, tone: str = "info") -> Html:
    """A short message in a box: ``tone`` is ``"info"`` (grey), ``"warning"`` (amber) or ``"error"`` (red)."""
    border = {"info": NEUTRAL, "warning": charts.ZONE_COLOURS[charts.ZONE_FAIR], "error": UNHEALTHY}[tone]
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


def _kwh(value: Any) -> tuple[str, str]:
    """(shown, machine-readable) of an energy [kWh] to 0.1 kWh: ``("17,592.9", "17592.9")``."""
    exact = Decimal(str(value)).quantize(Decimal("0.1"))
    return f"{exact:,f}", f"{exact:f}"


@dataclass(frozen=True, slots=True)
class Kpi:
    """One figure of the KPI strip: ``label`` (unit in brackets), ``text`` as shown, ``value`` for machines."""

    label: str
    text: str
    value: str = ""
    note: str = ""
    accent: str = NEUTRAL

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

    def as_dict(self) -> dict[str, str]:
        """KPI label -> text as shown."""
        return {item.label: item.text for item in self.items}

    def _repr_html_(self) -> str:
        notice = message(self.empty_message, "warning").html if self.empty_message else ""
        cards = "".join(item.html() for item in self.items)
        return (
            '<div class="energy-kpis">'
            f'<div style="font-size:1.35em;font-weight:600;margin:0.2em 0 0.5em">{html.escape(self.period)} '
            f'<span style="font-size:0.75em;font-weight:normal;color:{MUTED}">'
            f"({html.escape(self.duration)})</span></div>"
            f"{notice}"
            f'<div style="display:flex;flex-wrap:wrap;gap:10px;margin:0.5em 0">{cards}</div>'
            "</div>"
        )

    def __repr__(self) -> str:
        lines = [f"{self.period} ({self.duration})"]
        if self.empty_message:
            lines.append(self.empty_message)
        lines += [f"{item.label}: {item.text}{f' ({item.note})' if item.note else ''}" for item in self.items]
        return "\n".join(lines)


def _health_kpi(health: list[dict[str, Any]]) -> Kpi:
    failing = [row["resource"] for row in health if not row["healthy"]]
    note = "resources healthy" if not failing else "failing: " + ", ".join(failing)
    return Kpi(
        "System health",
        f"{len(health) - len(failing)}/{len(health)}",
        note=note,
        accent=UNHEALTHY if failing else HEALTHY,
    )


def kpis(fleet: dict[str, Any], health: list[dict[str, Any]], start: Moment, end: Moment) -> Kpis:
    """The KPI strip of the business report for ``[start, end)``.

    Parameters
    ----------
    fleet : dict
        Fleet totals from :func:`summary` (``sites``, ``readings``, energies [kWh], ``efficiency_pct``,
        ``anomalies``, ``anomaly_rate_pct``).
    health : list of dict
        :func:`energy_lib.workbook.ops.health` rows (``resource``, ``healthy``, ``detail``).
    start, end : datetime or ISO-8601 str
        The period, end exclusive.

    Returns
    -------
    Kpis
        Sites, readings, generated / consumed / net [kWh] to 0.1 with thousands separators, efficiency [%]
        coloured by zone, anomaly rate [%] and system health. A period without readings gets one message,
        "No readings between … and …", and the system health only.
    """
    first, last = _moment(start), _moment(end)
    period, duration = period_text(first, last), _duration(first, last)
    if not fleet.get("readings"):
        empty = f"No readings between {_clock(first)} and {_clock(last)} UTC: nothing to report for this period."
        return Kpis(period, duration, (_health_kpi(health),), empty)
    efficiency = fleet["efficiency_pct"]
    zone = charts.efficiency_zone(efficiency)
    energies = [
        Kpi(label, *_kwh(fleet[name]))
        for label, name in (
            ("Generated [kWh]", "energy_generated_kwh"),
            ("Consumed [kWh]", "energy_consumed_kwh"),
            ("Net [kWh]", "net_energy_kwh"),
        )
    ]
    rate = fleet["anomaly_rate_pct"]
    items = (
        Kpi("Sites", f"{fleet['sites']:,}", str(fleet["sites"])),
        Kpi("Readings", f"{fleet['readings']:,}", str(fleet["readings"])),
        *energies,
        Kpi(
            "Efficiency",
            charts.efficiency_text(efficiency, 1),
            "" if efficiency is None else f"{efficiency:g}",
            note=_ZONE_WORDS[zone],
            accent=charts.ZONE_COLOURS[zone],
        ),
        Kpi(
            "Anomaly rate",
            "n/a" if rate is None else f"{rate:.2f} %",
            "" if rate is None else f"{rate:g}",
            note=count(fleet["anomalies"], "anomaly", "anomalies"),
        ),
        _health_kpi(health),
    )
    return Kpis(period, duration, items)


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
    zone = charts.efficiency_zone(efficiency_pct)
    return f"background-color: {charts.ZONE_COLOURS[zone]}; color: {_ZONE_TEXT[zone]}; font-weight: 600"


def site_table(per_site: pd.DataFrame, fleet: dict[str, Any] | None = None, caption: str = "") -> Styler | None:
    """The per-site table of the business report; None (nothing displayed) when there are no sites.

    Parameters
    ----------
    per_site : DataFrame
        :func:`summary`'s per-site frame.
    fleet : dict, optional
        Fleet totals from :func:`summary`; adds a bold ``Fleet`` row at the bottom.
    caption : str
        Shown above the table.

    Returns
    -------
    Styler or None
        Site, generated / consumed / net [kWh] to 0.1 with thousands separators, efficiency [%] on the
        colour of its zone (as :func:`energy_lib.workbook.charts.efficiency_zones`), readings, anomalies,
        anomaly rate [%]; no index. ``.data`` is the table as a DataFrame.
    """
    if per_site is None or per_site.empty:
        return None
    frame = per_site[list(SITE_TABLE_COLUMNS)]
    if fleet is not None:
        totals = {name: fleet.get(name) for name in SITE_TABLE_COLUMNS} | {"site_id": FLEET_ROW}
        frame = pd.concat([frame, pd.DataFrame([totals])])
    frame = frame.reset_index(drop=True).rename(columns=SITE_TABLE_COLUMNS)
    for column in ("Readings", "Anomalies"):
        frame[column] = frame[column].astype(int)
    for column in ("Generated [kWh]", "Consumed [kWh]", "Net [kWh]", "Efficiency [%]", "Anomaly rate [%]"):
        frame[column] = pd.to_numeric(frame[column].map(lambda v: None if v is None else float(v)))
    styler = frame.style.format(
        {
            "Generated [kWh]": "{:,.1f}",
            "Consumed [kWh]": "{:,.1f}",
            "Net [kWh]": "{:,.1f}",
            "Efficiency [%]": lambda pct: charts.efficiency_text(pct, 1).removesuffix(" %"),
            "Readings": "{:,}",
            "Anomalies": "{:,}",
            "Anomaly rate [%]": "{:.2f}",
        },
        na_rep="n/a",
    ).map(_zone_css, subset=["Efficiency [%]"])
    if fleet is not None:
        styler = styler.set_properties(
            subset=pd.IndexSlice[[len(frame) - 1], :], **{"font-weight": "bold", "border-top": "2px solid #555"}
        )
    styler = base_style(styler, ["Site"])
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


def health_table(health: list[dict[str, Any]]) -> Styler | Html:
    """:func:`energy_lib.workbook.ops.health` as Resource, Status (green ``healthy`` / red ``unhealthy``), Detail."""
    frame = pd.DataFrame(
        [
            {
                "Resource": row["resource"],
                "Status": "healthy" if row["healthy"] else "unhealthy",
                "Detail": row["detail"],
            }
            for row in health
        ],
        columns=["Resource", "Status", "Detail"],
    )
    styled = table(frame, "No resources to check.")
    if isinstance(styled, Html):
        return styled
    failing = sum(not row["healthy"] for row in health)
    verdict = f"{len(health) - failing} of {len(health)} resources healthy"
    return styled.map(
        lambda status: f"color: {HEALTHY if status == 'healthy' else UNHEALTHY}; font-weight: 600", subset=["Status"]
    ).set_caption(verdict)


QUEUE_NAMES = {"ingest_queue": "ingest queue", "dead_letter_queue": "dead-letter queue"}


def queue_line(depths: dict[str, int]) -> Html:
    """Messages waiting or in flight per queue on one line, e.g. ``ingest queue 0 · dead-letter queue 3``;
    a dead-letter queue that holds messages is shown in red."""
    parts = [(QUEUE_NAMES.get(name, name.replace("_", " ")), int(n)) for name, n in depths.items()]
    items = " · ".join(
        f'{html.escape(name)} <b style="color:{UNHEALTHY if name.startswith("dead") and n else "inherit"}">{n:,}</b>'
        for name, n in parts
    )
    text = " · ".join(f"{name} {n:,}" for name, n in parts)
    return Html(f"<p>Messages waiting or in flight: {items}</p>", f"Messages waiting or in flight: {text}")


def run_statistics_line(statistics: dict[str, int], injected_anomalies: int | None = None) -> Html:
    """:func:`run_statistics` as one sentence, with the anomalies the simulator injected when given."""
    s = statistics
    text = (
        f"{s['processed']:,} of {s['files']:,} files processed: {s['read']:,} readings read, {s['stored']:,} stored, "
        f"{s['quarantined']:,} quarantined, {s['anomalies']:,} anomalies found"
    )
    if injected_anomalies is not None:
        text += f" ({injected_anomalies:,} injected)"
    return Html(f"<p><b>{html.escape(text)}.</b></p>", text)


def settled_line(files_by_status: dict[str, int]) -> Html:
    """What :func:`energy_lib.workbook.ops.wait` returned, as one sentence: objects under raw/ per status."""
    total = sum(files_by_status.values())
    counts = ", ".join(f"{count:,} {status}" for status, count in files_by_status.items()) or "none"
    return message(f"All {total:,} objects under raw/ have a final status ({counts}); the ingest queue is empty.")


def _object_keys(body: str) -> str:
    """The S3 object keys an S3 event notification names (URL-decoded), comma separated; "" for other bodies."""
    try:
        records = json.loads(body).get("Records", [])
        return ", ".join(unquote_plus(record["s3"]["object"]["key"]) for record in records)
    except (ValueError, AttributeError, KeyError, TypeError):
        return ""


def dead_letters(settings: Settings, max_messages: int = 100) -> pd.DataFrame:
    """Messages in the dead-letter queue: ``message_id``, ``receive_count``, ``objects`` (the S3 keys an S3
    notification names) and, when some message is not an S3 notification, ``body`` (its first 200 characters)."""
    rows = []
    for row in ops.dead_letters(settings, max_messages):
        keys = _object_keys(row["body"])
        body = "" if keys else row["body"] if len(row["body"]) <= 200 else row["body"][:199] + "…"
        rows.append(
            {"message_id": row["message_id"], "receive_count": row["receive_count"], "objects": keys, "body": body}
        )
    frame = pd.DataFrame(rows, columns=["message_id", "receive_count", "objects", "body"])
    return frame if (frame["body"] != "").any() else frame.drop(columns="body")


QUARANTINE_KINDS = {"readings": "rejected readings", "files": "unparseable file"}
REASON_SUFFIX = ".reason.json"


def quarantine(settings: Settings) -> pd.DataFrame:
    """Browsable quarantine objects, oldest first: ``key``, ``kind``, ``source_key``, ``label``,
    ``size_bytes``, ``last_modified``. A file's ``.reason.json`` companion is not listed apart."""
    rows = [row for row in ops.quarantine(settings) if not row["key"].endswith(REASON_SUFFIX)]
    for row in rows:
        rest = row["key"][len(settings.quarantine_prefix) + len(row["kind"]) + 1 :]
        row["source_key"] = rest.rsplit(".", 2)[0] if row["kind"] == "readings" else rest
        row["label"] = f"{QUARANTINE_KINDS.get(row['kind'], row['kind'])}: {row['source_key']}"
    columns = ["key", "kind", "source_key", "label", "size_bytes", "last_modified"]
    return pd.DataFrame(rows, columns=columns).sort_values("last_modified", kind="stable", ignore_index=True)


def quarantined(settings: Settings, key: str) -> pd.DataFrame:
    """What one quarantine object holds: its rejected readings (``position``, ``reasons``, ``original``,
    ``source_key``), or for an unparseable file the ``reason`` it was rejected for."""
    if key.startswith(f"{settings.quarantine_prefix}files/"):
        rows = ops.quarantined_readings(settings, key + REASON_SUFFIX)  # one JSON document: one row
        return pd.DataFrame(rows, columns=["source_key", "reason", "etag", "version_id"])
    rows = ops.quarantined_readings(settings, key)
    for row in rows:
        row["reasons"] = ", ".join(row.get("reasons", []))
    return pd.DataFrame(rows, columns=["position", "reasons", "original", "source_key"])
