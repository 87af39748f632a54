"""Raw objects in S3 and what the ingest made of each, none with a Scan.

- :func:`files`, :func:`current_versions`, :func:`current_version`: raw objects, listed with paging
- :func:`open_file`, :func:`read_file`: an object's content (any version)
- :func:`with_ledger`, :func:`ingest_status`: each object with its ledger entry (BatchGetItem)
- :func:`ledger_entries`: the ledger's problems, from its sparse index
"""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime, timedelta
from typing import Any

from energy_lib import timeutil
from energy_lib.config import Settings
from energy_lib.dynamo import Cost, batch_get, query_pages
from energy_lib.ledger import HEAD, Counts, keep_days
from energy_lib.schema import EXPIRED, FAILED, FINAL_STATUSES, LEDGER, PENDING, PROCESSING
from energy_lib.timeutil import format_timestamp

Row = dict[str, Any]


def _object_row(entry: dict[str, Any]) -> Row:
    """A listed object (ListObjectsV2) or object version (ListObjectVersions) as a row: key, version_id (versions
    only), size_bytes, etag, last_modified."""
    version = {"version_id": entry["VersionId"]} if "VersionId" in entry else {}
    return {
        "key": entry["Key"],
        **version,
        "size_bytes": entry["Size"],
        "etag": entry["ETag"].strip('"'),
        "last_modified": format_timestamp(entry["LastModified"]),
    }


def files(settings: Settings, s3: Any, prefix: str | None = None, limit: int | None = None) -> list[Row]:
    """Objects under the raw prefix (or ``prefix``): key, size, etag, last_modified; pages through all."""
    paginator = s3.get_paginator("list_objects_v2")
    rows: list[Row] = []
    for page in paginator.paginate(
        Bucket=settings.bucket, Prefix=prefix if prefix is not None else settings.raw_prefix
    ):
        for entry in page.get("Contents", []):
            rows.append(_object_row(entry))
            if limit is not None and len(rows) >= limit:
                return rows
    return rows


def _current(page: dict[str, Any]) -> list[Row]:
    """The current versions in one ListObjectVersions page (older versions and delete markers left out)."""
    return [_object_row(version) for version in page.get("Versions", []) if version.get("IsLatest")]


def current_versions(settings: Settings, s3: Any, prefix: str | None = None) -> list[Row]:
    """The current version of every object under the raw prefix (or ``prefix``), as :func:`_object_row`; pages
    through all."""
    paginator = s3.get_paginator("list_object_versions")
    pages = paginator.paginate(Bucket=settings.bucket, Prefix=prefix if prefix is not None else settings.raw_prefix)
    return [row for page in pages for row in _current(page)]


def current_version(settings: Settings, s3: Any, key: str) -> Row:
    """The current version of the object ``key``, as :func:`_object_row` (one HeadObject request)."""
    head = s3.head_object(Bucket=settings.bucket, Key=key)
    return _object_row({"Key": key, "Size": head["ContentLength"], **head})


def open_file(settings: Settings, s3: Any, key: str, version_id: str | None = None) -> Any:
    """A stream of the content of the object ``key`` (its current version, or ``version_id``)."""
    version = {"VersionId": version_id} if version_id else {}
    return s3.get_object(Bucket=settings.bucket, Key=key, **version)["Body"]


def read_file(settings: Settings, s3: Any, key: str, version_id: str | None = None) -> bytes:
    """The content of the object ``key`` (its current version, or ``version_id``)."""
    return open_file(settings, s3, key, version_id).read()


def with_ledger(settings: Settings, dynamodb: Any, objects: list[Row], now: datetime | None = None) -> list[Row]:
    """``objects`` (rows with key, version_id, etag, last_modified) each with its ledger entry (one BatchGetItem for
    all): status (``pending`` when no attempt has started, ``processing`` while an attempt holds the key's lease,
    ``failed`` also when that lease expired: ``error`` says so, ``lease_expired_at`` when; ``expired`` when the
    object is older than the ledger keeps its items and they are gone: its counts are then 0, the lake has its
    readings), read, stored, quarantined, anomalies, rounded, error, updated_at."""
    keys = [{"source_key": o["key"], "version_id": o["version_id"]} for o in objects]
    keys += [{"source_key": key, "version_id": HEAD} for key in dict.fromkeys(o["key"] for o in objects)]
    found = {(e["source_key"], e["version_id"]): e for e in batch_get(dynamodb, settings.ledger_table, keys)}
    moment = now or timeutil.now()
    kept = keep_days(settings.readings_ttl_days)
    rows = []
    for obj in objects:
        entry, head = found.get((obj["key"], obj["version_id"]), {}), found.get((obj["key"], HEAD), {})
        status, error, expired = _status(entry, head, obj["version_id"], moment)
        aged = kept and timeutil.utc(obj.get("last_modified") or moment) < moment - timedelta(days=kept)
        if status == PENDING and not head and aged:
            status = EXPIRED
        rows.append(
            {
                **obj,
                "status": status,
                **{name: int(entry.get(name, 0)) for name in COUNT_FIELDS},
                "error": error,
                "updated_at": entry.get("updated_at", ""),
                "lease_expired_at": expired,
            }
        )
    return rows


COUNT_FIELDS = tuple(field.name for field in fields(Counts))  # read, stored, quarantined, anomalies, rounded
LEDGER_FIELDS = ("status", *COUNT_FIELDS, "error", "updated_at", "lease_expired_at")
INGEST_STATUS_FIELDS = ("key", "version_id", "etag", *LEDGER_FIELDS)


def ingest_status(settings: Settings, s3: Any, dynamodb: Any, now: datetime | None = None) -> list[Row]:
    """One row per object under the raw prefix (its current version) with its ledger entry (:func:`with_ledger`)."""
    rows = with_ledger(settings, dynamodb, current_versions(settings, s3), now)
    return [{name: row[name] for name in INGEST_STATUS_FIELDS} for row in rows]


def _status(entry: Row, head: Row, version_id: str, now: datetime) -> tuple[str, str, str]:
    """An object version's status, error and the time its attempt's lease expired ("" unless it did): its entry's
    when final (a finished attempt leaves its lease to run out), else while an attempt holds (or held) the key's
    lease, what became of that attempt."""
    if entry.get("status") in FINAL_STATUSES:
        return entry["status"], entry.get("error", ""), ""
    if head.get("holder") == version_id and "lease_expires_at" in head:  # held, or given back for a continuation
        expires = timeutil.from_epoch_s(int(head["lease_expires_at"]))
        if expires >= now:
            return PROCESSING, "", ""
        expired = format_timestamp(expires)
        return (
            FAILED,
            f"attempt {head.get('attempts', '?')} stopped without finishing (crashed or timed out): its lease expired "
            f"at {expired}; the next delivery of the message takes it over",
            expired,
        )
    return entry.get("status", PENDING), entry.get("error", ""), ""


def ledger_entries(settings: Settings, dynamodb: Any, status: str, cost: Cost | None = None) -> list[Row]:
    """Ledger entries in a problem status (``failed`` or ``rejected``), newest first, from the sparse ``problems``
    index."""
    return list(
        query_pages(
            dynamodb,
            cost,
            TableName=settings.ledger_table,
            IndexName=LEDGER.indexes[0].name,
            KeyConditionExpression="problem = :status",
            ExpressionAttributeValues={":status": {"S": status}},
            ScanIndexForward=False,
        )
    )
