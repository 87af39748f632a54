"""Driving the real pipeline by hand in tests: the real entry points (lambda/handler.py, lambda/aggregator.py)
behind the local runtime's two mappings, the real S3 notifications moto sends, and the exactness check every
rollup must pass (each equals the sums of the stored readings, valid and flagged apart)."""

from __future__ import annotations

import json
import os
import time
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from unittest import mock

from energy_lib import query, rollups
from energy_lib.clients import client
from energy_lib.config import Settings
from energy_lib.pipeline import Notification, notifications
from energy_lib.workbook.aws import ops
from energy_lib.workbook.infra.lambda_build import AGGREGATOR, HANDLER
from energy_lib.workbook.local.provisioner import queue_arn
from energy_lib.workbook.local.runtime import Handler, LocalRuntime, load_handler, sqs_event
from energy_lib.workbook.local.stream import StreamRuntime


def real_handlers(settings: Settings) -> tuple[Handler, Handler]:
    """``handler`` of lambda/handler.py and of lambda/aggregator.py, configured through ENERGY_* as on AWS."""
    with mock.patch.dict(os.environ, {**settings.environment(), "ENERGY_ENDPOINT_URL": settings.endpoint}):
        return load_handler(HANDLER), load_handler(AGGREGATOR)


class Pipeline:
    """The local runtime's two mappings over the real handlers, polled by the test."""

    def __init__(
        self,
        settings: Settings,
        aggregator: Handler | None = None,
        timeout_s: float | None = None,
        clock: Callable[[], float] = time.time,
        close_when_idle: bool = True,
    ) -> None:
        ingest, aggregate = real_handlers(settings)
        self.settings = settings
        choices = {} if timeout_s is None else {"timeout_s": timeout_s}
        self.ingest = LocalRuntime(settings, handler=ingest, retry_delay_s=0, **choices)
        self.stream = StreamRuntime(
            settings, handler=aggregator or aggregate, retry_s=0, clock=clock, close_when_idle=close_when_idle
        )

    def hand_over(self) -> None:
        """Poll the ingest until its queue is empty, then the stream until it has nothing new: the records are
        handed to the aggregator (with a tumbling window, kept in the open window's state until it ends)."""
        while self.ingest.poll_once(wait_s=0):
            pass
        while self.stream.poll_once():
            pass

    def drain(self, rounds: int = 200) -> None:
        """Poll both mappings until the ingest queue is empty and the stream has nothing new twice in a row (a
        shard iterator that expired gives nothing once, then a fresh one reads on)."""
        idle = 0
        for _ in range(rounds):
            moved = self.ingest.poll_once(wait_s=0) + self.stream.poll_once()
            idle = idle + 1 if not moved and ops.queue_depth(self.settings, self.settings.ingest_queue) == 0 else 0
            if idle == 2:
                return
        raise AssertionError("the pipeline did not drain")


def put(settings: Settings, key: str, body: bytes) -> str:
    """Upload ``body`` under ``key``; returns the new version's id."""
    return client("s3", settings).put_object(Bucket=settings.bucket, Key=key, Body=body)["VersionId"]


def take_messages(settings: Settings) -> list[dict[str, Any]]:
    """Every message in the ingest queue (the S3 notifications moto sent), taken out of it."""
    sqs = client("sqs", settings)
    url = sqs.get_queue_url(QueueName=settings.ingest_queue)["QueueUrl"]
    taken: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not batch:
            return [m for m in taken if notifications(m["Body"])]  # without S3's test event
        taken += batch
        sqs.delete_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)]
        )


def take_notifications(settings: Settings) -> list[Notification]:
    return [n for m in take_messages(settings) for n in notifications(m["Body"])]


def event_of(settings: Settings, messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The SQS event Lambda would send for ``messages``."""
    return sqs_event(messages, queue_arn(settings, settings.ingest_queue), settings.region)


def message(body: dict[str, Any] | str, message_id: str = "m-1") -> dict[str, Any]:
    text = body if isinstance(body, str) else json.dumps(body)
    return {"MessageId": message_id, "ReceiptHandle": f"rh-{message_id}", "Body": text}


def sums_from_readings(settings: Settings, readings: list[dict[str, Any]] | None = None) -> dict[tuple[str, str], Any]:
    """What every rollup should hold, computed from the stored readings themselves (the table's, or ``readings``:
    the lake's, see :func:`lake_readings`)."""
    dynamodb = client("dynamodb", settings)
    if readings is None:
        sites = {row["site_id"] for row in query.rollups(settings, dynamodb, [rollups.TOTAL_BUCKET])}
        readings = [item for site in sites for item in query.readings(settings, dynamodb, site)]
    expected: dict[tuple[str, str], dict[str, Any]] = defaultdict(rollups.zero)
    for item in readings:
        site = item["site_id"]
        for bucket in rollups.buckets(item["timestamp"]):
            sums = expected[(bucket, site)]
            for name, value in rollups.contribution(item).items():
                sums[name] += value
            sums["last_reading_at"] = max(sums.get("last_reading_at", ""), item["timestamp"])
    return expected


def assert_rollups_exact(settings: Settings, readings: list[dict[str, Any]] | None = None) -> int:
    """Every rollup equals the sums of the stored readings (valid and flagged apart; the table's, or ``readings``)
    and its watermark is the latest of them, and no rollup counts a reading that is not stored; returns how many
    rollups were compared."""
    expected = sums_from_readings(settings, readings)
    buckets = sorted({bucket for bucket, _ in expected})
    held = {(r["bucket"], r["site_id"]): r for r in query.rollups(settings, client("dynamodb", settings), buckets)}
    for key, sums in expected.items():
        names = [*rollups.COUNTERS, "last_reading_at"]
        assert {n: held[key].get(n) for n in names} == {n: sums[n] for n in names}, key
    for key, row in held.items():
        if key not in expected:
            assert all(row[n] == 0 for n in rollups.COUNTERS), key
    return len(expected)


def flagged_sums_of_anomalies(settings: Settings, readings: list[dict[str, Any]] | None = None) -> dict[str, Decimal]:
    """The energies of every stored anomaly, added up from the sparse anomaly index (or from ``readings``, the
    lake's), per site."""
    dynamodb = client("dynamodb", settings)
    totals: dict[str, Decimal] = defaultdict(Decimal)
    if readings is not None:
        for row in readings:
            if row["anomaly"]:
                totals[row["site_id"]] += row["energy_generated_kwh"]
        return totals
    for site in query.sites(settings, dynamodb):
        for row in query.anomalies(settings, dynamodb, site):
            totals[site] += row["energy_generated_kwh"]
    return totals


LAKE_FIELDS = (
    "site_id",
    "timestamp",
    *rollups.ENERGY,
    "anomaly",
    "severity",
    "anomaly_reasons",
    "rounded",
    "source_key",
)


def table_readings(settings: Settings) -> list[dict[str, Any]]:
    """Every stored reading (the readings table), as the lake's columns, by site and time."""
    dynamodb = client("dynamodb", settings)
    rows = [item for site in query.sites(settings, dynamodb) for item in query.readings(settings, dynamodb, site)]
    return sorted(
        (
            {
                **{name: item.get(name) for name in LAKE_FIELDS},
                "anomaly_reasons": list(item.get("anomaly_reasons") or []),
                "rounded": list(item.get("rounded") or []),  # only on rounded readings; [] in the lake
            }
            for item in rows
        ),
        key=lambda row: (row["site_id"], row["timestamp"]),
    )


def settle(pipeline: Pipeline, rounds: int = 5) -> int:
    """Drain the pipeline and fold the lake, as the local stack does, until compaction writes no correction (the
    corrections it writes go through the stream to the rollups); returns how many corrections were written."""
    from energy_lib.compaction.days import compact

    written = 0
    for _ in range(rounds):
        pipeline.drain()
        found = sum(day.corrections for day in compact(pipeline.settings, client("s3", pipeline.settings)))
        if not found:
            return written
        written += found
    raise AssertionError(f"compaction kept writing corrections after {rounds} rounds")


def lake_readings(settings: Settings) -> list[dict[str, Any]]:
    """Every reading of the lake (DuckDB over the bucket), as :func:`table_readings` has them."""
    from energy_lib.workbook.lake import engines

    columns = ", ".join(f'"{name}"' for name in LAKE_FIELDS)
    frame = engines.sql(settings, f'SELECT {columns} FROM readings ORDER BY site_id, "timestamp"')
    return [
        {**row, "anomaly_reasons": list(row["anomaly_reasons"] or []), "rounded": list(row["rounded"] or [])}
        for row in engines.records(frame)
    ]
