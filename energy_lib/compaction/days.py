"""Compaction: fold the lake's change objects into one Parquet file per UTC day, idempotently.

For each day that has change objects: read the day's file (and its ETag), read the change objects
(and the version of each that was read), keep per site and second the row with the highest stream
sequence number (dropping removed readings), write the file back only if it is still the version that
was read (``If-Match``, or ``If-None-Match: *`` for a new day), and only then delete exactly the
change object versions it folded in. A run that loses a race to another writes nothing and deletes
nothing: its change objects wait for the next run. Running it again changes nothing.

Before it writes the file, it writes a correction item (:mod:`energy_lib.corrections`) for every ``INSERT`` line
that meets a row the lake held before it (a reading stored again after its item expired, which the rollups count
twice): the same line always gives the same item, so a run that is repeated corrects nothing twice.

Needs pyarrow: on AWS it runs in the compaction function with AWS's managed "AWS SDK for pandas"
layer; on the local stack the stack's process runs it every few seconds.
"""

from __future__ import annotations

import io
import logging
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from botocore.exceptions import ClientError

from energy_lib import corrections, lake
from energy_lib.clients import client
from energy_lib.compaction.tables import DELETED, INSERTED, SCHEMA, as_changes, change_table, conform, empty
from energy_lib.config import Settings
from energy_lib.dynamo import batch_put
from energy_lib.errors import LakeError
from energy_lib.timeutil import TIMESTAMP_FORMAT

logger = logging.getLogger("energy_lib.lake.compaction")
ROW_GROUP_ROWS = 32_768  # a day of 100 sites at 5 minutes is one row group
READERS = 8  # change objects read at once
LOST_RACE = ("PreconditionFailed", "ConditionalRequestConflict", "412", "409")
DELETE_BATCH = 1000  # keys per DeleteObjects request


@dataclass(frozen=True, slots=True)
class DayResult:
    day: str
    status: str  # "written", or "conflict": another run changed the day first; its changes wait
    change_objects: int  # folded in (written) or left for the next run (conflict)
    change_lines: int
    rows: int  # in the day's file after the run
    corrections: int = 0  # readings stored again after they expired, corrected (energy_lib.corrections)

    def row(self) -> dict[str, Any]:
        return asdict(self)


def pending(settings: Settings, s3: Any) -> dict[str, list[str]]:
    """Keys of the change objects waiting to be folded in, by day."""
    by_day: dict[str, list[str]] = defaultdict(list)
    for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=settings.bucket, Prefix=lake.changes_prefix(settings)
    ):
        for entry in page.get("Contents", []):
            by_day[lake.day_of_key(entry["Key"])].append(entry["Key"])
    return dict(sorted(by_day.items()))


def compact(
    settings: Settings, s3: Any, keep_going: Callable[[], bool] = lambda: True, dynamodb: Any = None
) -> list[DayResult]:
    """Fold every waiting change object into its day's file, day by day, while ``keep_going()``; corrections go
    to the readings table with ``dynamodb`` (a client is made when one is needed and none is given)."""
    results = []
    for day, keys in pending(settings, s3).items():
        if not keep_going():
            break
        results.append(compact_day(settings, s3, day, keys, dynamodb))
    return results


def compact_day(settings: Settings, s3: Any, day: str, keys: list[str], dynamodb: Any = None) -> DayResult:
    current, etag = read_day(settings, s3, day)
    with ThreadPoolExecutor(READERS) as pool:
        found = [change for change in pool.map(lambda key: _read_change(settings, s3, key), keys) if change]
    changes = [table for _, table in found]
    rows = pa.concat_tables([as_changes(current), *changes])
    counted_twice = reinserted(rows)
    if counted_twice:
        items = [corrections.item(row, sequence, datetime.now(timezone.utc)) for row, sequence in counted_twice]
        batch_put(dynamodb or client("dynamodb", settings), settings.readings_table, items)
        logger.info("day %s: %d readings stored again after they expired, corrected", day, len(items))
    merged = newest(rows)
    lines = sum(table.num_rows for table in changes)
    condition = {"IfMatch": etag} if etag else {"IfNoneMatch": "*"}
    try:
        s3.put_object(
            Bucket=settings.bucket,
            Key=lake.day_file_key(settings, day),
            Body=to_parquet(merged),
            ContentType="application/vnd.apache.parquet",
            **condition,
        )
    except ClientError as error:
        if error.response["Error"]["Code"] not in LOST_RACE:
            raise
        logger.info("day %s changed under this run; %d change objects wait for the next", day, len(found))
        return DayResult(day, "conflict", len(found), lines, current.num_rows, len(counted_twice))
    _delete(settings, s3, [version for version, _ in found])
    logger.info("day %s: %d change objects, %d lines, %d rows", day, len(found), lines, merged.num_rows)
    return DayResult(day, "written", len(found), lines, merged.num_rows, len(counted_twice))


def read_day(settings: Settings, s3: Any, day: str) -> tuple[pa.Table, str | None]:
    """The day's file as a table of the lake's schema (:func:`~energy_lib.compaction.tables.conform`) and its ETag;
    an empty table and None when the day has none yet."""
    try:
        response = s3.get_object(Bucket=settings.bucket, Key=lake.day_file_key(settings, day))
    except ClientError as error:
        if error.response["Error"]["Code"] in ("NoSuchKey", "404"):
            return empty(), None
        raise
    return conform(read_parquet(response["Body"].read())), response["ETag"]


def _read_change(settings: Settings, s3: Any, key: str) -> tuple[dict[str, str], pa.Table] | None:
    """(what to delete once folded in, its lines as a table); None when another run folded it in already."""
    try:
        response = s3.get_object(Bucket=settings.bucket, Key=key)
    except ClientError as error:
        if error.response["Error"]["Code"] in ("NoSuchKey", "404"):
            return None
        raise
    version = {"Key": key}
    if response.get("VersionId") not in (None, "null"):
        version["VersionId"] = response["VersionId"]
    return version, change_table(lake.decode_changes(response["Body"].read()))


def reinserted(table: pa.Table) -> list[tuple[dict[str, Any], str]]:
    """For each ``INSERT`` line of ``table`` (change rows) that meets a row present before it (lower sequence
    number, not removed): that row as the rollups counted it (site, time text, energies, verdict, severity) and
    the line's sequence number. Rows of one sequence number count once, the day file's first."""
    inserts = table.filter(table[INSERTED])
    if not inserts.num_rows:
        return []
    keys = _keys(table)
    candidates = table.filter(pc.is_in(keys, value_set=pc.unique(_keys(inserts)))).to_pylist()
    candidates.sort(key=lambda row: (row["site_id"], row["timestamp"], row["sequence_number"], row[INSERTED]))
    found = []
    before: dict[str, Any] | None = None
    for row in candidates:
        same = before is not None and (before["site_id"], before["timestamp"]) == (row["site_id"], row["timestamp"])
        if same and before["sequence_number"] == row["sequence_number"]:
            continue
        if row[INSERTED] and same and not before[DELETED]:
            counted = {**before, "timestamp": before["timestamp"].strftime(TIMESTAMP_FORMAT)}
            found.append((counted, row["sequence_number"]))
        before = row
    return found


def _keys(table: pa.Table) -> pa.Array:
    """``site_id|timestamp`` of every row."""
    return pc.binary_join_element_wise(table["site_id"], pc.cast(table["timestamp"], pa.string()), "|")


def newest(table: pa.Table) -> pa.Table:
    """Per (site_id, timestamp) the row with the highest sequence number, without removed readings, in
    (site_id, timestamp) order; drops the ``deleted`` and ``inserted`` columns."""
    ordered = table.sort_by([("site_id", "ascending"), ("timestamp", "ascending"), ("sequence_number", "descending")])
    if ordered.num_rows:
        site, moment = ordered["site_id"], ordered["timestamp"]
        changed = pc.or_(
            pc.not_equal(site.slice(1), site.slice(0, len(site) - 1)),
            pc.not_equal(moment.slice(1), moment.slice(0, len(moment) - 1)),
        )
        first = pa.concat_arrays([pa.array([True]), *changed.chunks]) if changed.num_chunks else pa.array([True])
        ordered = ordered.filter(pc.and_(first, pc.invert(ordered[DELETED])))
    return ordered.drop_columns([DELETED, INSERTED]).cast(SCHEMA)


def read_parquet(data: bytes) -> pa.Table:
    """The table of one Parquet file's bytes. Arrow reads a copy in its own memory: its reading threads drop their
    references to the source only after the read returned, and a Python object dropped by them while the interpreter
    finalizes aborts the process ("terminate called without an active exception", apache/arrow#39862)."""
    owned = pa.BufferOutputStream()
    owned.write(data)
    with pq.ParquetFile(pa.BufferReader(owned.getvalue())) as file:
        return file.read()


def to_parquet(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd", row_group_size=ROW_GROUP_ROWS)
    return buffer.getvalue()


def _delete(settings: Settings, s3: Any, versions: list[dict[str, str]]) -> None:
    for start in range(0, len(versions), DELETE_BATCH):
        response = s3.delete_objects(
            Bucket=settings.bucket, Delete={"Objects": versions[start : start + DELETE_BATCH], "Quiet": True}
        )
        if response.get("Errors"):
            raise LakeError(f"could not delete folded change objects: {response['Errors'][:3]}")
