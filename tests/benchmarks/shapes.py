"""The three file shapes of the write-unit benchmark, run through the real pipeline (ingest handler, then the
stream's aggregator) with a :class:`~tests.benchmarks.capacity.Meter`; figures are per 1,000 readings.

- ``one reading per file``: 10 sites report each 5-minute reading of an hour on its own: 120 files
- ``one site's hour``: the same 120 readings, 12 a file: 10 files
- ``fleet snapshot``: 1,000 sites, one reading each, in one file

``real time``: every file goes through the aggregator before the next one is ingested (files arrive one by
one, as they would at 5-minute intervals). ``burst``: all files first, then the stream in batches of 1,000
(a backlog, or files that arrive within one batching window).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from energy_lib.clients import client
from energy_lib.config import Settings
from tests.benchmarks.capacity import Meter
from tests.integration.harness import Pipeline, put

SNAPSHOT_SITES = 1000
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
    """10 sites x the 12 five-minute readings of one hour."""
    return [
        reading(site * 12 + interval, f"SITE_{site:03d}", f"2025-06-11T10:{interval * 5:02d}:00Z")
        for site in range(HOURLY_SITES)
        for interval in range(12)
    ]


def shape_files(shape: str) -> list[list[dict[str, Any]]]:
    if shape == "one reading per file":
        return [[row] for row in hourly_fleet()]
    if shape == "one site's hour":
        rows = hourly_fleet()
        return [rows[start : start + 12] for start in range(0, len(rows), 12)]
    return [[reading(n, f"SITE_{n:04d}", "2025-06-11T10:00:00Z") for n in range(SNAPSHOT_SITES)]]


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

    def per_thousand(self, name: str) -> float:
        """Write units of a table or index per 1,000 readings."""
        return self.wru.get(name, 0.0) * 1000 / self.readings


def run_shape(settings: Settings, shape: str, mode: str) -> Measured:
    """Ingest the shape's files on a fresh stack through the real handlers and measure every write."""
    files = shape_files(shape)
    pipeline = Pipeline(settings)
    dynamodb = client("dynamodb", settings)
    phase: dict[str, dict[str, int]] = {"ingest": {}, "aggregator": {}}
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
                put(settings, f"raw/2025/06/11/{number:04d}.json", json.dumps(rows).encode())
                if mode == "real time":
                    _drain(pipeline, current)
            _drain(pipeline, current)
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
    )


def _drain(pipeline: Pipeline, current: dict[str, str]) -> None:
    """The ingest queue, then the stream: each phase's requests counted apart."""
    current["name"] = "ingest"
    while pipeline.ingest.poll_once(wait_s=0):
        pass
    current["name"] = "aggregator"
    while pipeline.stream.poll_once():
        pass
    current["name"] = "ingest"
