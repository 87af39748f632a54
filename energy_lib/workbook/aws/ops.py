"""Operating the pipeline: wait for processing, queue depths, dead-letter redrive, alerts received,
quarantine, health. Works the same on the local stack and on AWS."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from energy_lib import query
from energy_lib.config import Settings
from energy_lib.errors import WaitTimeout
from energy_lib.schema import FAILED, FINAL_STATUSES
from energy_lib.workbook.aws.session import aws

QUEUE_COUNTS = ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible")


def queue_url(settings: Settings, name: str) -> str:
    return aws(settings, "sqs").get_queue_url(QueueName=name)["QueueUrl"]


def queue_depth(settings: Settings, name: str) -> int:
    """Messages waiting plus messages in flight."""
    attributes = aws(settings, "sqs").get_queue_attributes(
        QueueUrl=queue_url(settings, name), AttributeNames=list(QUEUE_COUNTS)
    )["Attributes"]
    return sum(int(attributes.get(name, 0)) for name in QUEUE_COUNTS)


def queue_depths(settings: Settings) -> dict[str, int]:
    return {
        "ingest_queue": queue_depth(settings, settings.ingest_queue),
        "dead_letter_queue": queue_depth(settings, settings.dead_letter_queue),
    }


def wait(
    settings: Settings,
    timeout_s: float = 300,
    poll_s: float = 1.0,
    progress: Callable[[dict[str, int]], None] | None = None,
) -> dict[str, int]:
    """Wait until every object under raw/ has a final or failed ledger status, the ingest queue is empty and
    the lake caught up (no change object waits for compaction: on AWS that takes up to the compaction delay,
    10 minutes). Returns the count of objects per status; raises :class:`WaitTimeout` at the deadline."""
    from energy_lib.workbook.lake.admin import pending_changes

    deadline = time.monotonic() + timeout_s
    while True:
        statuses = [
            row["status"] for row in query.ingest_status(settings, aws(settings, "s3"), aws(settings, "dynamodb"))
        ]
        counts = {status: statuses.count(status) for status in sorted(set(statuses))}
        depth = queue_depth(settings, settings.ingest_queue)
        settled = all(status in (*FINAL_STATUSES, FAILED) for status in statuses)
        lake_pending = pending_changes(settings) if settled and depth == 0 else None
        if progress:
            progress({**counts, "queued": depth, **({"lake_pending": lake_pending} if lake_pending else {})})
        if lake_pending == 0:
            return counts
        if time.monotonic() >= deadline:
            unsettled = sum(n for s, n in counts.items() if s not in (*FINAL_STATUSES, FAILED))
            raise WaitTimeout(
                f"after {timeout_s:.0f} s, {unsettled} of {len(statuses)} objects are not processed, "
                f"{depth} messages are in the ingest queue"
                + (f" and {lake_pending} change objects wait for the lake's compaction" if lake_pending else "")
            )
        time.sleep(poll_s)


def peek(settings: Settings, name: str, max_messages: int = 100) -> list[dict[str, Any]]:
    """Messages in a queue, read without consuming them (they become visible again at once).

    Long polling (one second) asks every SQS server, so a queue that holds messages never looks empty.
    Each look is a receive: a message's receive count grows by one (harmless in the dead-letter and alerts
    queues, which have no redrive of their own).
    """
    sqs, url = aws(settings, "sqs"), queue_url(settings, name)
    seen: dict[str, dict[str, Any]] = {}
    while len(seen) < max_messages:
        batch = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30, AttributeNames=["All"], WaitTimeSeconds=1
        ).get("Messages", [])
        new = [m for m in batch if m["MessageId"] not in seen]
        seen.update({m["MessageId"]: m for m in new})
        if not new:
            break
    messages = list(seen.values())[:max_messages]
    for message in messages:  # hand them back
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    return messages


def _text(attribute: dict[str, str] | None, default: str = "") -> str:
    """A message attribute of an SNS envelope as text; a String.Array's values joined with ", "."""
    if attribute is None:
        return default
    if attribute.get("Type") == "String.Array":
        return ", ".join(json.loads(attribute["Value"]))
    return attribute.get("Value", default)


def _count(attribute: dict[str, str] | None) -> int | None:
    return None if attribute is None else int(attribute["Value"])


def alerts(settings: Settings, max_messages: int = 100) -> list[dict[str, Any]]:
    """Messages delivered to the alerts queue (SNS -> SQS), newest first: anomaly alerts (with ``anomalies``),
    site-health alerts (with ``events``) and summaries."""
    rows = []
    for message in peek(settings, settings.alerts_queue, max_messages):
        envelope = json.loads(message["Body"])
        attributes = envelope.get("MessageAttributes", {})
        rows.append(
            {
                "sent_at": envelope.get("Timestamp", ""),
                "kind": _text(attributes.get("kind"), "anomaly"),
                "subject": envelope.get("Subject", ""),
                "severity": _text(attributes.get("severity")),
                "sites": _text(attributes.get("site_id")),
                "anomalies": _count(attributes.get("anomalies")),
                "events": _count(attributes.get("events")),
                "message": envelope.get("Message", ""),
            }
        )
    return sorted(rows, key=lambda row: row["sent_at"], reverse=True)


def dead_letters(settings: Settings, max_messages: int = 100) -> list[dict[str, Any]]:
    """Messages in the dead-letter queue: id, receive count, first sent, body."""
    return [
        {
            "message_id": m["MessageId"],
            "receive_count": int(m.get("Attributes", {}).get("ApproximateReceiveCount", 0)),
            "body": m["Body"],
        }
        for m in peek(settings, settings.dead_letter_queue, max_messages)
    ]


def redrive(settings: Settings, max_messages: int = 1000) -> int:
    """Move messages from the dead-letter queue back to the ingest queue; returns how many moved."""
    sqs = aws(settings, "sqs")
    source, target = queue_url(settings, settings.dead_letter_queue), queue_url(settings, settings.ingest_queue)
    moved = 0
    while moved < max_messages:
        batch = sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10, VisibilityTimeout=60).get("Messages", [])
        if not batch:
            break
        entries = [{"Id": str(i), "MessageBody": m["Body"]} for i, m in enumerate(batch)]
        sent = sqs.send_message_batch(QueueUrl=target, Entries=entries)
        ok = {entry["Id"] for entry in sent.get("Successful", [])}
        done = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch) if str(i) in ok]
        if done:
            sqs.delete_message_batch(QueueUrl=source, Entries=done)
        moved += len(done)
    return moved


def quarantine(settings: Settings) -> list[dict[str, Any]]:
    """Objects under the quarantine prefix: key, kind (readings or files), size, time."""
    rows = query.files(settings, aws(settings, "s3"), prefix=settings.quarantine_prefix)
    for row in rows:
        row["kind"] = row["key"][len(settings.quarantine_prefix) :].split("/", 1)[0]
    return rows


def quarantined_readings(settings: Settings, key: str) -> list[dict[str, Any]]:
    """The rejected readings in one quarantine object: source key, position, original text, reasons."""
    body = query.read_file(settings, aws(settings, "s3"), key).decode()
    return [json.loads(line) for line in body.splitlines() if line.strip()]


def health(settings: Settings) -> list[dict[str, Any]]:
    """One cheap call per resource: does it answer, and in what state."""
    probes: list[tuple[str, Callable[[], str]]] = [
        ("bucket", lambda: (aws(settings, "s3").head_bucket(Bucket=settings.bucket), "reachable")[1]),
        *[
            (name, lambda name=name: aws(settings, "dynamodb").describe_table(TableName=name)["Table"]["TableStatus"])
            for name in (settings.readings_table, settings.rollups_table, settings.ledger_table, settings.sites_table)
        ],
        *[
            (name, lambda name=name: f"{queue_depth(settings, name)} messages")
            for name in (settings.ingest_queue, settings.dead_letter_queue, settings.alerts_queue)
        ],
        (
            "topic",
            lambda: aws(settings, "sns").get_topic_attributes(TopicArn=settings.topic_arn)["Attributes"]["TopicArn"],
        ),
    ]
    rows = []
    for resource, probe in probes:
        try:
            rows.append({"resource": resource, "healthy": True, "detail": probe()})
        except (ClientError, BotoCoreError) as error:
            rows.append({"resource": resource, "healthy": False, "detail": str(error)})
    return rows
