"""energy_lib.query as pandas DataFrames, with the column names and units the charts expect.

Energies become float columns [kWh] (they are exact Decimals in DynamoDB and in energy_lib.query),
timestamps timezone-aware UTC. How they are shown in notebooks and reports is :mod:`views`.

Long ranges (more than :data:`LONG_RANGE`, a week) come from the history lake instead of DynamoDB: a
site's readings and anomalies for the explorer, the hourly totals for the business report. The lake
trails the tables by at most the compaction delay (minutes); the frames have the same columns either way.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from energy_lib import query
from energy_lib.config import Settings
from energy_lib.pipeline import NotAnS3Notification, notifications
from energy_lib.rollups import COUNTERS, ENERGY, FLAGGED_ENERGY
from energy_lib.schema import PROBLEM_STATUSES
from energy_lib.workbook.aws import ops
from energy_lib.workbook.aws.session import aws

TOTAL_COLUMNS = (*ENERGY, *FLAGGED_ENERGY)  # rollups and summaries: valid readings' energy, and flagged apart
READING_COLUMNS = ("site_id", "timestamp", *ENERGY, "anomaly", "anomaly_reasons", "severity")
SUMMARY_COLUMNS = ("site_id", *COUNTERS, "valid_readings", "efficiency_pct", "anomaly_rate_pct")
ROLLUP_COLUMNS = ("site_id", *COUNTERS)
STATUS_COLUMNS = (
    "key",
    "version_id",
    "etag",
    "status",
    "read",
    "stored",
    "quarantined",
    "anomalies",
    "error",
    "updated_at",
)
Moment = datetime | str | None
LONG_RANGE = timedelta(days=7)  # longer ranges are read from the lake


def is_long(start: Moment, end: Moment) -> bool:
    """True when ``[start, end)`` is given at both ends and spans more than :data:`LONG_RANGE`."""
    if start is None or end is None:
        return False
    first, last = query.time_range(start, end)
    return last - first > LONG_RANGE


def _lake_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    from energy_lib.workbook.lake.engines import records

    return records(frame)


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
    """Readings of one site in ``[start, end)`` (from the lake for a long range)."""
    if is_long(start, end):
        from energy_lib.workbook.lake import queries

        return readings_frame(_lake_rows(queries.site_readings(settings, site_id, start, end)))
    return readings_frame(query.readings(settings, aws(settings, "dynamodb"), site_id, start, end))


def fleet_readings(settings: Settings, start: Moment, end: Moment) -> pd.DataFrame:
    """Readings of every site in ``[start, end)``."""
    return readings_frame(query.fleet_readings(settings, aws(settings, "dynamodb"), start, end))


def anomalies(settings: Settings, site_id: str | None = None, start: Moment = None, end: Moment = None) -> pd.DataFrame:
    """Anomalous readings of one site, or of all sites in ``[start, end)`` (from the lake for a long range)."""
    if is_long(start, end):
        from energy_lib.workbook.lake import queries

        sites = [site_id] if site_id else []
        return readings_frame(_lake_rows(queries.anomalies(settings, start, end, sites)))
    return readings_frame(query.anomalies(settings, aws(settings, "dynamodb"), site_id, start, end))


def summary(settings: Settings, start: Moment = None, end: Moment = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """(one row per site, fleet totals) from rollups; no range means all time."""
    result = query.summary(settings, aws(settings, "dynamodb"), start, end)
    per_site = _numeric(
        pd.DataFrame(result["sites"], columns=list(SUMMARY_COLUMNS)),
        (*TOTAL_COLUMNS, "efficiency_pct", "anomaly_rate_pct"),
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
    frame = _numeric(frame.drop(columns="bucket"), TOTAL_COLUMNS)
    return frame[["site_id", column, *COUNTERS]].sort_values([column, "site_id"], ignore_index=True)


def hourly(settings: Settings, start: Moment, end: Moment) -> pd.DataFrame:
    """Per site and UTC hour in ``[start, end)``: energies, readings and anomalies, from hour rollups (from
    the lake for a long range)."""
    if is_long(start, end):
        from energy_lib.workbook.lake import queries

        frame = queries.hourly(settings, start, end)
        frame = _numeric(frame[["site_id", "hour_start", *COUNTERS]].copy(), TOTAL_COLUMNS)
        return frame.astype({name: int for name in COUNTERS if not name.endswith("_kwh")})
    return _periods(settings, query.hour_buckets(start, end), "hour_start")


def sites(settings: Settings) -> list[str]:
    return query.sites(settings, aws(settings, "dynamodb"))


def ingest_status(settings: Settings) -> pd.DataFrame:
    """One row per object under raw/ with its ledger status and counts."""
    rows = query.ingest_status(settings, aws(settings, "s3"), aws(settings, "dynamodb"))
    return pd.DataFrame(rows, columns=list(STATUS_COLUMNS))


def ledger_errors(settings: Settings) -> pd.DataFrame:
    """Ledger entries in status ``failed`` or ``rejected``, newest first."""
    rows = []
    for status in PROBLEM_STATUSES:
        rows += query.ledger_entries(settings, aws(settings, "dynamodb"), status)
    columns = ["source_key", "version_id", "etag", "status", "error", "updated_at", "attempts"]
    frame = pd.DataFrame(rows, columns=columns)
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
