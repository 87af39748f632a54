"""Benchmarks: items read, requests sent and readings per second, each against the naive way the seed
projects did it, measured in the same run on the same moto server. Counts are asserted; times are only
printed (these machines are noisy)."""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest

from energy_lib import query
from energy_lib.clients import client
from energy_lib.config import Settings
from energy_lib.dynamo import Cost, from_item, to_item
from energy_lib.pipeline import Services, process_object
from energy_lib.workbook import simulator
from tests.conftest import fresh_stack

pytestmark = pytest.mark.benchmark
SITES, HOURS, INTERVAL_MINUTES = 5, 48, 5  # 5 sites x 576 readings


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
    settings = fresh_stack(moto_port, tmp_path_factory.mktemp("bench"))
    run = simulator.simulate(
        simulator.default_fleet(SITES), datetime(2025, 6, 11, tzinfo=timezone.utc), HOURS, INTERVAL_MINUTES, 0.02, 11
    )
    files = simulator.to_files(run)
    s3 = client("s3", settings)
    for file in files:
        s3.put_object(Bucket=settings.bucket, Key=file.key, Body=file.body)
    services = Services.from_settings(settings)
    with Requests(services.dynamodb) as requests:
        started = time.perf_counter()
        for file in files:
            process_object(services, file.key)
        seconds = time.perf_counter() - started
    return {"settings": settings, "readings": len(run.readings), "requests": requests, "seconds": seconds}


def report(title: str, rows: list[tuple[str, Any, Any]]) -> None:
    print(f"\n{title}\n{'measure':<34}{'energy_lib':>14}{'naive':>14}")
    for name, ours, naive in rows:
        print(f"{name:<34}{ours!s:>14}{naive!s:>14}")


def test_ingestion_requests_and_throughput(ingested: dict[str, Any]) -> None:
    settings, readings, requests = ingested["settings"], ingested["readings"], ingested["requests"]
    # naive baseline, same server: one PutItem per reading (what the seeds did)
    dynamodb = client("dynamodb", settings)
    sample = query.readings(settings, dynamodb, "SITE_001")[:200]
    with Requests(dynamodb) as naive:
        started = time.perf_counter()
        for item in sample:
            dynamodb.put_item(TableName=settings.readings_table, Item=to_item(item))
        naive_seconds = time.perf_counter() - started
    ours_per_reading = requests.counts["BatchWriteItem"] / readings
    report(
        f"Ingestion of {readings} readings in {SITES * (HOURS // 24)} files",
        [
            ("write requests per reading", round(ours_per_reading, 3), round(naive.total / len(sample), 3)),
            ("all DynamoDB requests per reading", round(requests.total / readings, 3), "-"),
            ("readings per second", round(readings / ingested["seconds"]), round(len(sample) / naive_seconds)),
        ],
    )
    assert requests.counts["BatchWriteItem"] <= readings / 25 + SITES * (HOURS // 24)  # one partial batch a file
    assert ours_per_reading <= 0.05 < naive.total / len(sample)
    assert "PutItem" not in requests.counts and "Scan" not in requests.counts


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
        "Summary of one day, 5 sites",
        [
            ("items read", ours.items_read, naive_cost.items_read),
            ("requests", ours.requests, naive_cost.requests),
            ("items read / items used", ours.read_ratio, round(naive_cost.items_read / naive["readings"], 2)),
        ],
    )
    assert summary["fleet"]["readings"] == naive["readings"] == SITES * 288
    assert summary["fleet"]["energy_generated_kwh"] == naive["energy_generated_kwh"]
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
        "Readings of one site for one hour",
        [
            ("items read", ours.items_read, naive.items_read),
            ("items read / returned", ours.read_ratio, naive.read_ratio),
        ],
    )
    assert len(rows) == 12 and ours.read_ratio == 1.0
    assert naive.items_returned == 12 and naive.read_ratio > 40
