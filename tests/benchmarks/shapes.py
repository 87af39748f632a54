"""The three file shapes of the write-unit benchmark, run through the real pipeline (ingest handler, then the
stream's aggregator) with a :class:`~tests.benchmarks.capacity.Meter`; figures are per 1,000 readings.

- ``one reading per file``: 10 sites report each 5-minute reading of an hour on its own: 120 files
- ``one site's hour``: the same 120 readings, 12 a file, after the hour: 10 files
- ``fleet snapshot``: 1,000 sites, one reading each, a file every 5 minutes: the 3 files of a quarter hour

Each file arrives 10 s after its last reading, on a clock the stream's player (the mapping with its tumbling
window, ending windows on time as on AWS) follows. ``real time``: every file goes through the ingest and the
stream before the next one arrives. ``burst``: all files first, then the stream in batches of 1,000 (a
backlog). At the end the clock passes the last window's end, whose final invocation writes the rollups.
"""

from __future__ import annotations

import io
import json
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from energy_lib import lake
from energy_lib.clients import client
from energy_lib.compaction.days import compact, newest, reinserted, to_parquet
from energy_lib.compaction.tables import INSERTED, SCHEMA, as_changes
from energy_lib.config import Settings
from energy_lib.timeutil import utc
from energy_lib.workbook.infra.spec import AGGREGATOR
from energy_lib.workbook.simulator.year import day_table
from tests.benchmarks.capacity import Meter
from tests.integration.harness import Pipeline, put

SNAPSHOT_SITES = 1000
ARRIVAL_DELAY_S = 10
HOURLY_SITES = 10
ANOMALY_EVERY = 50  # one reading in 50 is negative: 2 % anomalies, as the simulator's default


def reading(number: int, site: str, timestamp: str) -> dict[str, Any]:
    generated = Decimal(number % 97 + 1) / 4 * (-1 if number % ANOMALY_EVERY == 0 else 1)
    return {
        "site_id": site,
        "timestamp": timestamp,
        "energy_generated_kwh": str(generated),
        "energy_consumed_kwh": str(Decimal(number % 13) / 8),
    }


def hourly_fleet() -> list[dict[str, Any]]:
    """10 sites x the 12 five-minute readings of one hour, site by site."""
    return [
        reading(site * 12 + interval, f"SITE_{site:03d}", f"2025-06-11T10:{interval * 5:02d}:00Z")
        for site in range(HOURLY_SITES)
        for interval in range(12)
    ]


def shape_files(shape: str) -> list[list[dict[str, Any]]]:
    """The shape's files, in the order they arrive."""
    if shape == "one reading per file":
        return [[row] for row in sorted(hourly_fleet(), key=lambda row: (row["timestamp"], row["site_id"]))]
    if shape == "one site's hour":
        rows = hourly_fleet()
        return [rows[start : start + 12] for start in range(0, len(rows), 12)]
    return [
        [reading(n + minute, f"SITE_{n:04d}", f"2025-06-11T10:{minute:02d}:00Z") for n in range(SNAPSHOT_SITES)]
        for minute in (0, 5, 10)
    ]


def arrival(rows: list[dict[str, Any]]) -> float:
    """When a file arrives: 10 s after its last reading (epoch seconds)."""
    return utc(max(row["timestamp"] for row in rows)).timestamp() + ARRIVAL_DELAY_S


SHAPES = ("one reading per file", "one site's hour", "fleet snapshot")
MODES = ("real time", "burst")


@dataclass
class Measured:
    shape: str
    mode: str
    files: int
    readings: int
    anomalies: int
    wru: dict[str, float] = field(default_factory=dict)
    rru: dict[str, float] = field(default_factory=dict)
    requests: dict[str, int] = field(default_factory=dict)
    ingest_requests: dict[str, int] = field(default_factory=dict)
    aggregator_requests: dict[str, int] = field(default_factory=dict)
    invocations: int = 0  # of the aggregator
    item_bytes: dict[str, float] = field(default_factory=dict)  # mean size per table
    lake_bytes: int = 0  # the day files once compaction folded every change object in
    lake_rows: int = 0
    compaction_requests: dict[str, int] = field(default_factory=dict)
    fold_cpu_s: float = 0.0  # CPU of one compaction run over a day file of half a day (see fold_cpu_s())

    def per_thousand(self, name: str) -> float:
        """Write units of a table or index per 1,000 readings."""
        return self.wru.get(name, 0.0) * 1000 / self.readings


def run_shape(settings: Settings, shape: str, mode: str) -> Measured:
    """Ingest the shape's files on a fresh stack through the real handlers and measure every write."""
    files = shape_files(shape)
    clock = {"now": arrival(files[0])}
    pipeline = Pipeline(settings, clock=lambda: clock["now"], close_when_idle=False)
    dynamodb = client("dynamodb", settings)
    phase: dict[str, dict[str, int]] = {"upload": {}, "ingest": {}, "aggregator": {}, "compaction": {}}
    current = {"name": "ingest"}

    def count(event_name: str, **_: Any) -> None:
        counts = phase[current["name"]]
        operation = event_name.rsplit(".", 1)[-1]
        counts[operation] = counts.get(operation, 0) + 1

    for service in ("dynamodb", "s3", "sns"):
        client(service, settings).meta.events.register("before-call", count, unique_id=f"phase-{service}")
    try:
        with Meter(settings, dynamodb) as meter:
            for number, rows in enumerate(files):
                clock["now"] = arrival(rows)
                current["name"] = "upload"  # the producer's, not the pipeline's
                put(settings, f"raw/2025/06/11/{number:04d}.json", json.dumps(rows).encode())
                if mode == "real time":
                    _drain(pipeline, current)
            _drain(pipeline, current)
            clock["now"] += AGGREGATOR.tumbling_window_s  # the last window ends
            _drain(pipeline, current)
            current["name"] = "compaction"
            compact(settings, client("s3", settings))
    finally:
        for service in ("dynamodb", "s3", "sns"):
            client(service, settings).meta.events.unregister("before-call", unique_id=f"phase-{service}")
    return Measured(
        shape,
        mode,
        len(files),
        sum(len(rows) for rows in files),
        sum(Decimal(row["energy_generated_kwh"]) < 0 for rows in files for row in rows),
        dict(meter.wru),
        dict(meter.rru),
        dict(meter.requests),
        phase["ingest"],
        phase["aggregator"],
        pipeline.stream.invocations,
        {table: sum(sizes) / len(sizes) for table, sizes in meter.sizes.items()},
        *_lake_size(settings),
        phase["compaction"],
    )


def fold_cpu_s(rows: int, changes: int = 1000) -> float:
    """CPU seconds of one compaction run's own work (this thread: read the day file, meet ``changes`` new lines,
    keep the newest, write the file) on a day file of ``rows`` readings: what a run costs at the fleet's size."""
    sites = 1000
    moments = np.datetime64("2025-06-11T00:00:00") + np.arange(rows) // sites * np.timedelta64(300, "s")
    site_ids = np.array([f"SITE_{n % sites:04d}" for n in range(rows)])
    values = np.arange(rows) % 977 - 10
    table = day_table(Settings(), site_ids, moments, values, values % 13, moments[0], "raw/x.json")
    body = to_parquet(table)
    started = time.thread_time()
    current = pq.read_table(io.BytesIO(body)).cast(SCHEMA)
    lines = as_changes(current.slice(0, changes)).set_column(
        len(SCHEMA) + 1, INSERTED, pa.array(np.ones(changes, bool))
    )
    merged = pa.concat_tables([as_changes(current), lines])
    reinserted(merged)
    to_parquet(newest(merged))
    return time.thread_time() - started


def _lake_size(settings: Settings) -> tuple[int, int]:
    """Bytes and rows of the lake's day files."""
    s3 = client("s3", settings)
    listed = s3.list_objects_v2(Bucket=settings.bucket, Prefix=lake.readings_prefix(settings)).get("Contents", [])
    rows = 0
    for entry in listed:
        body = s3.get_object(Bucket=settings.bucket, Key=entry["Key"])["Body"].read()
        rows += pq.ParquetFile(io.BytesIO(body)).metadata.num_rows
    return sum(entry["Size"] for entry in listed), rows


def _drain(pipeline: Pipeline, current: dict[str, str]) -> None:
    """The ingest queue, then the stream: each phase's requests counted apart."""
    current["name"] = "ingest"
    while pipeline.ingest.poll_once(wait_s=0):
        pass
    current["name"] = "aggregator"
    while pipeline.stream.poll_once():
        pass
    current["name"] = "ingest"
