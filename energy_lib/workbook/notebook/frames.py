"""energy_lib.query as pandas DataFrames, with the column names and units the charts expect.

Energies become float columns [kWh] (they are exact Decimals in DynamoDB and in energy_lib.query),
timestamps timezone-aware UTC. How they are shown in notebooks and reports is :mod:`views`.

Readings and anomalies older than the hot window come from the history lake, the rest from DynamoDB
(:mod:`energy_lib.workbook.lake.stores`); the hourly totals of a long range (more than :data:`LONG_RANGE`, a
week) from the lake instead of the hour rollups. The frames have the same columns either way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd

from energy_lib import parsing, query, raw_objects, rules, tail
from energy_lib.clients import client
from energy_lib.config import Settings
from energy_lib.errors import UnparseableFile
from energy_lib.pipeline import NotAnS3Notification, notifications
from energy_lib.quarantine import rejects_prefix
from energy_lib.readings import Reading
from energy_lib.rollups import COUNTERS, ENERGY, FLAGGED_ENERGY
from energy_lib.schema import EXPIRED, PROBLEM_STATUSES
from energy_lib.timeutil import format_timestamp
from energy_lib.validation import parse_timestamp, validate
from energy_lib.workbook.aws import ops
from energy_lib.workbook.lake import stores

TOTAL_COLUMNS = (*ENERGY, *FLAGGED_ENERGY)  # rollups and summaries: valid readings' energy, and flagged apart
READING_COLUMNS = ("site_id", "timestamp", *ENERGY, "anomaly", "anomaly_reasons", "severity")
FRESHNESS_COLUMNS = ("rolled_up_through", "readings_after_rollups")  # see energy_lib.query.summary
SUMMARY_COLUMNS = ("site_id", *COUNTERS, "valid_readings", "efficiency_pct", "anomaly_rate_pct", *FRESHNESS_COLUMNS)
ROLLUP_COLUMNS = ("site_id", *COUNTERS)
Moment = datetime | str | None
LONG_RANGE = timedelta(days=7)  # longer ranges are read from the lake


def is_long(start: Moment, end: Moment) -> bool:
    """True when ``[start, end)`` is given at both ends and spans more than :data:`LONG_RANGE`."""
    if start is None or end is None:
        return False
    first, last = query.time_range(start, end)
    return last - first > LONG_RANGE


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
    return _numeric(frame, ENERGY).sort_values(["timestamp", "site_id"], ignore_index=True)


def readings(settings: Settings, site_id: str, start: Moment = None, end: Moment = None) -> pd.DataFrame:
    """Readings of one site in ``[start, end)`` (older than the hot window: from the lake)."""
    return readings_frame(stores.readings(settings, client("dynamodb", settings), site_id, start, end))


def fleet_readings(settings: Settings, start: Moment, end: Moment) -> pd.DataFrame:
    """Readings of every site in ``[start, end)`` (older than the hot window: from the lake)."""
    return readings_frame(stores.fleet_readings(settings, client("dynamodb", settings), start, end))


def anomalies(settings: Settings, site_id: str | None = None, start: Moment = None, end: Moment = None) -> pd.DataFrame:
    """Anomalous readings of one site, or of all sites in ``[start, end)`` (older than the hot window: from the
    lake)."""
    return readings_frame(stores.anomalies(settings, client("dynamodb", settings), site_id, start, end))


def summary(settings: Settings, start: Moment = None, end: Moment = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """(one row per site, fleet totals), exact when read: the rollups plus the readings stored after them (see
    :func:`energy_lib.query.summary`); no range means all time. Each row has ``rolled_up_through`` (UTC; NaT:
    nothing rolled up yet) and ``readings_after_rollups``; the fleet also ``complete_through`` (UTC datetime)."""
    result = query.summary(settings, client("dynamodb", settings), start, end)
    per_site = _numeric(
        pd.DataFrame(result["sites"], columns=list(SUMMARY_COLUMNS)),
        (*TOTAL_COLUMNS, "efficiency_pct", "anomaly_rate_pct"),
    )
    per_site["rolled_up_through"] = pd.to_datetime(per_site["rolled_up_through"], utc=True)
    fleet = {k: (float(v) if v is not None and not isinstance(v, int | str) else v) for k, v in result["fleet"].items()}
    fleet["rolled_up_through"] = query.utc(fleet["rolled_up_through"])
    fleet["complete_through"] = query.utc(result["complete_through"])
    return per_site, fleet


def _periods(settings: Settings, buckets: list[str], column: str) -> pd.DataFrame:
    rows, _ = tail.exact_rollups(settings, client("dynamodb", settings), buckets)
    frame = pd.DataFrame(rows, columns=["bucket", *ROLLUP_COLUMNS])
    frame = frame[frame["readings"].fillna(0).astype(float) > 0].copy()
    frame[column] = pd.to_datetime(frame["bucket"].str[2:], utc=True, format="ISO8601")
    for name in COUNTERS:
        if not name.endswith("_kwh"):
            frame[name] = frame[name].fillna(0).astype(int)
    frame = _numeric(frame.drop(columns="bucket"), TOTAL_COLUMNS)
    return frame[["site_id", column, *COUNTERS]].sort_values([column, "site_id"], ignore_index=True)


def hourly(settings: Settings, start: Moment, end: Moment) -> pd.DataFrame:
    """Per site and UTC hour in ``[start, end)``: energies, readings and anomalies, from hour rollups and the
    readings stored after them, exact when read (from the lake for a long range)."""
    if is_long(start, end):
        from energy_lib.workbook.lake import queries

        frame = queries.hourly(settings, start, end)
        frame = _numeric(frame[["site_id", "hour_start", *COUNTERS]].copy(), TOTAL_COLUMNS)
        return frame.astype({name: int for name in COUNTERS if not name.endswith("_kwh")})
    return _periods(settings, query.hour_buckets(start, end), "hour_start")


def sites(settings: Settings) -> list[str]:
    return query.sites(settings, client("dynamodb", settings))


def ingest_status(settings: Settings) -> pd.DataFrame:
    """One row per object under raw/ with its ledger status and counts."""
    rows = raw_objects.ingest_status(settings, client("s3", settings), client("dynamodb", settings))
    return pd.DataFrame(rows, columns=list(raw_objects.INGEST_STATUS_FIELDS))


def ledger_errors(settings: Settings) -> pd.DataFrame:
    """Ledger entries in status ``failed`` or ``rejected``, newest first."""
    rows = []
    for status in PROBLEM_STATUSES:
        rows += raw_objects.ledger_entries(settings, client("dynamodb", settings), status)
    columns = ["source_key", "version_id", "etag", "status", "error", "updated_at", "attempts"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values("updated_at", ascending=False, ignore_index=True)


def files(settings: Settings, prefix: str | None = None) -> pd.DataFrame:
    return pd.DataFrame(
        raw_objects.files(settings, client("s3", settings), prefix),
        columns=["key", "size_bytes", "etag", "last_modified"],
    )


RAW_FILE_COLUMNS = ("key", "size_bytes", "last_modified", *raw_objects.LEDGER_FIELDS, "version_id", "etag")
ROUNDED_COLUMNS = {"energy_generated_kwh": "stored_generated_kwh", "energy_consumed_kwh": "stored_consumed_kwh"}
INPUT_COLUMNS = ("site_id", "timestamp", *ROUNDED_COLUMNS)  # the fields of a record as the file wrote them
CONTENT_COLUMNS = (
    "position",
    "site_id",
    "timestamp",
    *(name for pair in ROUNDED_COLUMNS.items() for name in pair),  # as written, and as stored when rounded
    "flagged",
    "rejected",
)
MAX_CONTENT_ROWS = 2000  # records of one file shown as a table (a day of 5-minute readings is 288)


def raw_files(
    settings: Settings, prefix: str | None = None, token: str | None = None, page_size: int = 50
) -> tuple[pd.DataFrame, str | None]:
    """One page of raw objects under ``prefix`` (default ``raw/``), the newest upload first (of objects uploaded
    in the same second, the last key first: a producer that uploads in key order, as the simulator does, is
    listed in the reverse of its order), each with its ledger entry (status and counts), and the token of the next page
    (None after the last).

    S3 lists keys in key order only, so a page lists the current version of every object under the prefix
    (:func:`energy_lib.raw_objects.current_versions`: one request per 1,000 versions; a day's prefix keeps it short),
    sorts them, and reads the page's ledger entries (one BatchGetItem). The token names the last object shown,
    so an upload between two pages shifts nothing: it is on the first page.
    """
    objects = raw_objects.current_versions(settings, client("s3", settings), prefix)
    objects.sort(key=lambda row: (row["last_modified"], row["key"]), reverse=True)
    if token:
        shown = tuple(json.loads(token))
        objects = [row for row in objects if (row["last_modified"], row["key"]) < shown]
    page = objects[:page_size]
    following = json.dumps([page[-1]["last_modified"], page[-1]["key"]]) if len(objects) > page_size else None
    rows = raw_objects.with_ledger(settings, client("dynamodb", settings), page)
    return pd.DataFrame(rows, columns=list(RAW_FILE_COLUMNS)), following


def day_prefix(settings: Settings, day: date) -> str:
    """The prefix of the raw objects of one UTC day: ``raw/2025/06/11/`` (the layout producers use)."""
    return f"{settings.raw_prefix}{day:%Y/%m/%d}/"


@dataclass(frozen=True, slots=True)
class RawFile:
    """One raw object as the file viewer shows it.

    ``ledger``: its ledger row (status, read, stored, quarantined, anomalies, rounded, error); ``content``: its
    records in order (``position``, the four input fields as the file wrote them, beside each energy field
    ``stored_generated_kwh`` / ``stored_consumed_kwh``: the value stored when validation rounded it to 9
    decimals, "" otherwise; ``flagged``: the severity and reasons of a record stored as an anomaly;
    ``rejected``: the reasons of a record that was quarantined), the first ``MAX_CONTENT_ROWS``; ``records``:
    how many it holds; ``rejects``: the quarantined records (``position``, ``reasons``, ``original``);
    ``unparseable``: why the file could not be read at all ("" when it could).
    """

    key: str
    ledger: dict[str, Any]
    content: pd.DataFrame
    records: int
    rejects: pd.DataFrame
    unparseable: str = ""


def raw_file(settings: Settings, key: str, now: datetime | None = None) -> RawFile:
    """Read the raw object ``key``, parse it as the pipeline does, and join its ledger entry (at ``now``) and
    rejects. An object older than the ledger keeps its entry (``expired``) is counted from the file and the lake."""
    s3 = client("s3", settings)
    obj = raw_objects.current_version(settings, s3, key)
    [ledger] = raw_objects.with_ledger(settings, client("dynamodb", settings), [obj], now)
    rejects = _rejects(settings, key, obj["etag"])
    reasons = dict(zip(rejects["position"], rejects["reasons"], strict=True))
    rows, records, days = [], 0, set()
    try:
        with raw_objects.open_file(settings, s3, key, obj["version_id"]) as body:
            for record in parsing.read_records(body, key, settings):
                records += 1
                value = record.value if isinstance(record.value, dict) else {}
                days.add(_day_of(value.get("timestamp")))
                if len(rows) < MAX_CONTENT_ROWS:
                    row = {name: _as_text(value.get(name)) for name in INPUT_COLUMNS}
                    reading = validate(record)
                    stored = reading if isinstance(reading, Reading) else None
                    rejected = reasons.get(record.position, "")
                    flagged = "" if rejected or stored is None else _flagged(stored, settings)
                    rows.append(
                        {"position": record.position, **row, **_stored_when_rounded(stored), "flagged": flagged,
                         "rejected": rejected}
                    )  # fmt: skip
    except UnparseableFile as error:
        empty = pd.DataFrame(columns=list(CONTENT_COLUMNS))
        return RawFile(key, ledger, empty, 0, rejects, str(error))
    if ledger["status"] == EXPIRED:  # the ledger let it go with the hot window: its counts from the file and the lake
        stored, anomalies = stores.source_counts(settings, key, sorted(days - {""}))
        ledger = {**ledger, "read": records, "stored": stored, "quarantined": len(rejects), "anomalies": anomalies}
    return RawFile(key, ledger, pd.DataFrame(rows, columns=list(CONTENT_COLUMNS)), records, rejects)


def _stored_when_rounded(reading: Reading | None) -> dict[str, str]:
    """The values validation stores for the energy fields of ``reading`` that it rounded ("" for the others, and
    for a record it rejects)."""
    rounded = reading.rounded if reading is not None else ()
    return {
        stored: _as_text(getattr(reading, name)) if name in rounded else "" for name, stored in ROUNDED_COLUMNS.items()
    }


def _flagged(reading: Reading, settings: Settings) -> str:
    """Why the pipeline flags ``reading`` as an anomaly, with its severity (``HIGH negative_generation``); "" for
    a valid reading. Judged by :func:`energy_lib.rules.assess` with ``settings``'s thresholds, as the pipeline
    judges a file."""
    judged = rules.assess(reading, settings)
    return f"{judged.severity} {', '.join(judged.reasons)}" if judged.anomaly else ""


def _day_of(timestamp: Any) -> str:
    """The UTC day (``YYYY-MM-DD``) of a record's timestamp as the pipeline reads it; "" when it reads none."""
    moment = parse_timestamp(timestamp)
    return "" if moment is None else format_timestamp(moment)[:10]


def _as_text(value: Any) -> str:
    """A field as the file gave it (numbers exact: Decimals keep their digits); "" when missing."""
    return "" if value is None else str(value)


def _rejects(settings: Settings, key: str, etag: str) -> pd.DataFrame:
    """The quarantined records of one version of a raw object: ``position``, ``reasons``, ``original``."""
    prefix = rejects_prefix(settings.quarantine_prefix, key, etag)
    objects = raw_objects.files(settings, client("s3", settings), prefix=prefix)
    rows = [row for obj in objects for row in ops.quarantined_readings(settings, obj["key"])]
    return pd.DataFrame(
        [{"position": r["position"], "reasons": ", ".join(r["reasons"]), "original": r["original"]} for r in rows],
        columns=["position", "reasons", "original"],
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


def _object_keys(body: str) -> str:
    """The S3 object keys an S3 event notification names (URL-decoded, as the pipeline reads them), comma
    separated; "" for other bodies."""
    try:
        return ", ".join(notification.key for notification in notifications(body))
    except NotAnS3Notification:
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


def quarantine(settings: Settings) -> pd.DataFrame:
    """Browsable quarantine objects, oldest first: ``key``, ``kind``, ``source_key``, ``label``,
    ``size_bytes``, ``last_modified`` (see :func:`energy_lib.workbook.aws.ops.quarantine`)."""
    rows = ops.quarantine(settings)
    for row in rows:
        row["label"] = f"{QUARANTINE_KINDS.get(row['kind'], row['kind'])}: {row['source_key']}"
    columns = ["key", "kind", "source_key", "label", "size_bytes", "last_modified"]
    return pd.DataFrame(rows, columns=columns).sort_values("last_modified", kind="stable", ignore_index=True)


def quarantined(settings: Settings, key: str) -> pd.DataFrame:
    """What one quarantine object holds: its rejected readings (``position``, ``reasons``, ``original``,
    ``source_key``), or for an unparseable file the ``reason`` it was rejected for."""
    if key.startswith(f"{settings.quarantine_prefix}files/"):
        rows = ops.quarantined_readings(settings, key + ops.REASON_SUFFIX)  # one JSON document: one row
        return pd.DataFrame(rows, columns=["source_key", "reason", "etag", "version_id"])
    rows = ops.quarantined_readings(settings, key)
    for row in rows:
        row["reasons"] = ", ".join(row.get("reasons", []))
    return pd.DataFrame(rows, columns=["position", "reasons", "original", "source_key"])
