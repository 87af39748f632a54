"""The pipeline end to end against a real moto server: S3 -> SQS notifications -> lambda/handler.py
(through the local runtime) -> DynamoDB readings, quarantine, SNS -> SQS alerts; the readings stream ->
lambda/aggregator.py -> rollups."""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest

from energy_lib import query, raw_objects
from energy_lib.clients import client
from energy_lib.config import Settings
from energy_lib.pipeline import Services, handle_sqs_event, process_object
from energy_lib.workbook.aws import ops
from tests.conftest import EVENTS, SAMPLES, documented_outcomes
from tests.integration.harness import (
    Pipeline,
    assert_rollups_exact,
    event_of,
    put,
    take_messages,
    take_notifications,
)

pytestmark = pytest.mark.stack

SAMPLE_OUTCOMES = documented_outcomes()  # tests/samples/README.md: read, stored, quarantined, anomalies


@pytest.fixture
def pipeline(settings: Settings) -> Pipeline:
    """The local runtime's two mappings calling the real lambda/handler.py and lambda/aggregator.py."""
    return Pipeline(settings)


def drain(pipeline: Pipeline) -> None:
    pipeline.drain()


def upload_samples(settings: Settings) -> None:
    for name in SAMPLE_OUTCOMES:
        put(settings, f"raw/2025/06/11/{name}", (SAMPLES / name).read_bytes())


def asked_at() -> datetime:
    """The moment the summaries of :func:`state` say they are exact to: one for both states compared."""
    return datetime(2025, 6, 12, 1, tzinfo=timezone.utc)


def state(settings: Settings) -> dict[str, Any]:
    """Everything a re-delivery must leave as it was."""
    dynamodb, s3 = client("dynamodb", settings), client("s3", settings)
    readings = sorted(
        (r["site_id"], r["timestamp"], r["net_energy_kwh"], r["anomaly"])
        for site in query.sites(settings, dynamodb)
        for r in query.readings(settings, dynamodb, site)
    )
    return {
        "readings": readings,
        "summary": query.summary(settings, dynamodb, now=asked_at),
        "day": query.summary(settings, dynamodb, "2025-06-11", "2025-06-12", now=asked_at),
        "ledger": [
            {k: v for k, v in row.items() if k != "updated_at"}
            for row in raw_objects.ingest_status(settings, s3, dynamodb)
        ],
        "alerts": ops.queue_depth(settings, settings.alerts_queue),
    }


def test_samples_give_their_documented_outcomes_through_the_handler(settings: Settings, pipeline: Pipeline) -> None:
    # GIVEN every sample file uploaded under raw/ (moto sends the S3 notifications to the ingest queue)
    upload_samples(settings)
    # WHEN the runtime hands the notifications to lambda/handler.py
    drain(pipeline)
    # THEN each ledger entry holds the README's counts, and read = stored + quarantined
    rows = {
        row["key"].rsplit("/", 1)[-1]: row
        for row in raw_objects.ingest_status(settings, client("s3", settings), client("dynamodb", settings))
    }
    assert set(rows) == set(SAMPLE_OUTCOMES)
    for name, (read, stored, quarantined, anomalies) in SAMPLE_OUTCOMES.items():
        row = rows[name]
        assert (row["status"], row["read"], row["stored"], row["quarantined"], row["anomalies"]) == (
            "processed",
            read,
            stored,
            quarantined,
            anomalies,
        ), name
        assert row["read"] == row["stored"] + row["quarantined"]
    dynamodb = client("dynamodb", settings)
    beta = query.readings(settings, dynamodb, "site_beta")
    assert [(r["timestamp"], r["anomaly_reasons"], r["net_energy_kwh"]) for r in beta] == [
        ("2025-06-11T20:05:00Z", ["negative_consumption"], Decimal("0.35"))
    ]
    site_002 = query.readings(settings, dynamodb, "SITE_002")[0]
    assert site_002["timestamp"] == "2025-06-11T12:00:00Z"
    assert site_002["energy_generated_kwh"] == Decimal("-4.817263")  # exact, never through float
    assert site_002["net_energy_kwh"] == Decimal("-106.317263")
    # AND the rejected readings are in quarantine with position, original text and reason
    quarantined = {row["key"]: row for row in ops.quarantine(settings)}
    lines_key = next(k for k in quarantined if "lines.jsonl" in k)
    [reject] = ops.quarantined_readings(settings, lines_key)
    assert reject["position"] == 2
    assert reject["reasons"] == ["not_a_number:energy_generated_kwh"]
    assert '"not a number"' in reject["original"]
    # AND one alert per file with anomalies, filterable by severity and site
    alerts = ops.alerts(settings)
    assert sorted((a["sites"], a["anomalies"]) for a in alerts) == [
        ("SITE_002", 1),
        ("plant-03, plant-04", 2),  # the producer's floats: its two unrounded anomalies, stored and flagged
        ("site_beta", 1),
    ]
    assert all(a["severity"] == "LOW" for a in alerts)
    # AND the producer's unrounded floats are stored rounded to 9 decimals, the ledger counting those readings
    assert {name: row["rounded"] for name, row in rows.items() if row["rounded"]} == {"producer_floats.json": 4}
    plant_03 = query.readings(settings, dynamodb, "plant-03")
    assert [(r["timestamp"], r["energy_generated_kwh"], r["rounded"]) for r in plant_03 if "rounded" in r] == [
        ("2025-06-11T10:15:00Z", Decimal("-4.572918375"), ["energy_generated_kwh"]),
        ("2025-06-11T11:00:00Z", Decimal("0.3"), ["energy_generated_kwh"]),
    ]


def test_redelivery_changes_nothing(settings: Settings, pipeline: Pipeline) -> None:
    upload_samples(settings)
    bodies = [message["Body"] for message in ops.peek(settings, settings.ingest_queue)]
    drain(pipeline)
    before = state(settings)
    # WHEN every notification is delivered again (as SQS and S3 may do)
    sqs = client("sqs", settings)
    url = sqs.get_queue_url(QueueName=settings.ingest_queue)["QueueUrl"]
    for body in bodies:
        sqs.send_message(QueueUrl=url, MessageBody=body)
    drain(pipeline)
    # THEN readings, rollups, ledger counts and alerts are as they were
    assert state(settings) == before


def test_a_correction_replaces_the_reading_and_rollups_stay_exact(settings: Settings, pipeline: Pipeline) -> None:
    upload_samples(settings)
    drain(pipeline)
    # WHEN a new file corrects SITE_002's negative reading and adds a reading in a new hour
    correction = [
        {
            "site_id": "SITE_002",
            "timestamp": "2025-06-11T12:00:00Z",
            "energy_generated_kwh": 75.5,
            "energy_consumed_kwh": 101.5,
        },
        {
            "site_id": "SITE_002",
            "timestamp": "2025-06-11T15:00:00Z",
            "energy_generated_kwh": "-60",
            "energy_consumed_kwh": 1,
        },
    ]
    put(settings, "raw/2025/06/12/correction.json", json.dumps(correction).encode())
    drain(pipeline)
    # THEN the reading is replaced, not duplicated, and every rollup equals the sum of the readings
    dynamodb = client("dynamodb", settings)
    rows = query.readings(settings, dynamodb, "SITE_002")
    assert [(r["timestamp"], r["energy_generated_kwh"], r["anomaly"]) for r in rows] == [
        ("2025-06-11T12:00:00Z", Decimal("75.5"), False),
        ("2025-06-11T15:00:00Z", Decimal("-60"), True),
    ]
    assert_rollups_exact(settings)
    site = {row["site_id"]: row for row in query.summary(settings, dynamodb)["sites"]}["SITE_002"]
    assert (site["readings"], site["anomalies"], site["anomalies_low"], site["anomalies_high"]) == (2, 1, 0, 1)
    assert (site["valid_readings"], site["energy_generated_kwh"], site["energy_consumed_kwh"]) == (
        1,
        Decimal("75.5"),
        Decimal("101.5"),
    )
    assert (site["flagged_energy_generated_kwh"], site["flagged_net_energy_kwh"]) == (Decimal("-60"), Decimal("-61"))
    assert site["efficiency_pct"] == Decimal("74.38")  # valid readings only: 75.5 / 101.5


def test_a_retry_after_a_crash_in_the_middle_of_the_readings_counts_each_reading_once(
    settings: Settings, pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a file of 1,200 readings (three chunks) whose first attempt dies after its first chunk is written
    monkeypatch.setattr("energy_lib.pipeline.CHUNK_RECORDS", 500)
    rows = [
        {
            "site_id": f"S{i % 3}",
            "timestamp": f"2025-06-11T{i // 60 % 24:02d}:{i % 60:02d}:{i // 1440:02d}Z",
            "energy_generated_kwh": f"{i % 100}.25",
            "energy_consumed_kwh": "1" if i % 50 else "-2",
        }
        for i in range(1200)
    ]
    put(settings, "raw/2025/06/11/crash.json", json.dumps(rows).encode())
    [notification] = take_notifications(settings)
    services = Services.from_settings(settings)
    renewals = {"left": 1}

    def die_at_the_second_chunk(params: dict[str, Any], **_: Any) -> None:
        renewal = params.get("UpdateExpression", "").startswith("SET lease_expires_at")
        if renewal and renewals["left"]:
            renewals["left"] -= 1
            raise ConnectionError("the function was stopped")

    services.dynamodb.meta.events.register("provide-client-params.dynamodb.UpdateItem", die_at_the_second_chunk)
    try:
        with pytest.raises(ConnectionError):
            process_object(services, notification)
    finally:
        services.dynamodb.meta.events.unregister("provide-client-params.dynamodb.UpdateItem", die_at_the_second_chunk)
    drain(pipeline)
    assert query.summary(settings, services.dynamodb)["fleet"]["readings"] == 500  # the first chunk, counted
    # WHEN the message comes back and the whole file is processed again
    outcome = process_object(services, notification)
    drain(pipeline)
    # THEN every rollup counts each reading once, valid and flagged apart
    assert outcome.status == "processed" and outcome.counts.stored == 1200
    assert_rollups_exact(settings)
    fleet = query.summary(settings, services.dynamodb)["fleet"]
    assert (fleet["readings"], fleet["anomalies"]) == (1200, 24)


def test_a_retry_after_a_crash_after_the_alert_sends_no_second_alert(settings: Settings, pipeline: Pipeline) -> None:
    # GIVEN a file with an anomaly whose first attempt dies after its alert went out (the final ledger write fails)
    services = Services.from_settings(settings)
    put(settings, "raw/2025/06/11/alerted.json", (SAMPLES / "array_utc_z.json").read_bytes())
    [notification] = take_notifications(settings)
    finishing = {"failures_left": 1}

    def fail_the_final_ledger_write(params: dict[str, Any], **_: Any) -> None:
        values = params.get("ExpressionAttributeValues", {})
        if values.get(":status") == {"S": "processed"} and finishing["failures_left"]:
            finishing["failures_left"] -= 1
            raise ConnectionError("the function was stopped")

    services.dynamodb.meta.events.register("provide-client-params.dynamodb.UpdateItem", fail_the_final_ledger_write)
    try:
        with pytest.raises(ConnectionError):
            process_object(services, notification)
        assert ops.queue_depth(settings, settings.alerts_queue) == 1
        # WHEN the message comes back and the file is processed again
        outcome = process_object(services, notification)
    finally:
        services.dynamodb.meta.events.unregister(
            "provide-client-params.dynamodb.UpdateItem", fail_the_final_ledger_write
        )
    # THEN it is processed, reports the first attempt's alert, and subscribers got exactly one alert
    assert outcome.status == "processed" and outcome.alert_id
    assert ops.queue_depth(settings, settings.alerts_queue) == 1
    [alert] = ops.alerts(settings)
    assert alert["anomalies"] == 1 and alert["severity"] == "LOW"
    drain(pipeline)
    assert_rollups_exact(settings)


def test_unparseable_file_is_quarantined_whole_with_its_reason(settings: Settings, pipeline: Pipeline) -> None:
    put(settings, "raw/2025/06/11/broken.json", b'[{"site_id": "A", ')
    drain(pipeline)
    [row] = raw_objects.ingest_status(settings, client("s3", settings), client("dynamodb", settings))
    assert row["status"] == "rejected"
    assert "not valid JSON" in row["error"]
    s3 = client("s3", settings)
    copy = s3.get_object(Bucket=settings.bucket, Key="quarantine/files/raw/2025/06/11/broken.json")["Body"].read()
    assert copy == b'[{"site_id": "A", '
    reason = json.loads(
        s3.get_object(Bucket=settings.bucket, Key="quarantine/files/raw/2025/06/11/broken.json.reason.json")[
            "Body"
        ].read()
    )
    assert "not valid JSON" in reason["reason"]


def test_sqs_event_decodes_keys_skips_test_events_and_reports_failures(settings: Settings) -> None:
    # GIVEN a recorded SQS event: one notification for a key with '+' (space) and %28 %29, one s3:TestEvent
    put(settings, "raw/2025/06/11/site one(2).json", (SAMPLES / "single_object.json").read_bytes())
    event = json.loads((EVENTS / "sqs_s3_notification.json").read_text())
    broken = dict(event["Records"][0], messageId="not-s3", body='{"hello": "world"}')
    event["Records"].append(broken)
    # WHEN the handler's core processes it
    response = handle_sqs_event(event, Services.from_settings(settings))
    # THEN only the message that is not an S3 notification is reported as failed
    assert response == {"batchItemFailures": [{"itemIdentifier": "not-s3"}]}
    assert [r["site_id"] for r in query.readings(settings, client("dynamodb", settings), "site-1")] == ["site-1"]


def test_the_ingest_only_writes_readings_25_per_request(settings: Settings) -> None:
    services = Services.from_settings(settings)
    calls: dict[str, int] = defaultdict(int)
    tables: dict[str, set[str]] = defaultdict(set)

    def count(event_name: str, params: dict[str, Any], **_: Any) -> None:
        operation = event_name.rsplit(".", 1)[-1]
        calls[operation] += 1
        tables[operation] |= {params.get("TableName", "")} | set(params.get("RequestItems", {}))

    rows = [
        {
            "site_id": f"S{i % 4}",
            "timestamp": f"2025-06-11T{i // 60:02d}:{i % 60:02d}:00Z",
            "energy_generated_kwh": i,
            "energy_consumed_kwh": 1,
        }
        for i in range(240)
    ]
    put(settings, "raw/2025/06/11/many.json", json.dumps(rows).encode())
    [notification] = take_notifications(settings)
    services.dynamodb.meta.events.register("provide-client-params.dynamodb.*", count)
    try:
        outcome = process_object(services, notification)
    finally:
        services.dynamodb.meta.events.unregister("provide-client-params.dynamodb.*", count)
    assert outcome.counts.stored == 240
    assert calls["BatchWriteItem"] == 240 // 25 + 1  # ceil(240 / 25): never one request per reading
    # readings are written, never read; the rollups are not touched; the ledger: read the version's entry, claim
    # the key, record the outcome (the lease runs out by itself); no transaction, no marker
    assert dict(calls) == {"BatchWriteItem": 10, "GetItem": 1, "UpdateItem": 2}
    assert tables["BatchWriteItem"] == {"", settings.readings_table}
    assert tables["UpdateItem"] == tables["GetItem"] == {settings.ledger_table}


def test_the_local_runtime_reports_every_request_of_an_invocation_also_those_written_in_parallel(
    settings: Settings, pipeline: Pipeline, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN a file of 240 readings, which the ingest writes 4 requests at a time from threads of its own
    rows = [
        {"site_id": "S1", "timestamp": f"2025-06-11T{i // 60:02d}:{i % 60:02d}:00Z", "energy_generated_kwh": i}
        | {"energy_consumed_kwh": 1}
        for i in range(240)
    ]
    put(settings, "raw/2025/06/11/parallel.json", json.dumps(rows).encode())
    # WHEN the local runtime invokes the real handler
    with caplog.at_level("INFO", logger="energy_lib.local_runtime"):
        drain(pipeline)
    # THEN its REPORT line counts the 10 BatchWriteItem requests, whatever thread sent them (and the ledger's read,
    # claim and outcome)
    [report] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("REPORT energy-workbook-ingest")]
    assert "BatchWriteItem=10 " in report and "GetItem=1 " in report and "UpdateItem=2)" in report


def test_the_small_files_of_a_batch_are_read_side_by_side_and_the_large_ones_after(settings: Settings) -> None:
    # GIVEN a batch of three small files and one past the size read side by side (1 MiB, by its notification)
    row = (
        '{{"site_id": "S{0}", "timestamp": "2025-06-11T10:{1:02d}:00Z", '
        + '"energy_generated_kwh": 1, "energy_consumed_kwh": 1}}'
    )
    for n in range(3):
        put(settings, f"raw/2025/06/11/small-{n}.json", f"[{row.format(n, 0)}]".encode())
    large = ",".join(row.format(9, minute) + " " * 20_000 for minute in range(60))  # 60 readings, 1.2 MB of text
    put(settings, "raw/2025/06/11/large.json", f"[{large}]".encode())
    messages = take_messages(settings)
    services = Services.from_settings(settings)
    reading_at_once = threading.Barrier(3, timeout=30)  # every small file's GetObject waits for the other two
    threads: dict[str, str] = {}

    def meet(params: dict[str, Any], **_: Any) -> None:
        threads[params["Key"]] = threading.current_thread().name
        if "small" in params["Key"]:
            reading_at_once.wait()

    services.s3.meta.events.register("provide-client-params.s3.GetObject", meet)
    try:
        response = handle_sqs_event(event_of(settings, messages), services)
    finally:
        services.s3.meta.events.unregister("provide-client-params.s3.GetObject", meet)
    # THEN all four are processed, the three small ones in three threads at once, the large one in the caller's
    assert response == {"batchItemFailures": []}
    assert {row["status"] for row in raw_objects.ingest_status(settings, services.s3, services.dynamodb)} == {
        "processed"
    }
    assert len({threads[f"raw/2025/06/11/small-{n}.json"] for n in range(3)}) == 3
    assert threads["raw/2025/06/11/large.json"] == threading.current_thread().name
