"""The rollups aggregator against a real moto server: each stream record counts once, however its batch is
retried, split or re-delivered; sequence numbers of 40 digits; batches it gives up go to the dead-letter queue;
``ops rebuild-rollups`` puts everything right, also while the pipeline runs."""

from __future__ import annotations

import copy
import json
import threading
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest

from energy_lib import lake, query, rollups
from energy_lib.aggregator import handle_stream_event
from energy_lib.clients import client
from energy_lib.compaction.days import compact, pending
from energy_lib.config import Settings
from energy_lib.dynamo import to_item
from energy_lib.readings import Reading
from energy_lib.rules import assess
from energy_lib.storage import reading_item
from energy_lib.workbook import simulator
from energy_lib.workbook.aws import ops
from tests.conftest import EVENTS
from tests.integration.harness import (
    Pipeline,
    assert_rollups_exact,
    lake_readings,
    put,
    real_handlers,
    table_readings,
)

NOW = datetime(2025, 6, 12, tzinfo=timezone.utc)


def reading(site: str, timestamp: str, generated: str, consumed: str = "2") -> dict[str, Any]:
    moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    r = Reading(site, moment, Decimal(generated), Decimal(consumed), 1)
    return reading_item(r, assess(r, Settings()), "raw/f.json", NOW)


def record(sequence: str, old: dict | None, new: dict | None) -> dict[str, Any]:
    """A stream record of the readings table as Lambda delivers it."""
    image = new or old or {}
    data: dict[str, Any] = {
        "ApproximateCreationDateTime": 1749672003,
        "Keys": to_item({"site_id": image["site_id"], "timestamp": image["timestamp"]}),
        "SequenceNumber": sequence,
        "SizeBytes": 300,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if new is not None:
        data["NewImage"] = to_item(new)
    if old is not None:
        data["OldImage"] = to_item(old)
    name = "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"
    return {
        "eventID": sequence[-12:],
        "eventName": name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "eu-west-1",
        "dynamodb": data,
        "eventSourceARN": "arn:aws:dynamodb:eu-west-1:123456789012:table/r/stream/2025-06-01T00:00:00.000",
    }


def forty_digits(n: int) -> str:
    """Sequence numbers of 40 digits: more than a DynamoDB Number (38) keeps."""
    return str(9 * 10**39 + n)


def held(settings: Settings, key: tuple[str, str]) -> dict[str, Any]:
    [row] = [r for r in query.rollups(settings, client("dynamodb", settings), [key[0]]) if r["site_id"] == key[1]]
    return row


def expected_from(records: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Decimal]]:
    """The rollups ``records`` make, each record once, computed without DynamoDB."""
    from energy_lib.aggregator import stream_change

    changes = [stream_change(r) for r in records]
    return {key: rollups.change_of(touching).sums for key, touching in rollups.group(changes).items()}


def assert_holds(settings: Settings, expected: dict[tuple[str, str], dict[str, Decimal]]) -> None:
    for key, sums in expected.items():
        row = held(settings, key)
        assert {n: row[n] for n in rollups.COUNTERS} == sums, key


def test_real_stream_records_count_once_however_often_they_come(settings: Settings) -> None:
    # GIVEN recorded stream records of one reading: inserted, corrected into an anomaly, deleted
    event = json.loads((EVENTS / "dynamodb_stream_readings.json").read_text())
    dynamodb = client("dynamodb", settings)
    insert_only = {"Records": event["Records"][:1]}
    # WHEN the first record arrives, then the whole batch, then the whole batch again
    assert handle_stream_event(insert_only, dynamodb, settings.rollups_table) == {"batchItemFailures": []}
    total = held(settings, ("T", "SITE_001"))
    assert (total["readings"], total["energy_generated_kwh"], total["last_reading_at"]) == (
        1,
        Decimal("12.5"),
        "2025-06-11T20:00:00Z",
    )
    for _ in range(2):
        assert handle_stream_event(event, dynamodb, settings.rollups_table) == {"batchItemFailures": []}
    # THEN each record counted once: the reading came and went, so every sum is back to zero
    for key in (("T", "SITE_001"), ("D#2025-06-11", "SITE_001"), ("H#2025-06-11T20", "SITE_001")):
        row = held(settings, key)
        assert all(row[name] == 0 for name in rollups.COUNTERS), key
        assert row["applied_sequence"] == rollups.padded("4421584700000000017450441209")


def test_a_retry_that_straddles_what_each_item_took_in_counts_every_record_once(settings: Settings) -> None:
    # GIVEN a batch of two sites with 40-digit sequence numbers, whose update of one of site B's items fails
    a1, a2 = reading("A", "2025-06-11T10:00:00Z", "1"), reading("A", "2025-06-11T10:05:00Z", "-3")
    b1, b2 = reading("B", "2025-06-11T11:00:00Z", "4"), reading("B", "2025-06-11T12:00:00Z", "5")
    batch = [
        record(forty_digits(1), None, a1),
        record(forty_digits(2), None, b1),  # B's first record: where the retry starts
        record(forty_digits(3), None, a2),  # A took this in already when the retry comes
        record(forty_digits(4), None, b2),
        record(forty_digits(5), a1, reading("A", "2025-06-11T10:00:00Z", "10")),  # a correction
    ]
    dynamodb = client("dynamodb", settings)
    failures = {"left": 1}

    def fail_once_on_b_noon(params: dict[str, Any], **_: Any) -> None:
        if params["Item"]["bucket"]["S"] == "H#2025-06-11T12" and failures["left"]:
            failures["left"] -= 1
            raise RuntimeError("throttled for good")

    dynamodb.meta.events.register("provide-client-params.dynamodb.PutItem", fail_once_on_b_noon)
    try:
        response = handle_stream_event({"Records": batch}, dynamodb, settings.rollups_table)
    finally:
        dynamodb.meta.events.unregister("provide-client-params.dynamodb.PutItem", fail_once_on_b_noon)
    # THEN the response names B's first record: nothing before it is left undone
    assert response == {"batchItemFailures": [{"itemIdentifier": forty_digits(2)}]}
    assert held(settings, ("T", "A"))["applied_sequence"] == rollups.padded(forty_digits(5))
    # WHEN the mapping retries from there, with a new record that came in meanwhile
    later = record(forty_digits(6), None, reading("A", "2025-06-11T10:10:00Z", "0.5"))
    retry = {"Records": [*batch[1:], later]}
    assert handle_stream_event(retry, dynamodb, settings.rollups_table) == {"batchItemFailures": []}
    # AND once more, whole (a re-delivery)
    assert handle_stream_event({"Records": [*batch, later]}, dynamodb, settings.rollups_table) == {
        "batchItemFailures": []
    }
    # THEN every rollup holds each record exactly once
    assert_holds(settings, expected_from([*batch, later]))
    total_a = held(settings, ("T", "A"))
    assert (total_a["readings"], total_a["energy_generated_kwh"], total_a["flagged_energy_generated_kwh"]) == (
        3,
        Decimal("10.5"),
        Decimal("-3"),
    )


def test_the_latest_reading_only_moves_forward(settings: Settings) -> None:
    dynamodb = client("dynamodb", settings)
    newer = record(forty_digits(1), None, reading("A", "2025-06-11T10:00:00Z", "1"))
    backfill = record(forty_digits(2), None, reading("A", "2025-06-09T10:00:00Z", "1"))
    for event in ({"Records": [newer]}, {"Records": [backfill]}):
        assert handle_stream_event(event, dynamodb, settings.rollups_table) == {"batchItemFailures": []}
    total = held(settings, ("T", "A"))
    assert (total["readings"], total["last_reading_at"]) == (2, "2025-06-11T10:00:00Z")
    assert total["applied_sequence"] == rollups.padded(forty_digits(2))


def test_a_record_it_cannot_read_stops_the_batch_there(settings: Settings) -> None:
    good = record(forty_digits(1), None, reading("A", "2025-06-11T10:00:00Z", "1"))
    broken = copy.deepcopy(record(forty_digits(2), None, reading("A", "2025-06-11T10:05:00Z", "1")))
    broken["dynamodb"]["NewImage"]["energy_generated_kwh"] = {"S": "not a number"}
    after = record(forty_digits(3), None, reading("B", "2025-06-11T10:00:00Z", "1"))

    response = handle_stream_event(
        {"Records": [good, broken, after]}, client("dynamodb", settings), settings.rollups_table
    )

    assert response == {"batchItemFailures": [{"itemIdentifier": forty_digits(2)}]}
    assert held(settings, ("T", "A"))["readings"] == 1
    assert not [r for r in query.rollups(settings, client("dynamodb", settings), ["T"]) if r["site_id"] == "B"]


def test_the_batch_goes_to_the_lake_before_the_rollups_and_a_failed_capture_retries_it_whole(
    settings: Settings,
) -> None:
    dynamodb, s3 = client("dynamodb", settings), client("s3", settings)
    a1 = reading("A", "2025-06-11T10:00:00Z", "1")
    batch = [
        record(forty_digits(1), None, a1),
        record(forty_digits(2), None, reading("B", "2025-06-12T00:00:00Z", "2000")),  # an anomaly, the next day
        record(forty_digits(3), a1, reading("A", "2025-06-11T10:00:00Z", "1.25")),  # a correction
    ]
    captured: list[list[str]] = []

    def capture(records: list[dict[str, Any]]) -> list[str]:
        captured.append([r["dynamodb"]["SequenceNumber"] for r in records])
        if len(captured) == 1:
            raise ConnectionError("S3 is unreachable")
        return lake.put_changes(s3, settings, records)

    # WHEN the capture fails: the whole batch is named for a retry, and the rollups waited
    response = handle_stream_event({"Records": batch}, dynamodb, settings.rollups_table, capture=capture)
    assert response == {"batchItemFailures": [{"itemIdentifier": forty_digits(1)}]}
    assert query.rollups(settings, dynamodb, ["T"]) == []
    # WHEN the mapping retries, then delivers the same batch again
    for _ in range(2):
        assert handle_stream_event({"Records": batch}, dynamodb, settings.rollups_table, capture=capture) == {
            "batchItemFailures": []
        }
    # THEN one change object per UTC day, overwritten by the re-delivery, and the rollups count each record once
    changes = sorted(key for keys in pending(settings, s3).values() for key in keys)
    assert [key.split("/")[2] for key in changes] == ["day=2025-06-11", "day=2025-06-12"]
    assert changes == sorted(lake.put_changes(s3, settings, batch))  # the same keys: a retry overwrites its own
    assert_holds(settings, expected_from(batch))
    # AND compaction keeps the corrected value, the anomaly flagged
    compact(settings, s3)
    rows = {(row["site_id"], row["energy_generated_kwh"], row["anomaly"]) for row in lake_readings(settings)}
    assert rows == {("A", Decimal("1.25"), False), ("B", Decimal("2000"), True)}


def test_a_record_it_cannot_read_is_not_captured_nor_what_follows_it(settings: Settings) -> None:
    good = record(forty_digits(1), None, reading("A", "2025-06-11T10:00:00Z", "1"))
    broken = copy.deepcopy(record(forty_digits(2), None, reading("A", "2025-06-11T10:05:00Z", "1")))
    broken["dynamodb"]["NewImage"]["energy_generated_kwh"] = {"S": "not a number"}
    after = record(forty_digits(3), None, reading("B", "2025-06-11T10:00:00Z", "1"))
    captured: list[list[dict[str, Any]]] = []

    response = handle_stream_event(
        {"Records": [good, broken, after]},
        client("dynamodb", settings),
        settings.rollups_table,
        capture=captured.append,
    )

    assert response == {"batchItemFailures": [{"itemIdentifier": forty_digits(2)}]}
    assert captured == [[good]]


def ingest_a_fleet(settings: Settings, hours: int = 6, seed: int = 5) -> None:
    run = simulator.simulate(simulator.default_fleet(3), NOW, hours, 15, anomaly_rate=0.1, seed=seed)
    for f in simulator.to_files(run):
        put(settings, f.key, f.body)


def test_batches_split_and_retried_by_the_mapping_count_every_record_once(settings: Settings) -> None:
    # GIVEN an aggregator whose invocations fail whenever a batch holds more than 5 records, for its first calls
    _, aggregate = real_handlers(settings)
    calls = {"n": 0}

    def flaky(event: dict[str, Any], context: Any) -> dict[str, Any]:
        calls["n"] += 1
        if calls["n"] <= 12 and len(event["Records"]) > 5:
            raise TimeoutError("Task timed out")
        return aggregate(event, context)

    pipeline = Pipeline(settings, aggregator=flaky)
    ingest_a_fleet(settings)
    # WHEN the pipeline drains (the local mapping bisects on every failure)
    pipeline.drain()
    # THEN the mapping split batches, gave nothing up, and every rollup is exact
    assert pipeline.stream.invocations > calls["n"] - 12 and pipeline.stream.given_up == 0
    assert assert_rollups_exact(settings) > 3 * 6
    assert ops.queue_depth(settings, settings.rollups_dead_letter_queue) == 0
    # AND the lake, once compacted, holds every stored reading once (the batches retried wrote their lines again)
    compact(settings, client("s3", settings))
    assert lake_readings(settings) == table_readings(settings) != []


def test_a_poison_record_is_isolated_given_up_to_the_dead_letter_queue_and_rebuild_repairs(settings: Settings) -> None:
    # GIVEN an aggregator that always fails on one record (of SITE_002 at 02:00)
    _, aggregate = real_handlers(settings)

    def poisoned(event: dict[str, Any], context: Any) -> dict[str, Any]:
        keys = [
            (r["dynamodb"]["Keys"]["site_id"]["S"], r["dynamodb"]["Keys"]["timestamp"]["S"]) for r in event["Records"]
        ]
        if ("SITE_002", "2025-06-12T02:00:00Z") in keys:
            raise ValueError("poison")
        return aggregate(event, context)

    pipeline = Pipeline(settings, aggregator=poisoned)
    ingest_a_fleet(settings)
    pipeline.drain()
    # THEN bisection isolated it: one record given up, described in the dead-letter queue, the rest applied
    assert pipeline.stream.given_up == 1
    [dead] = ops.peek(settings, settings.rollups_dead_letter_queue)
    info = json.loads(dead["Body"])["DDBStreamBatchInfo"]
    assert info["batchSize"] == 1 and info["startSequenceNumber"] == info["endSequenceNumber"]
    with pytest.raises(AssertionError):
        assert_rollups_exact(settings)
    # WHEN the rollups are rebuilt from the readings
    done = ops.rebuild_rollups(settings, progress=False)
    # THEN they are exact again
    assert done["sites"] == 3 and done["readings"] == 3 * 6 * 4
    assert_rollups_exact(settings)


def test_rebuild_repairs_damaged_and_lost_rollups_and_finds_sites_by_scan(settings: Settings) -> None:
    pipeline = Pipeline(settings)
    ingest_a_fleet(settings)
    pipeline.drain()
    dynamodb = client("dynamodb", settings)
    # GIVEN a rollup damaged by hand, and every all-time rollup deleted
    dynamodb.update_item(
        TableName=settings.rollups_table,
        Key=to_item({"bucket": "D#2025-06-12", "site_id": "SITE_001"}),
        UpdateExpression="ADD readings :five",
        ExpressionAttributeValues=to_item({":five": 5}),
    )
    for site in ("SITE_001", "SITE_002", "SITE_003"):
        dynamodb.delete_item(TableName=settings.rollups_table, Key=to_item({"bucket": "T", "site_id": site}))
    assert query.sites(settings, dynamodb) == []
    # WHEN rebuilt: without a scan it knows no site; with one it finds them all
    assert ops.rebuild_rollups(settings, progress=False)["sites"] == 0
    done = ops.rebuild_rollups(settings, scan_sites=True, progress=False)
    # THEN every rollup is exact, and the aggregator goes on from there
    assert done == {"sites": 3, "rollups": 3 * (1 + 1 + 6), "readings": 72, "retries": 0}
    assert_rollups_exact(settings)
    ingest_a_fleet(settings, hours=8, seed=6)  # corrections of the same hours, and two more
    pipeline.drain()
    assert_rollups_exact(settings)


def test_rebuild_while_files_arrive_and_the_aggregator_runs_stays_exact(settings: Settings) -> None:
    # GIVEN the pipeline running in the background while new files and corrections keep arriving
    pipeline = Pipeline(settings)
    ingest_a_fleet(settings, hours=4, seed=1)
    pipeline.drain()
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():
            pipeline.ingest.poll_once(wait_s=0)
            pipeline.stream.poll_once()

    worker = threading.Thread(target=run)
    worker.start()
    try:
        for seed in (2, 3, 4):
            ingest_a_fleet(settings, hours=4, seed=seed)
            # WHEN the rollups are rebuilt meanwhile
            ops.rebuild_rollups(settings, progress=False)
    finally:
        stop.set()
        worker.join(60)
    pipeline.drain()
    # THEN at the end every rollup equals the stored readings
    assert_rollups_exact(settings)
