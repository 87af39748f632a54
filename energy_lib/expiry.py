"""The hot window: DynamoDB keeps readings (and the ledger its items) for ``Settings.readings_ttl_days``, the lake
keeps every reading for good.

Each reading item carries ``expires_at`` (epoch seconds): the later of when it was stored and the reading's own
time, plus the hot window. DynamoDB's time to live deletes the item some time after that (on AWS typically within
days; the local stack within a minute). So every reading whose time is inside the hot window (not older than
:func:`hot_start`) is still in the table, whenever it was stored, and a reading of any age stored today stays for
a whole window (a backfill can be read back, and corrected, from the table for that long).

A deletion by the time to live reaches the table's stream like any other, with ``userIdentity`` naming DynamoDB
itself (:func:`is_expiry`): the aggregator leaves the rollups and the lake alone for it, while a deletion by
anyone else takes the reading away from both.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

ATTRIBUTE = "expires_at"
DAY_S = 24 * 3600
SERVICE = "Service"  # userIdentity.type of a deletion made by the time to live
PRINCIPAL = "dynamodb.amazonaws.com"  # its userIdentity.principalId


def expires_at(ttl_days: int, stored_at: datetime, reading_at: datetime | None = None) -> int | None:
    """When an item stored at ``stored_at`` (of a reading at ``reading_at``) expires [epoch s]; None when
    ``ttl_days`` is 0 (kept forever)."""
    if not ttl_days:
        return None
    later = max(stored_at, reading_at) if reading_at is not None else stored_at
    return int(later.timestamp()) + ttl_days * DAY_S


def hot_start(ttl_days: int, now: datetime) -> datetime | None:
    """The earliest reading time the table is sure to hold: every reading at or after it is there (whenever it
    was stored). None when nothing expires."""
    return now - timedelta(days=ttl_days) if ttl_days else None


def is_expiry(record: dict[str, Any]) -> bool:
    """True for a stream record of a deletion made by the table's time to live (not by a user or the pipeline): as
    Lambda hands it (``userIdentity``: ``type``, ``principalId``) or as GetRecords answers (``Type``,
    ``PrincipalId``)."""
    identity = record.get("userIdentity") or {}
    kind, principal = (
        identity.get("type", identity.get("Type")),
        identity.get("principalId", identity.get("PrincipalId")),
    )
    return record.get("eventName") == "REMOVE" and (kind, principal) == (SERVICE, PRINCIPAL)


def lambda_identity(identity: dict[str, str]) -> dict[str, str]:
    """A record's ``userIdentity`` as GetRecords answers it, in the shape Lambda hands it to a function."""
    return {"type": identity.get("Type", ""), "principalId": identity.get("PrincipalId", "")}
