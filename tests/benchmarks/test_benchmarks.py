"""Benchmarks: items read, requests sent and readings per second, each against the naive way the seed
projects did it, measured in the same run on the same moto server. Counts are asserted; times are only
printed (these machines are noisy)."""

from __future__ import annotations

import io
import json
import time
from collections import defaultdict
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest

from energy_lib import query
from energy_lib.clients import client
from energy_lib.config import Settings
from energy_lib.dynamo import Cost, batch_put, from_item, to_item
from energy_lib.parsing import read_records
from energy_lib.pipeline import Services, process_object
from energy_lib.rules import assess
from energy_lib.storage import reading_item
from energy_lib.validation import validate_records
from energy_lib.workbook import simulator
from tests.benchmarks import results
from tests.benchmarks.sizes import size
from tests.conftest import fresh_stack
from tests.integration.harness import Pipeline, put, take_notifications

pytestmark = pytest.mark.benchmark
SITES, HOURS, INTERVAL_MINUTES = 5, 48, 5  # 5 sites x 576 readings
LARGE_SITES, LARGE_READINGS = 100, size(5_000, 10_000)  # the throughput file: 100 sites x 50 or 100 readings
NAIVE_SAMPLE = size(1_000, 2_000)


class Requests:
    """Counts every DynamoDB request a client sends."""

    def __init__(self, dynamodb: Any) -> None:
        self.counts: dict[str, int] = defaultdict(int)
        self.dynamodb = dynamodb

    def __enter__(self) -> Requests:
        self.dynamodb.meta.events.register("before-call.dynamodb.*", self._count)
        return self

    def __exit__(self, *_: object) -> None:
        self.dynamodb.meta.events.unregister("before-call.dynamodb.*", self._count)

    def _count(self, event_name: str, **_: Any) -> None:
        self.counts[event_name.rsplit(".", 1)[-1]] += 1

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@pytest.fixture(scope="module")
def ingested(moto_port: int, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two days of 5 sites, through both real entry points."""
    settings = fresh_stack(moto_port, tmp_path_factory.mktemp("bench"))
    run = simulator.simulate(
        simulator.default_fleet(SITES), datetime(2025, 6, 11, tzinfo=timezone.utc), HOURS, INTERVAL_MINUTES, 0.02, 11
    )
    for file in simulator.to_files(run):
        put(settings, file.key, file.body)
    Pipeline(settings).drain()
    return {"settings": settings, "readings": len(run.readings)}


def report(name: str, title: str, rows: list[tuple[str, Any, Any]]) -> None:
    """Print the table and write it to build/benchmarks/<name>.json."""
    print(f"\n{title}\n{'measure':<40}{'energy_lib':>14}{'naive':>14}")
    for measure, ours, naive in rows:
        print(f"{measure:<40}{ours!s:>14}{naive!s:>14}")
    results.write(name, [{"measure": m, "energy_lib": ours, "naive": naive} for m, ours, naive in rows], about=title)


def large_file() -> bytes:
    rows = [
        {"site_id": f"SITE_{i % LARGE_SITES:03d}", "timestamp": f"2025-06-11T{i // LARGE_SITES // 12:02d}:"
         f"{i // LARGE_SITES % 12 * 5:02d}:00Z", "energy_generated_kwh": f"{i % 89}.125", "energy_consumed_kwh": "2.5"}
        for i in range(LARGE_READINGS)
    ]  # fmt: skip
    return json.dumps(rows).encode()


def test_ingestion_throughput_against_a_naive_processor(moto_port: int, tmp_path) -> None:
    # GIVEN a 10,000-reading file on a fresh stack
    settings = fresh_stack(moto_port, tmp_path)
    body = large_file()
    put(settings, "raw/2025/06/11/large.json", body)
    [notification] = take_notifications(settings)
    pipeline = Pipeline(settings)
    services = Services.from_settings(settings)
    # WHEN the real ingest processes it (readings, ledger, quarantine, alert), then the aggregator its stream
    with Requests(services.dynamodb) as ours:
        started, started_cpu = time.perf_counter(), time.process_time()
        outcome = process_object(services, notification)
        ingest_s, ingest_cpu_s = time.perf_counter() - started, time.process_time() - started_cpu
    started = time.perf_counter()
    pipeline.drain()
    aggregate_s = time.perf_counter() - started
    # AND a naive processor (the reference projects') parses the same file and sends one PutItem per reading,
    # no ledger, no rollups, to a table of its own on the same server
    naive_table, floor_table = f"{settings.readings_table}-naive", f"{settings.readings_table}-floor"
    dynamodb = services.dynamodb
    keys = (("site_id", "HASH"), ("timestamp", "RANGE"))
    with_stream = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    for table, stream in ((naive_table, {"StreamEnabled": False}), (floor_table, with_stream)):
        dynamodb.create_table(
            TableName=table,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": name, "AttributeType": "S"} for name, _ in keys],
            KeySchema=[{"AttributeName": name, "KeyType": kind} for name, kind in keys],
            StreamSpecification=stream,
        )
    with Requests(dynamodb) as naive:
        started, started_cpu = time.perf_counter(), time.process_time()
        parsed = validate_records(read_records(io.BytesIO(body), "large.json", Settings()))
        for r in parsed.readings[:NAIVE_SAMPLE]:
            item = reading_item(r, assess(r, settings), "large.json", datetime.now(timezone.utc))
            dynamodb.put_item(TableName=naive_table, Item=to_item(item))
        naive_s, naive_cpu_s = time.perf_counter() - started, time.process_time() - started_cpu
    # AND the same items written by BatchWriteItem alone, 25 a request, to a table with a stream like ours: what
    # the server spends per item, so the most any ingest that writes each reading as an item can gain here
    now = datetime.now(timezone.utc)
    items = [reading_item(r, assess(r, settings), "large.json", now) for r in parsed.readings[:NAIVE_SAMPLE]]
    started = time.perf_counter()
    batch_put(dynamodb, floor_table, items)
    floor_s = time.perf_counter() - started
    ingest_rate, naive_rate = LARGE_READINGS / ingest_s, NAIVE_SAMPLE / naive_s
    ingest_cpu_rate, naive_cpu_rate = LARGE_READINGS / ingest_cpu_s, NAIVE_SAMPLE / naive_cpu_s
    end_to_end_rate = LARGE_READINGS / (ingest_s + aggregate_s)
    report(
        "ingest_throughput",
        f"Ingestion of one file of {LARGE_READINGS:,} readings ({NAIVE_SAMPLE:,} for the naive processor)",
        [
            ("DynamoDB requests per reading", round(ours.total / LARGE_READINGS, 4), naive.total / NAIVE_SAMPLE),
            ("write requests per reading", round(ours.counts["BatchWriteItem"] / LARGE_READINGS, 4), 1.0),
            ("readings per second, ingest", round(ingest_rate), round(naive_rate)),
            ("readings per second, with the rollups", round(end_to_end_rate), "no rollups"),
            ("ingest throughput ratio (target >= 10)", round(ingest_rate / naive_rate, 1), 1.0),
            ("readings per CPU second (client + moto)", round(ingest_cpu_rate), round(naive_cpu_rate)),
            ("ratio in CPU time", round(ingest_cpu_rate / naive_cpu_rate, 1), 1.0),
            ("BatchWriteItem alone, readings per second", round(NAIVE_SAMPLE / floor_s), "-"),
            ("the most a batching ingest gains here", round(naive_s / floor_s, 1), 1.0),
        ],
    )
    # THEN every reading is stored with 400 BatchWriteItem requests and the ledger's writes, nothing read back
    assert outcome.counts.stored == LARGE_READINGS
    renewals = LARGE_READINGS // 500 - 1
    assert dict(ours.counts) == {"BatchWriteItem": LARGE_READINGS // 25, "UpdateItem": 3 + renewals}
    assert naive.counts == {"PutItem": NAIVE_SAMPLE}
    assert naive.total / NAIVE_SAMPLE >= 10 * ours.total / LARGE_READINGS  # requests: the cost that is not time
    assert query.summary(settings, dynamodb)["fleet"]["readings"] == LARGE_READINGS


def naive_summary(settings: Settings, dynamodb: Any, start: str, end: str) -> tuple[dict[str, Decimal], Cost]:
    """What the seeds did: Scan the readings table with a filter and add up in Python."""
    cost = Cost()
    totals: dict[str, Decimal] = defaultdict(Decimal)
    request: dict[str, Any] = {
        "TableName": settings.readings_table,
        "FilterExpression": "#ts BETWEEN :a AND :b",
        "ExpressionAttributeNames": {"#ts": "timestamp"},
        "ExpressionAttributeValues": to_item({":a": start, ":b": end}),
    }
    while True:
        page = dynamodb.scan(**request)
        cost.add(page)
        for item in map(from_item, page["Items"]):
            totals["energy_generated_kwh"] += item["energy_generated_kwh"]
            totals["readings"] += 1
        if "LastEvaluatedKey" not in page:
            return totals, cost
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def test_summary_reads_sites_times_periods_not_readings(ingested: dict[str, Any]) -> None:
    settings = ingested["settings"]
    dynamodb = client("dynamodb", settings)
    ours = Cost()
    summary = query.summary(settings, dynamodb, "2025-06-11T00:00:00Z", "2025-06-12T00:00:00Z", ours)
    naive, naive_cost = naive_summary(settings, dynamodb, "2025-06-11T00:00:00Z", "2025-06-11T23:59:59Z")
    report(
        "summary_reads",
        "Summary of one day, 5 sites",
        [
            ("items read", ours.items_read, naive_cost.items_read),
            ("requests", ours.requests, naive_cost.requests),
            ("items read / items used", ours.read_ratio, round(naive_cost.items_read / naive["readings"], 2)),
        ],
    )
    assert summary["fleet"]["readings"] == naive["readings"] == SITES * 288
    fleet = summary["fleet"]  # valid and flagged energy apart; together, every reading's
    assert fleet["energy_generated_kwh"] + fleet["flagged_energy_generated_kwh"] == naive["energy_generated_kwh"]
    assert ours.items_read == SITES  # one day bucket x 5 sites
    assert naive_cost.items_read >= 50 * ours.items_read


def test_site_range_query_reads_only_what_it_returns(ingested: dict[str, Any]) -> None:
    settings = ingested["settings"]
    dynamodb = client("dynamodb", settings)
    ours = Cost()
    rows = query.readings(settings, dynamodb, "SITE_003", "2025-06-12T06:00:00Z", "2025-06-12T07:00:00Z", ours)
    naive = Cost()  # the seeds: Query the whole partition, FilterExpression on the dates
    request = {
        "TableName": settings.readings_table,
        "KeyConditionExpression": "site_id = :s",
        "FilterExpression": "#ts BETWEEN :a AND :b",
        "ExpressionAttributeNames": {"#ts": "timestamp"},
        "ExpressionAttributeValues": to_item(
            {":s": "SITE_003", ":a": "2025-06-12T06:00:00Z", ":b": "2025-06-12T06:59:59Z"}
        ),
    }
    naive.add(dynamodb.query(**request))
    report(
        "site_range_reads",
        "Readings of one site for one hour",
        [
            ("items read", ours.items_read, naive.items_read),
            ("items read / returned", ours.read_ratio, naive.read_ratio),
        ],
    )
    assert len(rows) == 12 and ours.read_ratio == 1.0
    assert naive.items_returned == 12 and naive.read_ratio > 40
