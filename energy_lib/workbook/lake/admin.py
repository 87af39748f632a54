"""The lake's state: change objects waiting for compaction, day files, and whether the lake caught up."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from energy_lib import lake
from energy_lib.config import Settings
from energy_lib.workbook.aws.session import aws


def _objects(settings: Settings, prefix: str) -> list[dict[str, Any]]:
    paginator = aws(settings, "s3").get_paginator("list_objects_v2")
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
