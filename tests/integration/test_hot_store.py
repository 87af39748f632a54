"""DynamoDB as the hot store, the lake as history, against a real moto server through the real entry points:
the time to live takes readings out of the table and leaves the rollups and the lake as they were; a user's
deletion takes them out of all three; a reading stored again after it expired is counted once (compaction's
correction); a range older than the hot window is read from the lake, whatever the caller asks."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from energy_lib import query
from energy_lib.clients import client
from energy_lib.config import Settings
from energy_lib.workbook.aws import ops
from energy_lib.workbook.lake import stores
from energy_lib.workbook.local import moto_gaps
from energy_lib.workbook.notebook import frames, views
from tests.integration.harness import Pipeline, assert_rollups_exact, lake_readings, put, settle

pytestmark = pytest.mark.stack
KEY = "raw/2025/06/11/site-a.json"
LATER = 40 * 24 * 3600  # past a hot window of 35 days


def file(generated: str, sites: tuple[str, ...] = ("A", "B")) -> bytes:
    rows = [
        {"site_id": site, "timestamp": f"2025-06-11T10:{minute:02d}:00Z", "energy_generated_kwh": generated,
         "energy_consumed_kwh": "-1" if minute == 5 else "2"}
        for site in sites
        for minute in (0, 5, 10)
    ]  # fmt: skip
    return json.dumps(rows).encode()


def expire(settings: Settings) -> int:
    """Let the time to live act as it would 40 days from now: every reading stored so far goes."""
    return moto_gaps.expire_items(settings.region, settings.readings_table, time.time() + LATER)


def table_count(settings: Settings) -> int:
    dynamodb = client("dynamodb", settings)
    return sum(len(query.readings(settings, dynamodb, site)) for site in ("A", "B"))


def fleet(settings: Settings) -> dict[str, Any]:
    """The fleet's summary without the moments it was read at (``complete_through``; ``rolled_up_through`` is that
    moment too once every reading is rolled up)."""
    summary = query.summary(settings, client("dynamodb", settings))["fleet"]
    return {name: value for name, value in summary.items() if name not in ("complete_through", "rolled_up_through")}


def test_the_time_to_live_empties_the_table_and_leaves_rollups_and_lake_alone(settings: Settings) -> None:
    # GIVEN six readings through the pipeline, in the rollups and the lake
    pipeline = Pipeline(settings)
    put(settings, KEY, file("3"))
    settle(pipeline)
    before, lake = fleet(settings), lake_readings(settings)
    assert before["readings"] == 6 and len(lake) == 6 and table_count(settings) == 6
    # WHEN the time to live deletes them, and the stream's records of it are handed over
    assert expire(settings) == 6
    settle(pipeline)
    # THEN the table holds none, the rollups and the lake still every one, and nothing waits for the rollups
    assert table_count(settings) == 0
    assert fleet(settings) == before and lake_readings(settings) == lake
    assert assert_rollups_exact(settings, lake) == 2 * 3
    assert ops.unapplied(settings, client("dynamodb", settings), ops.stream_tail(settings)) == {}


def test_a_user_s_deletion_takes_the_reading_out_of_rollups_and_lake(settings: Settings) -> None:
    pipeline = Pipeline(settings)
    put(settings, KEY, file("3"))
    settle(pipeline)
    client("dynamodb", settings).delete_item(
        TableName=settings.readings_table, Key={"site_id": {"S": "A"}, "timestamp": {"S": "2025-06-11T10:00:00Z"}}
    )
    settle(pipeline)
    assert fleet(settings)["readings"] == 5 and len(lake_readings(settings)) == 5
    assert assert_rollups_exact(settings) == assert_rollups_exact(settings, lake_readings(settings))


@pytest.mark.parametrize("expired_before", ["B", "A and B"])
def test_a_newer_version_stored_after_the_older_one_expired_is_counted_once(
    settings: Settings, expired_before: str
) -> None:
    # GIVEN version A of a file, stored, folded into the lake, then expired from the table
    pipeline = Pipeline(settings)
    put(settings, KEY, file("3"))
    if expired_before == "A and B":
        pipeline.drain()  # in the rollups, not yet in the lake's day file: A's and B's lines fold together
    else:
        settle(pipeline)
    assert expire(settings) == 6
    # WHEN version B of the same file comes: its readings reach the stream as INSERTs, without an old image
    put(settings, KEY, file("5"))
    corrected = settle(pipeline)
    # THEN compaction corrected each of the six, the rollups count B's values once, as the lake and the table
    assert corrected == 6
    lake = lake_readings(settings)
    assert {row["energy_generated_kwh"] for row in lake} == {Decimal(5)}
    assert assert_rollups_exact(settings, lake) == assert_rollups_exact(settings) == 2 * 3
    totals = fleet(settings)
    assert (totals["readings"], totals["anomalies"]) == (6, 2)
    # AND folding the lake again corrects nothing twice
    assert settle(pipeline) == 0 and fleet(settings) == totals


def test_a_range_older_than_the_hot_window_is_read_from_the_lake_and_a_recent_one_from_the_table(
    settings: Settings,
) -> None:
    # GIVEN readings of 2025 (older than the hot window) and of yesterday, stored; the old ones then expired
    yesterday = datetime.now(timezone.utc).replace(hour=10, minute=0, second=0, microsecond=0) - timedelta(days=1)
    recent = [{"site_id": "A", "timestamp": f"{yesterday:%Y-%m-%dT%H:%M:%SZ}", "energy_generated_kwh": "7",
               "energy_consumed_kwh": "1"}]  # fmt: skip
    pipeline = Pipeline(settings)
    put(settings, KEY, file("3", ("A",)))
    settle(pipeline)
    moto_gaps.expire_items(settings.region, settings.readings_table, time.time() + LATER)
    put(settings, f"raw/{yesterday:%Y/%m/%d}/a.json", json.dumps(recent).encode())
    settle(pipeline)
    dynamodb = client("dynamodb", settings)
    # WHEN the caller asks for the old day, the recent day, and both
    old = stores.readings(settings, dynamodb, "A", "2025-06-11", "2025-06-12")
    hot = stores.readings(settings, dynamodb, "A", yesterday - timedelta(hours=1), yesterday + timedelta(hours=1))
    every = stores.readings(settings, dynamodb, "A")
    # THEN the old day comes from the lake (the table holds none of it), the recent one from the table
    assert query.readings(settings, dynamodb, "A", "2025-06-11", "2025-06-12") == []
    assert [(r["timestamp"], r["energy_generated_kwh"]) for r in old] == [
        (f"2025-06-11T10:{minute:02d}:00Z", Decimal(3)) for minute in (0, 5, 10)
    ]
    assert {name for name in old[0]} == {name for name in hot[0]}  # the same columns either way
    assert hot == query.readings(settings, dynamodb, "A", yesterday, yesterday + timedelta(seconds=1))
    assert every == old + hot
    assert [r["timestamp"] for r in stores.anomalies(settings, dynamodb, "A")] == ["2025-06-11T10:05:00Z"]
    assert len(stores.fleet_readings(settings, dynamodb, "2025-06-11", "2025-06-12")) == 3


def test_an_old_reading_stored_minutes_ago_is_read_before_the_lake_has_it(settings: Settings) -> None:
    # GIVEN a backfill of 2025 readings through the ingest and the rollups, not yet folded into the lake
    Pipeline(settings).drain()
    put(settings, KEY, file("3", ("A",)))
    Pipeline(settings).drain()
    assert lake_readings(settings) == []
    # THEN a query of that old day has them all the same: the table's, while it holds them
    rows = stores.readings(settings, client("dynamodb", settings), "A", "2025-06-11", "2025-06-12")
    assert len(rows) == 3


def test_rebuilding_the_rollups_takes_history_from_the_lake(settings: Settings) -> None:
    # GIVEN readings in the rollups and the lake, no longer in the table, and a damaged all-time rollup
    pipeline = Pipeline(settings)
    put(settings, KEY, file("3"))
    settle(pipeline)
    before = fleet(settings)
    expire(settings)
    settle(pipeline)
    dynamodb = client("dynamodb", settings)
    dynamodb.delete_item(TableName=settings.rollups_table, Key={"bucket": {"S": "T"}, "site_id": {"S": "A"}})
    # WHEN they are rebuilt
    done = ops.rebuild_rollups(settings, sites=["A", "B"], progress=False)
    # THEN from the lake's readings: nothing lost, every rollup exact
    assert done["readings"] == 6 and fleet(settings) == before
    assert assert_rollups_exact(settings, lake_readings(settings)) == 2 * 3


def test_the_file_viewer_counts_a_file_whose_ledger_entry_expired_from_the_file_and_the_lake(
    settings: Settings,
) -> None:
    # GIVEN a file processed, its readings in the lake, then the ledger's items gone with the time to live
    pipeline = Pipeline(settings)
    put(settings, KEY, file("3"))
    settle(pipeline)
    later = datetime.now(timezone.utc) + timedelta(days=60)
    assert moto_gaps.expire_items(settings.region, settings.ledger_table, later.timestamp()) == 2  # entry, head
    # WHEN the viewer shows it 60 days on
    shown = frames.raw_file(settings, KEY, now=later)
    # THEN it says the ledger let it go, and counts what the file holds and what the lake holds from it
    assert shown.ledger["status"] == "expired"
    assert {name: shown.ledger[name] for name in ("read", "stored", "quarantined", "anomalies")} == {
        "read": 6,
        "stored": 6,
        "quarantined": 0,
        "anomalies": 2,
    }
    assert "in the lake from this file" in views.file_status(shown.ledger).text
