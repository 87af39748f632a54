"""Queries read only what they return (ScannedCount / Count = 1.0) and never Scan."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest

from energy_lib import query, raw_objects
from energy_lib.clients import client
from energy_lib.config import Settings
from energy_lib.dynamo import Cost
from energy_lib.errors import QueryError
from energy_lib.workbook import simulator
from tests.conftest import fresh_stack
from tests.integration.harness import Pipeline, put

pytestmark = pytest.mark.stack

START = datetime(2025, 6, 11, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def loaded(moto_port: int, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Two days of a 4-site fleet at 30-minute intervals with 10% anomalies, processed (shared by this module)."""
    settings = fresh_stack(moto_port, tmp_path_factory.mktemp("state"))
    run = simulator.simulate(simulator.default_fleet(4), START, 48, 30, anomaly_rate=0.1, seed=7)
    for file in simulator.to_files(run):
        put(settings, file.key, file.body)
    Pipeline(settings).drain()
    return settings


@pytest.fixture
def calls(loaded: Settings) -> dict[str, int]:
    counted: dict[str, int] = defaultdict(int)

    def count(event_name: str, **_: Any) -> None:
        counted[event_name.rsplit(".", 1)[-1]] += 1

    dynamodb = client("dynamodb", loaded)
    dynamodb.meta.events.register("before-call.dynamodb.*", count)
    yield counted
    dynamodb.meta.events.unregister("before-call.dynamodb.*", count)


def test_readings_of_one_site_read_only_the_range(loaded: Settings, calls: dict[str, int]) -> None:
    cost = Cost()
    rows = query.readings(
        loaded, client("dynamodb", loaded), "SITE_002", "2025-06-11T06:00:00Z", "2025-06-11T12:00:00Z", cost
    )
    assert len(rows) == 12  # 6 hours at 30 minutes, end exclusive
    assert rows[0]["timestamp"] == "2025-06-11T06:00:00Z" and rows[-1]["timestamp"] == "2025-06-11T11:30:00Z"
    assert cost.items_read == cost.items_returned == 12
    assert cost.read_ratio == 1.0
    assert "Scan" not in calls


def test_anomalies_read_only_anomalies(loaded: Settings, calls: dict[str, int]) -> None:
    dynamodb = client("dynamodb", loaded)
    site_cost, fleet_cost = Cost(), Cost()
    site_rows = query.anomalies(loaded, dynamodb, "SITE_001", cost=site_cost)
    fleet_rows = query.anomalies(loaded, dynamodb, None, "2025-06-11", "2025-06-13", cost=fleet_cost)
    all_readings = query.fleet_readings(loaded, dynamodb, "2025-06-11", "2025-06-13")
    assert len(all_readings) == 4 * 96
    assert fleet_rows and all(row["anomaly"] for row in fleet_rows)
    assert len(fleet_rows) == sum(r["anomaly"] for r in all_readings)
    assert [r["timestamp"] for r in site_rows] == [
        r["timestamp"] for r in all_readings if r["anomaly"] and r["site_id"] == "SITE_001"
    ]
    assert site_cost.read_ratio == fleet_cost.read_ratio == 1.0
    assert fleet_cost.items_read == len(fleet_rows) < len(all_readings)
    assert "Scan" not in calls


def test_fleet_readings_use_one_query_per_site(loaded: Settings, calls: dict[str, int]) -> None:
    cost = Cost()
    rows = query.fleet_readings(
        loaded, client("dynamodb", loaded), "2025-06-11T22:00:00Z", "2025-06-12T02:00:00Z", cost
    )
    assert len(rows) == 4 * 8
    assert {r["site_id"] for r in rows} == {"SITE_001", "SITE_002", "SITE_003", "SITE_004"}
    # the sites (their all-time rollups and the registry, here empty), then one Query per site with the range in
    # its key condition
    assert cost.requests == 2 + 4 and cost.items_read - 4 == len(rows) and cost.read_ratio == 1.0
    assert calls["Query"] == 6 and "Scan" not in calls
    named = query.fleet_readings(loaded, client("dynamodb", loaded), "2025-06-11", "2025-06-12", site_ids=["SITE_002"])
    assert {r["site_id"] for r in named} == {"SITE_002"} and len(named) == 48


def test_summary_reads_rollups_and_only_the_readings_after_them(loaded: Settings, calls: dict[str, int]) -> None:
    dynamodb = client("dynamodb", loaded)
    cost = Cost()
    # 2025-06-11T22:00 .. 2025-06-13T00:00: the all-time bucket (the watermarks), two hour buckets and one day
    # bucket, 4 sites each; the registry (empty); and per site the readings after its watermark (23:30 on the
    # 12th, the last reading: none after it, but the range ends at midnight, so each site is asked)
    result = query.summary(loaded, dynamodb, "2025-06-11T22:00:00Z", "2025-06-13T00:00:00Z", cost)
    assert cost.requests == 4 + 1 + 4
    assert cost.items_read == cost.items_returned == 4 * 4  # sites x periods, not 4 x 52 readings
    assert calls["Query"] == 9 and "Scan" not in calls
    assert result["fleet"]["readings_after_rollups"] == 0
    # a period that ends before every site's watermark needs no reading at all
    past = Cost()
    assert query.summary(loaded, dynamodb, "2025-06-11T00:00:00Z", "2025-06-12T00:00:00Z", past)["fleet"]["readings"]
    assert past.requests == 1 + 1 + 1 and past.items_read == 4 + 4
    readings = query.fleet_readings(loaded, dynamodb, "2025-06-11T22:00:00Z", "2025-06-13T00:00:00Z")
    fleet = result["fleet"]
    assert fleet["readings"] == len(readings) == 4 * 52
    valid = [r for r in readings if not r["anomaly"]]
    flagged = [r for r in readings if r["anomaly"]]
    assert fleet["energy_generated_kwh"] == sum(r["energy_generated_kwh"] for r in valid)
    assert fleet["net_energy_kwh"] == sum(r["net_energy_kwh"] for r in valid)
    assert fleet["flagged_energy_generated_kwh"] == sum(r["energy_generated_kwh"] for r in flagged)
    assert fleet["flagged_net_energy_kwh"] == sum(r["net_energy_kwh"] for r in flagged)
    assert (fleet["anomalies"], fleet["valid_readings"]) == (len(flagged), len(valid))
    assert fleet["efficiency_pct"] == (
        sum(r["energy_generated_kwh"] for r in valid) / sum(r["energy_consumed_kwh"] for r in valid) * 100
    ).quantize(Decimal("0.01"))


def test_sites_and_ingest_status_need_no_scan(loaded: Settings, calls: dict[str, int]) -> None:
    dynamodb = client("dynamodb", loaded)
    assert query.sites(loaded, dynamodb) == ["SITE_001", "SITE_002", "SITE_003", "SITE_004"]
    status = raw_objects.ingest_status(loaded, client("s3", loaded), dynamodb)
    assert len(status) == 4 * 2 and {row["status"] for row in status} == {"processed"}
    assert "Scan" not in calls


def test_bad_arguments_are_query_errors(loaded: Settings) -> None:
    dynamodb = client("dynamodb", loaded)
    with pytest.raises(QueryError, match="site id"):
        query.readings(loaded, dynamodb, "no spaces allowed")
    with pytest.raises(QueryError, match="start and end"):
        query.anomalies(loaded, dynamodb, None)
    with pytest.raises(QueryError, match="after start"):
        query.summary(loaded, dynamodb, "2025-06-12", "2025-06-11")
    assert json.dumps(query.summary(loaded, dynamodb, "2030-01-01", "2030-01-02"), default=str)
