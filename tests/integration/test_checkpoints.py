"""Checkpoints and continuations against a real moto server: a file read over several invocations, stopped by
its remaining time running out and killed at every step of a chunk and of a checkpoint, then resumed, ends with
exactly the readings, rollups, quarantine, counts and alert of the same file read in one go.

The oracle is the file read and validated whole in memory (``validate_records`` over all its records at once);
the pipeline reads it in chunks of ``CHUNK`` records with a checkpoint every ``CHECKPOINT`` records."""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from energy_lib import checkpoints, ledger, pipeline, query, raw_objects, timeutil
from energy_lib.clients import client
from energy_lib.config import Settings
from energy_lib.dynamo import from_item
from energy_lib.parsing import read_records
from energy_lib.pipeline import RESERVE_MS, Services, handle_sqs_event
from energy_lib.readings import ParsedFile
from energy_lib.validation import validate_records
from energy_lib.workbook.aws import ops
from tests.integration.harness import Pipeline, assert_rollups_exact, event_of, put, take_messages, take_notifications

pytestmark = pytest.mark.stack

RECORDS = 1500
CHUNK = 100
CHECKPOINT = 300
SITES = 7
KEYS = {
    "array": "raw/2025/06/11/fleet.json",
    "lines": "raw/2025/06/11/fleet.jsonl",
    "csv": "raw/2025/06/11/fleet.csv",
    "gzip": "raw/2025/06/11/fleet.jsonl.gz",
}
COLUMNS = ("site_id", "timestamp", "energy_generated_kwh", "energy_consumed_kwh")


class Killed(BaseException):
    """The function's process dies: nothing in the pipeline catches it, no ledger write follows."""


def rows() -> list[dict[str, str]]:
    """Seven sites every five minutes for 18 hours, with bad timestamps, repeated readings and anomalies."""
    found = []
    start = timeutil.utc("2025-06-11T00:00:00Z")
    for i in range(RECORDS):
        moment = start + timedelta(minutes=5 * (i // SITES))
        if i % 211 == 7:
            moment -= timedelta(minutes=5)  # the same site and second as seven records before
        generated = Decimal(i % 89) / 8 * (-1 if i % 50 == 0 else 1)
        found.append(
            {
                "site_id": f"S{i % SITES}",
                "timestamp": "not a time" if i % 97 == 13 else timeutil.format_timestamp(moment),
                "energy_generated_kwh": str(generated),
                "energy_consumed_kwh": str(Decimal(i % 11) / 4),
            }
        )
    return found


def body(shape: str) -> bytes:
    records = rows()
    lines = "\n".join(json.dumps(r) for r in records).encode()
    if shape == "array":
        return json.dumps(records).encode()
    if shape == "lines":
        return lines
    if shape == "gzip":
        return gzip.compress(lines)
    return ("\n".join([",".join(COLUMNS), *(",".join(r[c] for c in COLUMNS) for r in records)]) + "\n").encode()


def oracle(shape: str) -> ParsedFile:
    return validate_records(read_records(io.BytesIO(body(shape)), KEYS[shape], Settings()))


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "CHUNK_RECORDS", CHUNK)
    monkeypatch.setattr(pipeline, "CHECKPOINT_RECORDS", CHECKPOINT)


@pytest.fixture
def stack(settings: Settings) -> Pipeline:
    return Pipeline(settings)  # the stream's reader starts before anything is written


@dataclass
class Budget:
    """A Lambda context whose time runs out after ``checks`` looks at it (each after a chunk): an invocation
    reads ``checks + 1`` chunks, then checkpoints and continues."""

    checks: int

    def get_remaining_time_in_millis(self) -> int:
        self.checks -= 1
        return 10 * RESERVE_MS if self.checks >= 0 else 0


def invoke_until_done(settings: Settings, services: Services, messages: list[dict[str, Any]], checks: int) -> int:
    """Hand ``messages``, then every continuation, to the handler's core one message an invocation; returns
    the number of invocations."""
    invocations = 0
    while messages:
        for message in messages:
            response = handle_sqs_event(event_of(settings, [message]), services, Budget(checks))
            assert response == {"batchItemFailures": []}
            invocations += 1
        messages = take_messages(settings)
    return invocations


def assert_whole_file_once(settings: Settings, stack: Pipeline, shape: str) -> dict[str, Any]:
    """Readings, quarantine, counts, alert and rollups are those of the file read in one go; nothing is left of
    the checkpoints. Returns the key's ledger head."""
    stack.drain()  # the stream's records to the rollups (query.sites reads them)
    expected = oracle(shape)
    key = KEYS[shape]
    dynamodb, s3 = client("dynamodb", settings), client("s3", settings)
    stored = {
        (r["site_id"], r["timestamp"]): (r["energy_generated_kwh"], r["energy_consumed_kwh"])
        for site in query.sites(settings, dynamodb)
        for r in query.readings(settings, dynamodb, site)
    }
    assert stored == {
        (r.site_id, r.timestamp_text): (r.energy_generated_kwh, r.energy_consumed_kwh) for r in expected.readings
    }
    anomalies = sum(1 for r in expected.readings if r.energy_generated_kwh < 0)
    [row] = raw_objects.ingest_status(settings, s3, dynamodb)
    counts = (row["status"], row["read"], row["stored"], row["quarantined"], row["anomalies"])
    assert counts == ("processed", RECORDS, len(expected.readings), len(expected.rejects), anomalies)
    assert row["read"] == row["stored"] + row["quarantined"]
    quarantined = [
        (line["position"], tuple(line["reasons"]))
        for q in ops.quarantine(settings)
        if q["key"].startswith(f"{settings.quarantine_prefix}readings/{key}.")
        for line in ops.quarantined_readings(settings, q["key"])
    ]
    assert sorted(quarantined) == [(r.position, r.reasons) for r in expected.rejects]  # each once
    [alert] = ops.alerts(settings)
    assert alert["anomalies"] == anomalies
    assert_rollups_exact(settings)
    fleet = query.summary(settings, dynamodb)["fleet"]
    assert (fleet["readings"], fleet["anomalies"]) == (len(expected.readings), anomalies)
    left = s3.list_objects_v2(Bucket=settings.bucket, Prefix=checkpoints.PREFIX).get("Contents", [])
    assert left == []
    head = from_item(
        dynamodb.get_item(
            TableName=settings.ledger_table, Key={"source_key": {"S": key}, "version_id": {"S": "#head"}}
        )["Item"]
    )
    assert head["final"] and "checkpoint" not in head
    return head


@pytest.mark.parametrize("shape", sorted(KEYS))
def test_a_file_longer_than_an_invocation_continues_until_done_on_the_local_runtime(
    settings: Settings, shape: str
) -> None:
    # GIVEN the local runtime with a timeout as short as the time the pipeline keeps in reserve: every invocation
    # reads one chunk, then its remaining time (a real clock, falling) says stop
    stack = Pipeline(settings, timeout_s=RESERVE_MS / 1000)
    # WHEN the file is uploaded and the runtime polls until the queue is empty
    put(settings, KEYS[shape], body(shape))
    stack.drain(rounds=100)
    # THEN it took one invocation per chunk, each continuation a message of its own, and the result is exact
    head = assert_whole_file_once(settings, stack, shape)
    assert head["attempts"] == RECORDS // CHUNK


CRASHES: dict[str, tuple[str, Callable[[dict[str, Any]], bool], int]] = {
    # name: (botocore event, which request, the how-many-th such request dies)
    "while writing a chunk's readings": ("dynamodb.BatchWriteItem", lambda p: True, 30),
    "after a chunk's readings, before its rejects": (
        "s3.PutObject",
        lambda p: p["Key"].startswith("quarantine/readings/"),
        5,
    ),
    "after the readings, before the database copy": (
        "s3.PutObject",
        lambda p: p["Key"].startswith(checkpoints.PREFIX),
        2,
    ),
    "after the database copy, before the ledger checkpoint": (
        "dynamodb.UpdateItem",
        lambda p: "#checkpoint = :state" in p.get("UpdateExpression", ""),
        3,
    ),
    "after the checkpoint gave the key back, before the continuation message": (
        "sqs.SendMessage",
        lambda p: True,
        1,
    ),
    "after the alert, before the outcome": (
        "dynamodb.UpdateItem",
        lambda p: p.get("ExpressionAttributeValues", {}).get(":status") == {"S": "processed"},
        1,
    ),
}


@pytest.mark.parametrize("crash", list(CRASHES))
def test_a_file_killed_at_any_step_resumes_from_its_last_checkpoint_and_ends_exact(
    settings: Settings, stack: Pipeline, crash: str
) -> None:
    # GIVEN a file that takes three invocations (six chunks each, a checkpoint every three chunks), whose
    # function process dies at one step
    shape = "gzip" if "database" in crash else "lines"
    put(settings, KEYS[shape], body(shape))
    [notification] = take_messages(settings)
    services = Services.from_settings(settings)
    event, wanted, nth = CRASHES[crash]
    service, operation = event.split(".")
    seen = {"left": nth}

    def die(params: dict[str, Any], **_: Any) -> None:
        if wanted(params):
            seen["left"] -= 1
            if seen["left"] == 0:
                raise Killed

    hooked = getattr(services, service).meta.events
    hooked.register(f"provide-client-params.{event}", die)
    messages = [notification]
    killed_with = None
    try:
        while messages and killed_with is None:
            for message in messages:
                try:
                    handle_sqs_event(event_of(settings, [message]), services, Budget(5))
                except Killed:
                    killed_with = message
                    break
            messages = take_messages(settings) if killed_with is None else []
    finally:
        hooked.unregister(f"provide-client-params.{event}", die)
    assert killed_with is not None, f"the {operation} that should have died never came"
    # WHEN SQS delivers the message again once its visibility timeout is over (and the lease with it)
    shift = timedelta(seconds=ledger.LEASE_SECONDS + 1)
    afterwards = replace(services, now=lambda: timeutil.now() + shift)
    invoke_until_done(settings, afterwards, [killed_with, *take_messages(settings)], checks=5)
    # THEN the file ends as if it had been read in one go: every reading once, one alert
    assert_whole_file_once(settings, stack, shape)


def test_a_newer_version_waits_for_an_older_one_between_its_continuations_and_wins(
    settings: Settings, stack: Pipeline
) -> None:
    # GIVEN an older version of a key read part way: checkpointed, its continuation in the queue
    key = KEYS["lines"]
    older_rows = rows()
    put(settings, key, body("lines"))
    [older] = take_messages(settings)
    services = Services.from_settings(settings)
    handle_sqs_event(event_of(settings, [older]), services, Budget(2))
    [continuation] = take_messages(settings)
    # WHEN a newer version of the key (every reading's generation doubled) arrives before the continuation
    newer_rows = [dict(r, energy_generated_kwh=str(Decimal(r["energy_generated_kwh"]) * 2)) for r in older_rows]
    put(settings, key, "\n".join(json.dumps(r) for r in newer_rows).encode())
    [newer] = take_messages(settings)
    response = handle_sqs_event(event_of(settings, [newer]), services, Budget(100))
    # THEN it waits (its message fails and comes back) while the older version is between invocations
    assert response == {"batchItemFailures": [{"itemIdentifier": newer["MessageId"]}]}
    # AND once the older version has finished, the newer one is processed and its values win everywhere
    invoke_until_done(settings, services, [continuation], checks=100)
    invoke_until_done(settings, services, [newer], checks=100)
    dynamodb = services.dynamodb
    stack.drain()
    assert [r["status"] for r in raw_objects.ingest_status(settings, client("s3", settings), dynamodb)] == ["processed"]
    expected = validate_records(read_records(io.BytesIO(body("lines")), key, Settings()))
    stored = {
        (r["site_id"], r["timestamp"]): r["energy_generated_kwh"]
        for site in query.sites(settings, dynamodb)
        for r in query.readings(settings, dynamodb, site)
    }
    assert stored == {(r.site_id, r.timestamp_text): r.energy_generated_kwh * 2 for r in expected.readings}
    assert_rollups_exact(settings)


def test_time_that_runs_out_with_the_last_chunk_sends_no_continuation(settings: Settings, stack: Pipeline) -> None:
    # GIVEN an invocation whose time would run out after the file's last chunk (the reader holds a chunk back
    # until the next record comes, so it knows the last chunk is the last)
    put(settings, KEYS["lines"], body("lines"))
    [notification] = take_notifications(settings)
    budget = Budget(RECORDS // CHUNK - 1)
    # WHEN it reads the file
    outcome = pipeline.process_object(
        Services.from_settings(settings), notification, budget.get_remaining_time_in_millis
    )
    # THEN the file is done in that invocation, and no continuation is sent
    assert outcome.status == "processed" and outcome.counts.read == RECORDS
    assert take_messages(settings) == []
    assert_whole_file_once(settings, stack, "lines")


def test_an_attempt_that_lost_its_lease_cannot_move_the_checkpoint(settings: Settings) -> None:
    # GIVEN an attempt that checkpointed, then stalled past its lease, and a second attempt that took the key over
    put(settings, KEYS["lines"], body("lines"))
    [notification] = take_notifications(settings)
    services = Services.from_settings(settings)
    table, now = settings.ledger_table, timeutil.now()
    claim = (KEYS["lines"], notification.version_id, "etag", notification.sequencer)
    first = ledger.claim(services.dynamodb, table, *claim, now)
    assert isinstance(first, ledger.Lease)
    ledger.checkpoint(services.dynamodb, table, first, {"at": 1}, now, release=False)
    later = now + timedelta(seconds=ledger.LEASE_SECONDS + 1)
    second = ledger.claim(services.dynamodb, table, *claim, later)
    assert isinstance(second, ledger.Lease) and second.checkpoint == {"at": 1}
    # WHEN the first attempt wakes up and checkpoints again
    with pytest.raises(ledger.LeaseLost):
        ledger.checkpoint(services.dynamodb, table, first, {"at": 2}, later, release=True)
    # THEN the checkpoint is the one the second attempt resumes from, and the key is still the second's
    ledger.checkpoint(services.dynamodb, table, second, {"at": 3}, later, release=False)
    third = ledger.claim(services.dynamodb, table, *claim, later + timedelta(seconds=ledger.LEASE_SECONDS + 1))
    assert isinstance(third, ledger.Lease) and third.checkpoint == {"at": 3}
