"""The lake's state: change objects waiting for compaction, day files, and whether the lake caught up; and the
backfill of readings stored before the aggregator captured them."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from energy_lib import lake, query
from energy_lib.clients import client
from energy_lib.config import Settings
from energy_lib.dynamo import to_item


def _objects(settings: Settings, prefix: str) -> list[dict[str, Any]]:
    paginator = client("s3", settings).get_paginator("list_objects_v2")
    return [
        entry
        for page in paginator.paginate(Bucket=settings.bucket, Prefix=prefix)
        for entry in page.get("Contents", [])
    ]


def pending_changes(settings: Settings) -> int:
    """Change objects the compaction has not folded in yet (0: the lake holds every change written)."""
    return len(_objects(settings, lake.changes_prefix(settings)))


def status(settings: Settings, now: datetime | None = None) -> dict[str, Any]:
    """Change objects waiting (and the age of the oldest, seconds), day files, their days and size."""
    now = now or datetime.now(timezone.utc)
    changes = _objects(settings, lake.changes_prefix(settings))
    files = _objects(settings, lake.readings_prefix(settings))
    days = sorted(lake.day_of_key(entry["Key"]) for entry in files)
    oldest = min((entry["LastModified"] for entry in changes), default=None)
    return {
        "location": f"s3://{settings.bucket}/{settings.lake_prefix}",
        "pending_change_objects": len(changes),
        "oldest_change_age_s": round((now - oldest).total_seconds()) if oldest else 0,
        "day_files": len(files),
        "first_day": days[0] if days else None,
        "last_day": days[-1] if days else None,
        "size_bytes": sum(entry["Size"] for entry in files),
    }


def backfill(settings: Settings, sites: list[str] | None = None) -> dict[str, int]:
    """Write every stored reading of ``sites`` (default: every site with readings) as change objects, one per
    site and UTC day (``backfill-<site>``: a second run overwrites the first), for the compaction to fold in.

    For a deployment that stored readings before its aggregator captured them. Each line carries the
    lowest sequence number, so whatever the stream brings, before or after, wins over it: safe while the
    pipeline runs. Reads each site's readings with one paged Query.
    """
    dynamodb, s3 = client("dynamodb", settings), client("s3", settings)
    totals = {"sites": 0, "change_objects": 0, "readings": 0}
    for site in sites if sites is not None else query.sites(settings, dynamodb):
        by_day: dict[str, list[lake.ChangeLine]] = {}
        for item in query.readings(settings, dynamodb, site):
            keys = to_item({"site_id": item["site_id"], "timestamp": item["timestamp"]})
            line: lake.ChangeLine = {
                "sequence_number": lake.OLDEST_SEQUENCE,
                "event": "INSERT",
                "keys": keys,
                "image": to_item(item),
            }
            by_day.setdefault(item["timestamp"][:10], []).append(line)
        for day, lines in sorted(by_day.items()):
            key = f"{lake.changes_prefix(settings)}day={day}/backfill-{site}{lake.CHANGE_SUFFIX}"
            s3.put_object(Bucket=settings.bucket, Key=key, Body=lake.encode_changes(lines))
            totals["change_objects"] += 1
            totals["readings"] += len(lines)
        totals["sites"] += 1
    return totals
