"""Compaction: fold the lake's change objects into one Parquet file per UTC day, idempotently.

For each day that has change objects: read the day's file (and its ETag), read the change objects
(and the version of each that was read), keep per site and second the row with the highest stream
sequence number (dropping removed readings), write the file back only if it is still the version that
was read (``If-Match``, or ``If-None-Match: *`` for a new day), and only then delete exactly the
change object versions it folded in. A run that loses a race to another writes nothing and deletes
nothing: its change objects wait for the next run. Running it again changes nothing.

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
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from botocore.exceptions import ClientError

from energy_lib import lake
from energy_lib.compaction.tables import DELETED, SCHEMA, change_table, conform, empty
from energy_lib.config import Settings
from energy_lib.errors import LakeError

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


def compact(settings: Settings, s3: Any, keep_going: Callable[[], bool] = lambda: True) -> list[DayResult]:
    """Fold every waiting change object into its day's file, day by day, while ``keep_going()``."""
    results = []
    for day, keys in pending(settings, s3).items():
        if not keep_going():
            break
        results.append(compact_day(settings, s3, day, keys))
    return results


def compact_day(settings: Settings, s3: Any, day: str, keys: list[str]) -> DayResult:
    current, etag = read_day(settings, s3, day)
    with ThreadPoolExecutor(READERS) as pool:
        found = [change for change in pool.map(lambda key: _read_change(settings, s3, key), keys) if change]
    changes = [table for _, table in found]
    merged = newest(
        pa.concat_tables([current.append_column(DELETED, pa.array(np.zeros(current.num_rows, bool))), *changes])
    )
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
        return DayResult(day, "conflict", len(found), lines, current.num_rows)
    _delete(settings, s3, [version for version, _ in found])
    logger.info("day %s: %d change objects, %d lines, %d rows", day, len(found), lines, merged.num_rows)
    return DayResult(day, "written", len(found), lines, merged.num_rows)


def read_day(settings: Settings, s3: Any, day: str) -> tuple[pa.Table, str | None]:
    """The day's file as a table of the lake's schema (:func:`~energy_lib.compaction.tables.conform`) and its ETag;
    an empty table and None when the day has none yet."""
    try:
        response = s3.get_object(Bucket=settings.bucket, Key=lake.day_file_key(settings, day))
    except ClientError as error:
        if error.response["Error"]["Code"] in ("NoSuchKey", "404"):
            return empty(), None
        raise
    return conform(pq.read_table(io.BytesIO(response["Body"].read()))), response["ETag"]


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


def newest(table: pa.Table) -> pa.Table:
    """Per (site_id, timestamp) the row with the highest sequence number, without removed readings, in
    (site_id, timestamp) order; drops the ``deleted`` column."""
    ordered = table.sort_by([("site_id", "ascending"), ("timestamp", "ascending"), ("sequence_number", "descending")])
    if ordered.num_rows:
        site, moment = ordered["site_id"], ordered["timestamp"]
        changed = pc.or_(
            pc.not_equal(site.slice(1), site.slice(0, len(site) - 1)),
            pc.not_equal(moment.slice(1), moment.slice(0, len(moment) - 1)),
        )
        first = pa.concat_arrays([pa.array([True]), *changed.chunks]) if changed.num_chunks else pa.array([True])
        ordered = ordered.filter(pc.and_(first, pc.invert(ordered[DELETED])))
    return ordered.drop_columns([DELETED]).cast(SCHEMA)


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
