"""The aggregator's tumbling-window state: the stream records of a window that the rollups have not taken in yet.

With a tumbling window on the stream's mapping, Lambda hands each invocation of a shard the ``state`` the last
successful one returned, and empties it when the window's final invocation succeeds. The aggregator keeps in it
what each record changes (its sequence number and the attributes of its images that rollups read), compressed,
and writes the rollups once per window: one write per rollup item and window instead of per item and batch.

Records are kept by sequence number, so a record handed over twice in one window counts once. Lambda ends a
window early when its state passes 1 MB; the aggregator writes the rollups itself before the state passes
:data:`LIMIT_BYTES`.
"""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any

from energy_lib.rollups import ENERGY, padded

KEPT = ("site_id", "timestamp", *ENERGY, "anomaly", "severity")  # what rollups.contribution reads
LIMIT_BYTES = 512 * 1024  # encoded state; half of what Lambda keeps per shard
VERSION = 1

Pending = dict[str, dict[str, Any]]  # padded sequence number -> the stream record's data, images trimmed


def kept(data: dict[str, Any]) -> dict[str, Any]:
    """A stream record's ``dynamodb`` data with only what rollups read (images stay in DynamoDB JSON)."""
    result: dict[str, Any] = {"SequenceNumber": data["SequenceNumber"]}
    for image in ("OldImage", "NewImage"):
        if image in data:
            result[image] = {name: value for name, value in data[image].items() if name in KEPT}
    return result


def add(pending: Pending, records: list[dict[str, Any]]) -> None:
    """Keep ``records`` (stream records as Lambda hands them) in ``pending``; one already kept is kept once."""
    for record in records:
        data = record["dynamodb"]
        pending[padded(data["SequenceNumber"])] = kept(data)


def encode(pending: Pending) -> dict[str, Any]:
    """The state to return to Lambda: JSON-able, compressed."""
    if not pending:
        return {}
    text = json.dumps(list(pending.values()), separators=(",", ":")).encode()
    return {"version": VERSION, "records": len(pending), "pending": base64.b64encode(zlib.compress(text, 6)).decode()}


def decode(state: dict[str, Any] | None) -> Pending:
    """The records a state holds; an empty or missing state holds none."""
    if not state:
        return {}
    if state.get("version") != VERSION:
        raise ValueError(f"a window state this aggregator cannot read: version {state.get('version')!r}")
    records = json.loads(zlib.decompress(base64.b64decode(state["pending"])))
    return {padded(data["SequenceNumber"]): data for data in records}


def encoded_bytes(state: dict[str, Any]) -> int:
    return len(json.dumps(state, separators=(",", ":")))
