"""Site-health benchmarks on a real moto server: what the hourly freshness check reads for 10, 100 and 1,000
registered sites (against asking each site's latest reading), and what the daily assessment costs per
site-day. Counts are asserted; CPU time is only printed."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from energy_lib.clients import client
from energy_lib.dynamo import Cost, batch_put
from energy_lib.workbook import simulator
from energy_lib.workbook.health import assessment, freshness
from energy_lib.workbook.sites import registry
from energy_lib.workbook.sites.registry import RegisteredSite
from tests.benchmarks import results
from tests.benchmarks.test_benchmarks import Requests, report
from tests.conftest import fresh_stack
from tests.integration.harness import Pipeline

pytestmark = pytest.mark.benchmark
NOW = datetime(2025, 6, 12, 9, tzinfo=timezone.utc)
CHECKS = ("quality", "performance")


def fleet_of(n: int) -> list[RegisteredSite]:
    return [
        RegisteredSite(
            f"S{i:05d}", f"Site {i}", Decimal("37.389"), Decimal("-5.984"), "Europe/Madrid", "solar", Decimal(100), 5
        )
        for i in range(n)
    ]


def naive_latest(settings: Any, dynamodb: Any, sites: list[RegisteredSite]) -> Cost:
    """The way without rollups: one Query per site for its newest reading."""
    cost = Cost()
    for site in sites:
        cost.add(
            dynamodb.query(
                TableName=settings.readings_table,
                KeyConditionExpression="site_id = :s",
                ExpressionAttributeValues={":s": {"S": site.site_id}},
                ScanIndexForward=False,
                Limit=1,
            )
        )
    return cost


def test_the_hourly_freshness_check_costs_pages_not_sites(
    moto_port: int, tmp_path_factory: pytest.TempPathFactory
) -> None:
    rows = []
    for n in (10, 100, 1000):
        settings = fresh_stack(moto_port, tmp_path_factory.mktemp(f"fresh{n}"))
        dynamodb = client("dynamodb", settings)
        sites = fleet_of(n)
        registry.put_sites(settings, dynamodb, sites)
        last = [(NOW - timedelta(minutes=5 * (i % 12))).strftime("%Y-%m-%dT%H:%M:%SZ") for i in range(n)]
        # the all-time rollup items as the stream aggregator keeps them, and each site's latest reading
        batch_put(
            dynamodb,
            settings.rollups_table,
            [
                {"bucket": "T", "site_id": s.site_id, "readings": 288, "last_reading_at": t}
                for s, t in zip(sites, last, strict=True)
            ],
        )
        batch_put(
            dynamodb,
            settings.readings_table,
            [{"site_id": s.site_id, "timestamp": t, "day": t[:10]} for s, t in zip(sites, last, strict=True)],
        )
        cost = Cost()
        with Requests(dynamodb) as requests:
            started = time.process_time()
            frame = freshness.check(settings, dynamodb, NOW, cost=cost)
            cpu_ms = 1000 * (time.process_time() - started)
        naive = naive_latest(settings, dynamodb, sites)
        assert len(frame) == n
        assert int(frame["silent"].sum()) == sum(5 * (i % 12) > 30 for i in range(n))  # older than 6 x 5 min
        assert requests.total == cost.requests and set(requests.counts) == {"Query"}  # never a Scan, never a reading
        assert cost.items_read == 2 * n and naive.requests == n
        assert cost.requests <= 2 + 2 * (n // 1000)  # a page holds 1 MB: thousands of sites
        rows.append((n, cost.requests, cost.items_read, naive.requests, round(cpu_ms)))
    fields = ("sites", "requests", "items_read", "naive_requests", "cpu_ms")
    results.write("site_health_freshness", [dict(zip(fields, row, strict=True)) for row in rows])
    print("\nHourly freshness check (registry + all-time rollups) against one Query per site")
    print(f"{'sites':>8}{'requests':>10}{'items read':>12}{'naive requests':>16}{'CPU [ms]':>10}")
    for n, requests_sent, items, naive_requests, cpu in rows:
        print(f"{n:>8}{requests_sent:>10}{items:>12}{naive_requests:>16}{cpu:>10}")


def test_the_daily_assessment_cost_per_site_day(moto_port: int, tmp_path_factory: pytest.TempPathFactory) -> None:
    settings = fresh_stack(moto_port, tmp_path_factory.mktemp("daily"))
    dynamodb, s3 = client("dynamodb", settings), client("s3", settings)
    fleet = simulator.default_fleet(10)
    registry.put_sites(settings, dynamodb, simulator.registry_entries(fleet, 15))
    # yesterday, as the schedule assesses it: inside the hot window, so its readings come from the table
    start = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
    run = simulator.simulate(fleet, start, 24, 15, 0.02, 3)
    for file in simulator.to_files(run):
        s3.put_object(Bucket=settings.bucket, Key=file.key, Body=file.body)
    Pipeline(settings).drain()  # readings stored, rollups from the stream
    cost = Cost()
    with Requests(dynamodb) as requests:
        started = time.process_time()
        result = assessment.assess(
            settings, dynamodb, start, start + timedelta(days=1), start + timedelta(days=1, hours=9), CHECKS, cost=cost
        )
        cpu_s = time.process_time() - started
    site_days = result.site_days
    report(
        "site_health_daily",
        f"Daily assessment (quality + performance) of {site_days} site-days, {len(run.readings)} readings",
        [
            ("requests per site-day", round(requests.total / site_days, 2), "-"),
            ("items read per site-day", round(cost.items_read / site_days, 1), "-"),
            ("CPU ms per site-day", round(1000 * cpu_s / site_days), "-"),
        ],
    )
    # registry (1 Query) + one day of readings (one Query per registered site) + 15 daily rollup buckets (period +
    # 14 baseline days): the items an index by day would read, in a request per site
    assert set(requests.counts) == {"Query"}
    assert cost.items_read == len(fleet) + len(run.readings) + len(fleet)  # only the period's day has rollups
    assert requests.total == 1 + len(fleet) + 15
    assert result.events == [] and len(result.quality) == site_days
