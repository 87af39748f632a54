"""Object versions and leases against a real moto server: the newest version of a key wins whatever order the
notifications arrive in, A-B-A ends with A, one object delivered twice at once is processed once (one
alert), a crashed attempt is taken over once its lease expires, and `wait` reports it meanwhile."""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from energy_lib import ledger, query, raw_objects
from energy_lib.clients import client
from energy_lib.config import Settings
from energy_lib.pipeline import Notification, Services, process_object
from energy_lib.workbook.aws import ops
from tests.integration.harness import (
    Pipeline,
    assert_rollups_exact,
    event_of,
    message,
    put,
    real_handlers,
    take_messages,
    take_notifications,
)

KEY = "raw/2025/06/11/site-a.json"


class Killed(BaseException):
    """The function's process dies: nothing in the pipeline catches it, no ledger write follows."""


def file(generated: str, anomaly: bool = False) -> bytes:
    rows = [
        {"site_id": "A", "timestamp": "2025-06-11T10:00:00Z", "energy_generated_kwh": generated,
         "energy_consumed_kwh": "-1" if anomaly else "2"},
        {"site_id": "A", "timestamp": "2025-06-11T10:05:00Z", "energy_generated_kwh": generated,
         "energy_consumed_kwh": "2"},
    ]  # fmt: skip
    return json.dumps(rows).encode()


def generated(settings: Settings) -> list[str]:
    return [str(r["energy_generated_kwh"]) for r in query.readings(settings, client("dynamodb", settings), "A")]


def statuses(settings: Settings, key: str = KEY) -> dict[str, str]:
    """Every version's ledger status, by version id."""
    response = client("dynamodb", settings).query(
        TableName=settings.ledger_table,
        KeyConditionExpression="source_key = :key",
        ExpressionAttributeValues={":key": {"S": key}},
    )
    return {i["version_id"]["S"]: i["status"]["S"] for i in response["Items"] if i["version_id"]["S"] != ledger.HEAD}


def test_notifications_carry_the_version_and_a_sequencer_that_orders_them(settings: Settings) -> None:
    versions = [put(settings, KEY, file(value)) for value in ("1", "2", "3")]

    found = take_notifications(settings)

    assert [n.version_id for n in sorted(found, key=lambda n: ledger.sequencer_key(n.sequencer))] == versions


def test_an_older_version_arriving_after_a_newer_one_writes_nothing(settings: Settings) -> None:
    # GIVEN two versions of one key whose notifications arrive newest first
    old_version, new_version = put(settings, KEY, file("1")), put(settings, KEY, file("2"))
    older, newer = sorted(take_notifications(settings), key=lambda n: ledger.sequencer_key(n.sequencer))
    services = Services.from_settings(settings)
    # WHEN they are processed in that order
    assert process_object(services, newer).status == "processed"
    outcome = process_object(services, older)
    # THEN the older one is recorded as superseded and the newer values stay
    assert outcome.status == "superseded" and outcome.counts.stored == 0
    assert generated(settings) == ["2", "2"]
    assert statuses(settings) == {old_version: "superseded", new_version: "processed"}
    # AND delivering the older one again changes nothing
    assert process_object(services, older).status == "duplicate"
    [row] = raw_objects.ingest_status(settings, client("s3", settings), services.dynamodb)
    assert (row["version_id"], row["status"], row["stored"]) == (new_version, "processed", 2)


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_a_b_a_ends_with_a_whatever_the_order(settings: Settings, order: tuple[int, int, int]) -> None:
    # GIVEN A, then B, then A's content again under one key (the third upload is a new version, same ETag)
    versions = [put(settings, KEY, file(value)) for value in ("1.5", "7", "1.5")]
    notifications = sorted(take_notifications(settings), key=lambda n: ledger.sequencer_key(n.sequencer))
    pipeline = Pipeline(settings)
    services = Services.from_settings(settings)
    # WHEN the three notifications are processed in ``order``
    outcomes = [process_object(services, notifications[i]).status for i in order]
    pipeline.drain()
    # THEN the readings hold A's values, the last version is processed, and the rollups agree
    assert generated(settings) == ["1.5", "1.5"]
    assert statuses(settings)[versions[2]] == "processed"
    assert outcomes[order.index(2)] == "processed"
    assert_rollups_exact(settings)
    fleet = query.summary(settings, services.dynamodb)["fleet"]
    assert (fleet["readings"], fleet["energy_generated_kwh"]) == (2, 3)
    # AND a re-delivery of the current version is a no-op
    assert process_object(services, notifications[2]).status == "duplicate"


def test_earlier_content_uploaded_again_as_a_new_version_is_processed(settings: Settings) -> None:
    services = Services.from_settings(settings)
    put(settings, KEY, file("4"))
    [first] = take_notifications(settings)
    assert process_object(services, first).status == "processed"
    # WHEN the same bytes are uploaded again (same ETag, a new version)
    put(settings, KEY, file("4"))
    [again] = take_notifications(settings)
    # THEN it is processed (not taken for a duplicate), and re-delivering either one is a no-op
    assert again.version_id != first.version_id
    assert process_object(services, again).status == "processed"
    assert {process_object(services, n).status for n in (first, again)} == {"duplicate"}


def test_one_version_notified_twice_with_two_sequencers_is_processed_once(settings: Settings) -> None:
    # GIVEN a file uploaded in parts, which moto notifies with two sequencers for one version
    s3 = client("s3", settings)
    upload = s3.create_multipart_upload(Bucket=settings.bucket, Key=KEY)["UploadId"]
    part = s3.upload_part(Bucket=settings.bucket, Key=KEY, UploadId=upload, PartNumber=1, Body=file("3", True))
    s3.complete_multipart_upload(
        Bucket=settings.bucket,
        Key=KEY,
        UploadId=upload,
        MultipartUpload={"Parts": [{"ETag": part["ETag"], "PartNumber": 1}]},
    )
    notified = sorted(take_notifications(settings), key=lambda n: ledger.sequencer_key(n.sequencer))
    [version] = {n.version_id for n in notified}
    later = Notification(KEY, version, format(int(notified[-1].sequencer, 16) + 1, "X"))  # as S3 may, once more
    services = Services.from_settings(settings)
    # WHEN every notification is processed, in sequencer order and once more in reverse
    outcomes = [process_object(services, n).status for n in [*notified, later, *reversed(notified)]]
    # THEN the version is processed by the first only, and its one alert is sent once
    assert outcomes[0] == "processed" and set(outcomes[1:]) == {"duplicate"}, outcomes
    [entry] = client("dynamodb", settings).query(
        TableName=settings.ledger_table,
        KeyConditionExpression="source_key = :key AND version_id = :version",
        ExpressionAttributeValues={":key": {"S": KEY}, ":version": {"S": version}},
    )["Items"]
    assert (entry["status"]["S"], entry["attempts"]["N"]) == ("processed", "1")
    assert len(ops.alerts(settings)) == 1


def test_one_object_delivered_twice_at_once_is_processed_once_with_one_alert(settings: Settings) -> None:
    # GIVEN one notification of a file with an anomaly, delivered to two invocations at the same moment
    put(settings, KEY, file("3", anomaly=True))
    [notification] = take_messages(settings)
    ingest, _ = real_handlers(settings)
    writing, second_tried = threading.Event(), threading.Event()
    responses: dict[str, Any] = {}

    def hold_the_first_writer(**_: Any) -> None:
        if threading.current_thread().name == "first" and not writing.is_set():
            writing.set()
            assert second_tried.wait(30)

    dynamodb = client("dynamodb", settings)
    dynamodb.meta.events.register("before-call.dynamodb.BatchWriteItem", hold_the_first_writer)

    def invoke(name: str) -> None:
        responses[name] = ingest(event_of(settings, [message(notification["Body"], name)]), None)
        if name == "second":
            second_tried.set()

    first = threading.Thread(target=invoke, args=("first",), name="first")
    try:
        first.start()
        assert writing.wait(30)
        invoke("second")  # while the first holds the key's lease and writes
        first.join(30)
    finally:
        dynamodb.meta.events.unregister("before-call.dynamodb.BatchWriteItem", hold_the_first_writer)
    # THEN the first processed it; the second's message failed (SQS delivers it again), and then it is a no-op
    assert responses == {
        "first": {"batchItemFailures": []},
        "second": {"batchItemFailures": [{"itemIdentifier": "second"}]},
    }
    assert ingest(event_of(settings, [message(notification["Body"], "again")]), None) == {"batchItemFailures": []}
    assert ops.queue_depth(settings, settings.alerts_queue) == 1  # one object, one alert
    assert list(statuses(settings).values()) == ["processed"]


def test_a_newer_version_waits_while_an_older_one_is_being_processed(settings: Settings) -> None:
    # GIVEN an older version that holds the key's lease (its attempt is still running)
    put(settings, KEY, file("1"))
    put(settings, KEY, file("2"))
    older, newer = sorted(take_notifications(settings), key=lambda n: ledger.sequencer_key(n.sequencer))
    services = Services.from_settings(settings)
    lease = ledger.claim(
        services.dynamodb, settings.ledger_table, KEY, older.version_id, "e", older.sequencer, services.now()
    )
    assert isinstance(lease, ledger.Lease)
    # WHEN the newer version arrives
    with pytest.raises(ledger.KeyBusy, match="waits"):
        process_object(services, newer)
    # THEN it is processed once the older one is done, and wins
    ledger.finish(services.dynamodb, settings.ledger_table, lease, "processed", ledger.Counts(), services.now())
    assert process_object(services, newer).status == "processed"
    assert generated(settings) == ["2", "2"]


def test_a_crashed_attempt_is_taken_over_after_its_lease_and_sends_no_second_alert(settings: Settings) -> None:
    # GIVEN a file with an anomaly whose attempt dies (no ledger write at all) after its alert went out
    put(settings, KEY, file("5", anomaly=True))
    [notification] = take_notifications(settings)
    services = Services.from_settings(settings)

    def die_before_the_outcome(params: dict[str, Any], **_: Any) -> None:
        if ":status" in params.get("ExpressionAttributeValues", {}):
            raise Killed

    services.dynamodb.meta.events.register("provide-client-params.dynamodb.UpdateItem", die_before_the_outcome)
    try:
        with pytest.raises(Killed):
            process_object(services, notification)
    finally:
        services.dynamodb.meta.events.unregister("provide-client-params.dynamodb.UpdateItem", die_before_the_outcome)
    s3 = client("s3", settings)
    assert [row["status"] for row in raw_objects.ingest_status(settings, s3, services.dynamodb)] == ["processing"]
    # WHEN another delivery comes while the lease holds, it waits
    with pytest.raises(ledger.KeyBusy):
        process_object(services, notification)
    # AND once the lease has expired the status says so, with the reason
    later = services.now() + timedelta(seconds=ledger.LEASE_SECONDS + 1)
    [row] = raw_objects.ingest_status(settings, s3, services.dynamodb, now=later)
    assert row["status"] == "failed" and "lease expired" in row["error"] and row["lease_expired_at"]
    # AND the next delivery takes it over, finishes it, and sends no second alert
    outcome = process_object(replace(services, now=lambda: later), notification)
    assert outcome.status == "processed" and outcome.alert_id
    assert ops.queue_depth(settings, settings.alerts_queue) == 1
    [row] = raw_objects.ingest_status(settings, s3, services.dynamodb, now=later)
    assert (row["status"], row["error"], row["stored"]) == ("processed", "", 2)


def test_wait_reports_an_attempt_stuck_past_its_lease_as_failed(settings: Settings, monkeypatch) -> None:
    # GIVEN a lease of one second and an attempt that dies while writing readings (its message is in flight)
    monkeypatch.setattr(ledger, "LEASE_SECONDS", 1)
    put(settings, KEY, file("5"))
    Pipeline(settings)  # the stream's reader starts before anything is written
    [taken] = take_messages(settings)
    sqs = client("sqs", settings)
    url = sqs.get_queue_url(QueueName=settings.ingest_queue)["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=taken["Body"])
    sqs.receive_message(QueueUrl=url, VisibilityTimeout=600)  # held by the dead invocation
    services = Services.from_settings(settings)
    [notification] = [Notification(KEY, None, json.loads(taken["Body"])["Records"][0]["s3"]["object"]["sequencer"])]

    def die_writing(**_: Any) -> None:
        raise Killed

    services.dynamodb.meta.events.register("before-call.dynamodb.BatchWriteItem", die_writing)
    try:
        with pytest.raises(Killed):
            process_object(services, notification)
    finally:
        services.dynamodb.meta.events.unregister("before-call.dynamodb.BatchWriteItem", die_writing)
    # WHEN wait runs: the object is not final, its message is in flight for ten minutes
    counts = ops.wait(settings, timeout_s=30, poll_s=0.5)
    # THEN it returns once the lease expired, counting the object failed, with the reason in ingest status
    assert counts == {"failed": 1}
    [row] = raw_objects.ingest_status(settings, client("s3", settings), services.dynamodb)
    assert "stopped without finishing" in row["error"]
