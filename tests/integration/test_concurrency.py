"""Exact at any concurrency and order, against a real moto server: six workers call the real ingest handler on
overlapping files, corrections and new versions of the same keys, with re-deliveries, while the stream mapping
hands batches to the real aggregator that crash before, during and after their work and are retried and split;
and the same with the time to live deleting the readings over and over meanwhile (every version after that is
stored again without an old image: compaction's corrections keep the rollups exact). Every rollup equals the
stored readings (the lake's, when the table let them go), flagged sums equal the stored anomalies, the newest
version of every key wins, and every processed version with anomalies sent exactly one alert."""

from __future__ import annotations

import json
import random
import threading
import time
from collections import defaultdict
from decimal import Decimal
from typing import Any

import pytest

from energy_lib import query, raw_objects
from energy_lib.clients import client
from energy_lib.config import Settings
from energy_lib.workbook.aws import ops
from energy_lib.workbook.local import moto_gaps
from tests.integration.harness import (
    Pipeline,
    assert_rollups_exact,
    event_of,
    flagged_sums_of_anomalies,
    lake_readings,
    put,
    real_handlers,
    settle,
)

WORKERS = 6
ROUNDS = 4
SITES = ("S1", "S2", "S3", "S4")
OWN_KEYS = 6  # each owns its readings; every round writes a new version of each (a correction)
SHARED_KEYS = 3  # their readings overlap the others' (the last writer wins)
PAST_THE_HOT_WINDOW_S = 36 * 24 * 3600  # "now" for the time to live: every reading stored so far has expired


def rows(rng: random.Random, key_index: int, shared: bool) -> list[dict[str, Any]]:
    """A file's readings: its own second of each 5 minutes, or (shared) the seconds other files use too."""
    second = 0 if shared else key_index + 1
    result = []
    for minute in range(0, 60, 5):
        for site in SITES:
            generated = Decimal(rng.randint(-3000, 90000)) / 1000  # some negative, some implausible: anomalies
            result.append(
                {
                    "site_id": site,
                    "timestamp": f"2025-06-11T0{minute // 20}:{minute:02d}:{second:02d}Z",
                    "energy_generated_kwh": str(generated),
                    "energy_consumed_kwh": str(Decimal(rng.randint(0, 40000)) / 1000),
                }
            )
    return result


@pytest.mark.parametrize("expiring", [False, True], ids=["kept", "expiring meanwhile"])
def test_six_workers_rounds_of_corrections_and_crashing_stream_batches_stay_exact(
    settings: Settings, expiring: bool
) -> None:
    rng = random.Random(20250611)
    ingest, aggregate = real_handlers(settings)
    dynamodb = client("dynamodb", settings)
    crashes = defaultdict(int)
    lock = threading.Lock()

    def crashing_aggregator(event: dict[str, Any], context: Any) -> dict[str, Any]:
        """The real aggregator, dying now and then before its work, and after it (the work is done, the
        response is lost: the whole batch comes again)."""
        with lock:
            draw = rng.random()
        if draw < 0.15:
            crashes["before"] += 1
            raise TimeoutError("Task timed out before")
        response = aggregate(event, context)
        if draw > 0.85:
            crashes["after"] += 1
            raise ConnectionError("the response never reached the mapping")
        return response

    def flaky_update(params: dict[str, Any], **_: Any) -> None:
        """One rollup write in twenty fails on its way out: a partial batch failure."""
        if params.get("TableName") == settings.rollups_table:
            with lock:
                fail = rng.random() < 0.05
            if fail:
                crashes["update"] += 1
                raise RuntimeError("throttled")

    pipeline = Pipeline(settings, aggregator=crashing_aggregator)
    dynamodb.meta.events.register("provide-client-params.dynamodb.PutItem", flaky_update)
    stop = threading.Event()

    sqs = client("sqs", settings)
    url = sqs.get_queue_url(QueueName=settings.ingest_queue)["QueueUrl"]
    results: dict[str, int] = defaultdict(int)

    def ingest_worker(name: str) -> None:
        """One of the function's concurrent invocations: batches of up to 10 messages, like the mapping."""
        idle = 0
        while idle < 3:
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30).get(
                "Messages", []
            )
            if not messages:
                idle += 1
                stop.wait(0.2)
                continue
            idle = 0
            failed = {f["itemIdentifier"] for f in ingest(event_of(settings, messages), None)["batchItemFailures"]}
            with lock:
                results["failed"] += len(failed)
                redeliver = rng.random() < 0.2  # SQS delivers a done message again
            done = [m for m in messages if m["MessageId"] not in failed]
            if done and not redeliver:
                sqs.delete_message_batch(
                    QueueUrl=url,
                    Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
                )
            for m in messages:  # a failed message (its key busy) comes back a second later, as SQS would later
                if m["MessageId"] in failed or redeliver:
                    again = 1 if m["MessageId"] in failed else 0
                    sqs.change_message_visibility(
                        QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=again
                    )

    expired: list[int] = []

    def time_to_live() -> None:
        """DynamoDB's time to live, deleting every reading stored so far, again and again while the workers run."""
        while not stop.wait(0.3):
            later = time.time() + PAST_THE_HOT_WINDOW_S
            expired.append(moto_gaps.expire_items(settings.region, settings.readings_table, later))

    latest: dict[str, list[dict[str, Any]]] = {}
    streamer = threading.Thread(target=pipeline.stream.run)  # the stream's mapping, as the local stack runs it
    streamer.start()
    expirer = threading.Thread(target=time_to_live)
    if expiring:
        expirer.start()
    try:
        for _ in range(ROUNDS):
            # GIVEN a round of uploads: a new version of every key (corrections), one of them twice (A-B-A style)
            for k in range(OWN_KEYS + SHARED_KEYS):
                key = f"raw/2025/06/11/{'shared' if k >= OWN_KEYS else 'own'}-{k}.json"
                latest[key] = rows(rng, k, shared=k >= OWN_KEYS)
                put(settings, key, json.dumps(latest[key]).encode())
            repeat = f"raw/2025/06/11/own-{rng.randrange(OWN_KEYS)}.json"
            put(settings, repeat, json.dumps(latest[repeat]).encode())  # the same content, a newer version
            # WHEN six workers process the notifications at once
            workers = [threading.Thread(target=ingest_worker, args=(f"w{i}",)) for i in range(WORKERS)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join(300)
            assert not any(worker.is_alive() for worker in workers)
    finally:
        stop.set()
        pipeline.stream.stop()
        streamer.join(300)
        if expiring:
            expirer.join(60)
        dynamodb.meta.events.unregister("provide-client-params.dynamodb.PutItem", flaky_update)
    assert not streamer.is_alive()  # one reader per shard: the drain below must not run beside it
    pipeline.stream.stopping.clear()
    corrected = settle(pipeline)  # drained, the lake folded, its corrections through the rollups
    stored = lake_readings(settings) if expiring else None  # the lake's readings when the table let them go
    if expiring:  # THEN readings really expired between versions, and compaction corrected the rollups
        assert sum(expired) and corrected, (expired, corrected)

    # THEN the stream batches really crashed and were retried, and nothing was given up
    assert crashes["before"] and crashes["after"] and crashes["update"], dict(crashes)
    assert pipeline.stream.given_up == 0 and ops.queue_depth(settings, settings.rollups_dead_letter_queue) == 0
    # AND every rollup equals the sums of the stored readings, valid and flagged apart
    assert assert_rollups_exact(settings, stored) == len(SITES) * (1 + 1 + 3)
    totals = {row["site_id"]: row for row in query.summary(settings, dynamodb)["sites"]}
    flagged = flagged_sums_of_anomalies(settings, stored)
    assert {site: totals[site]["flagged_energy_generated_kwh"] for site in SITES} == {
        site: flagged.get(site, Decimal(0)) for site in SITES
    }
    assert {site: totals[site]["readings"] for site in SITES} == {site: 12 * (OWN_KEYS + 1) for site in SITES}
    # AND every key's own readings are its newest version's
    for k in range(OWN_KEYS):
        key = f"raw/2025/06/11/own-{k}.json"
        readings = stored or [r for site in SITES for r in query.readings(settings, dynamodb, site)]
        own = {
            (r["site_id"], r["timestamp"]): Decimal(r["energy_generated_kwh"])
            for r in readings
            if r["timestamp"].endswith(f":{k + 1:02d}Z")
        }
        assert own == {(r["site_id"], r["timestamp"]): Decimal(r["energy_generated_kwh"]) for r in latest[key]}
    # AND each processed version with anomalies sent one alert, no more
    rows_ = raw_objects.ingest_status(settings, client("s3", settings), dynamodb)
    assert {row["status"] for row in rows_} == {"processed"}
    processed_with_anomalies = 0
    for page in dynamodb.get_paginator("scan").paginate(TableName=settings.ledger_table):
        for item in page["Items"]:
            if item.get("status", {}).get("S") == "processed" and int(item["anomalies"]["N"]):
                processed_with_anomalies += 1
    assert ops.queue_depth(settings, settings.alerts_queue) == processed_with_anomalies
