"""The history lake's layout, and the change objects the stream aggregator writes into it (stdlib only).

Under ``Settings.lake_prefix`` (``lake/``) of the data bucket::

    lake/changes/day=2025-06-11/<first sequence number>-<digest>.jsonl.gz   what the readings stream said
    lake/readings/day=2025-06-11/readings.parquet                            one file per UTC day, compacted

A change object holds the new images of one stream batch's readings of one UTC day, one JSON line each:
``{"sequence_number": "000…123", "event": "MODIFY", "keys": {...}, "image": {...}}`` with ``keys`` and
``image`` in DynamoDB's typed JSON (numbers stay the exact text DynamoDB sent). Its key is derived from
the batch's sequence numbers, so a retried batch overwrites its own object; a reading met twice is
harmless because compaction keeps, per site and second, the line with the highest sequence number.
``REMOVE`` lines (no image) delete the reading from the lake.

Compaction (:mod:`energy_lib.compaction.days`, which needs pyarrow) folds a day's change objects
into that day's Parquet file. The lake's columns are :data:`COLUMNS` (those of the readings table, less
the attributes only its indexes need, plus ``sequence_number``; ``rounded`` is an empty list on readings
that have none); kWh values are ``DECIMAL(38, 9)``, which holds every value the number bound of
:mod:`energy_lib.validation` lets through exactly. Day files written before ``rounded`` existed lack that
column: DuckDB and Athena read it as NULL there (no reading was rounded then), and compaction adds it, empty,
when it rewrites such a day.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable
from typing import Any, TypedDict

from energy_lib.config import Settings
from energy_lib.rollups import SEQUENCE_DIGITS, padded
from energy_lib.validation import KWH_DECIMAL_PLACES

TABLE = "readings"  # the lake's one table: a DuckDB view locally, a Glue table on AWS
KWH_PRECISION = 38
KWH_SCALE = KWH_DECIMAL_PLACES  # digits after the point a kWh value may have (validation's number bound)
KWH_TYPE = f"decimal({KWH_PRECISION},{KWH_SCALE})"
# (name, Glue/Hive type) of every column of a Parquet file, in order; ``day`` is the partition (the path)
COLUMNS: tuple[tuple[str, str], ...] = (
    ("site_id", "string"),
    ("timestamp", "timestamp"),  # UTC, to the second (stored without a zone, read as UTC)
    ("energy_generated_kwh", KWH_TYPE),
    ("energy_consumed_kwh", KWH_TYPE),
    ("net_energy_kwh", KWH_TYPE),
    ("anomaly", "boolean"),
    ("anomaly_reasons", "array<string>"),
    ("severity", "string"),  # only on anomalies
    ("rounded", "array<string>"),  # the energy fields rounded to 9 decimals on ingest; empty when none was
    ("source_key", "string"),
    ("ingested_at", "timestamp"),
    ("sequence_number", "string"),  # the stream record's, zero-padded: the newest wins when compacting
)
PARTITION = ("day", "string")  # YYYY-MM-DD, UTC
OLDEST_SEQUENCE = "0" * SEQUENCE_DIGITS  # of lines written outside the stream: whatever the stream says wins
CHANGES = "changes/"
READINGS = "readings/"
DAY_FILE = "readings.parquet"
CHANGE_SUFFIX = ".jsonl.gz"


class ChangeLine(TypedDict):
    sequence_number: str
    event: str  # INSERT, MODIFY or REMOVE
    keys: dict[str, Any]  # {"site_id": {"S": ...}, "timestamp": {"S": ...}}
    image: dict[str, Any] | None  # the new image; None for REMOVE


def changes_prefix(settings: Settings) -> str:
    return f"{settings.lake_prefix}{CHANGES}"


def readings_prefix(settings: Settings) -> str:
    return f"{settings.lake_prefix}{READINGS}"


def day_file_key(settings: Settings, day: str) -> str:
    """``lake/readings/day=2025-06-11/readings.parquet``."""
    return f"{readings_prefix(settings)}day={day}/{DAY_FILE}"


def day_of_key(key: str) -> str:
    """The ``YYYY-MM-DD`` of a lake key's ``day=`` folder."""
    return key.split("day=", 1)[1][:10]


def change_lines(records: Iterable[dict[str, Any]]) -> dict[str, list[ChangeLine]]:
    """The change lines of DynamoDB stream records (the Lambda event's ``Records``), by UTC day."""
    by_day: dict[str, list[ChangeLine]] = defaultdict(list)
    for record in records:
        stream = record["dynamodb"]
        keys = stream["Keys"]
        line: ChangeLine = {
            "sequence_number": padded(stream["SequenceNumber"]),
            "event": record["eventName"],
            "keys": keys,
            "image": stream.get("NewImage") if record["eventName"] != "REMOVE" else None,
        }
        by_day[keys["timestamp"]["S"][:10]].append(line)
    return dict(by_day)


def change_key(settings: Settings, day: str, lines: list[ChangeLine]) -> str:
    """Where the change object of ``lines`` goes: the same lines give the same key."""
    numbers = sorted(line["sequence_number"] for line in lines)
    digest = hashlib.sha256("\n".join(numbers).encode()).hexdigest()[:16]
    return f"{changes_prefix(settings)}day={day}/{numbers[0]}-{digest}{CHANGE_SUFFIX}"


def encode_changes(lines: list[ChangeLine]) -> bytes:
    body = "".join(json.dumps(line, separators=(",", ":"), sort_keys=True) + "\n" for line in lines)
    return gzip.compress(body.encode(), mtime=0)


def decode_changes(body: bytes) -> list[ChangeLine]:
    return [json.loads(line) for line in gzip.decompress(body).decode().splitlines() if line]


def put_changes(s3: Any, settings: Settings, records: Iterable[dict[str, Any]]) -> list[str]:
    """Write the change objects of one stream batch (one per UTC day it touches); returns their keys."""
    keys = []
    for day, lines in sorted(change_lines(records).items()):
        key = change_key(settings, day, lines)
        s3.put_object(Bucket=settings.bucket, Key=key, Body=encode_changes(lines), ContentType="application/gzip")
        keys.append(key)
    return keys
