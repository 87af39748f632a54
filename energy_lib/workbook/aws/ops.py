"""Operating the pipeline: wait for processing, queue depths, dead-letter redrive, alerts received,
quarantine, health, rebuilding the rollups. Works the same on the local stack and on AWS."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from tqdm.auto import tqdm

from energy_lib import query, raw_objects, rollups
from energy_lib.clients import client
from energy_lib.config import Settings
from energy_lib.corrections import is_correction
from energy_lib.dynamo import from_item, query_pages, to_item
from energy_lib.errors import EnergyError, WaitTimeout
from energy_lib.quarantine import source_of_rejects
from energy_lib.readings import format_timestamp
from energy_lib.schema import EXPIRED, FAILED, FINAL_STATUSES
from energy_lib.validation import EARLIEST
from energy_lib.wording import count
from energy_lib.workbook.aws.streams import StreamTail, stream_arn, unapplied

QUEUE_COUNTS = ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible")


def queue_url(settings: Settings, name: str) -> str:
    return client("sqs", settings).get_queue_url(QueueName=name)["QueueUrl"]


def queue_depth(settings: Settings, name: str) -> int:
    """Messages waiting plus messages in flight."""
    attributes = client("sqs", settings).get_queue_attributes(
        QueueUrl=queue_url(settings, name), AttributeNames=list(QUEUE_COUNTS)
    )["Attributes"]
    return sum(int(attributes.get(name, 0)) for name in QUEUE_COUNTS)


def queue_depths(settings: Settings) -> dict[str, int]:
    return {
        "ingest_queue": queue_depth(settings, settings.ingest_queue),
        "dead_letter_queue": queue_depth(settings, settings.dead_letter_queue),
        "rollups_dead_letter_queue": queue_depth(settings, settings.rollups_dead_letter_queue),
    }


def stream_tail(settings: Settings) -> StreamTail:
    """A reader of the readings table's stream, from its oldest record."""
    return StreamTail(client("dynamodbstreams", settings), stream_arn(settings, client("dynamodb", settings)))


def wait(
    settings: Settings,
    timeout_s: float = 300,
    poll_s: float = 1.0,
    progress: Callable[[dict[str, int]], None] | None = None,
) -> dict[str, int]:
    """Wait until processing is complete: every object under raw/ has a final ledger status, the ingest queue is
    empty, the rollups have taken in every reading written (the readings stream is drained), so that a
    summary read afterwards is complete, and the lake caught up (no change object waits for compaction: on AWS
    that takes up to :data:`~energy_lib.workbook.infra.spec.LAKE_DELAY_BOUND_MIN`, 13 minutes).

    Objects that failed count as settled once their retries are over (the queue is empty); an object whose
    attempt stopped without finishing (its lease expired) is reported as failed at once, with the reason in
    ``ingest status``. Returns the count of objects per status; raises :class:`WaitTimeout` at the deadline.
    """
    from energy_lib.workbook.lake.admin import pending_changes

    deadline = time.monotonic() + timeout_s
    s3, dynamodb = client("s3", settings), client("dynamodb", settings)
    tail = stream_tail(settings)
    while True:
        rows = raw_objects.ingest_status(settings, s3, dynamodb)
        counts = dict(sorted(Counter(row["status"] for row in rows).items()))
        depth = queue_depth(settings, settings.ingest_queue)
        behind = unapplied(settings, dynamodb, tail)
        unsettled = sum(n for status, n in counts.items() if status not in (*FINAL_STATUSES, FAILED, EXPIRED))
        stuck = any(row["lease_expired_at"] for row in rows)
        drained = not unsettled and not behind and (depth == 0 or stuck)
        lake_pending = pending_changes(settings) if drained else None
        if progress:
            progress(
                {
                    **counts,
                    "queued": depth,
                    "sites_behind_in_rollups": len(behind),
                    **({"lake_pending": lake_pending} if lake_pending else {}),
                }
            )
        if lake_pending == 0:
            return counts
        if time.monotonic() >= deadline:
            raise WaitTimeout(_unfinished(settings, timeout_s, unsettled, len(rows), depth, behind, lake_pending))
        time.sleep(poll_s)


def _unfinished(
    settings: Settings,
    timeout_s: float,
    unsettled: int,
    objects: int,
    depth: int,
    behind: dict,
    lake_pending: int | None,
) -> str:
    message = (
        f"after {timeout_s:.0f} s, {unsettled:,} of {count(objects, 'object')} not processed, "
        f"{count(depth, 'message')} in the ingest queue and the rollups of {count(len(behind), 'site')} behind "
        "their latest readings"
    )
    if lake_pending:
        message += f"; {count(lake_pending, 'change object')} waiting for the lake's compaction"
    failed_batches = queue_depth(settings, settings.rollups_dead_letter_queue)
    if failed_batches:
        message += (
            f"; {count(failed_batches, 'stream batch', 'stream batches')} in {settings.rollups_dead_letter_queue} "
            "(the rollups missed them): run `energy-workbook ops rebuild-rollups`"
        )
    return message


def peek(settings: Settings, name: str, max_messages: int = 100) -> list[dict[str, Any]]:
    """Messages in a queue, read without consuming them (they become visible again at once).

    Long polling (one second) asks every SQS server, so a queue that holds messages never looks empty.
    Each look is a receive: a message's receive count grows by one (harmless in the dead-letter and alerts
    queues, which have no redrive of their own).
    """
    sqs, url = client("sqs", settings), queue_url(settings, name)
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
    site-health alerts (with ``events``), report failures and recoveries (with ``notebook``) and summaries."""
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
                "notebook": _text(attributes.get("notebook")),
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
    sqs = client("sqs", settings)
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


REASON_SUFFIX = ".reason.json"  # beside an unparseable file in quarantine/files/: why it was rejected


def quarantine(settings: Settings, reasons: bool = False) -> list[dict[str, Any]]:
    """Objects under the quarantine prefix: key, kind (``readings`` or ``files``), source_key, size_bytes,
    last_modified. A file's ``.reason.json`` companion is not listed apart.

    With ``reasons``, each object is read (one GET each) and its row gets ``reasons``: for rejected readings
    how many readings had each reason (``missing_field: 2, bad_timestamp: 1``), for an unparseable file the
    reason it was rejected for.
    """
    prefix = settings.quarantine_prefix
    rows = [
        row
        for row in raw_objects.files(settings, client("s3", settings), prefix=prefix)
        if not row["key"].endswith(REASON_SUFFIX)
    ]
    for row in rows:
        row["kind"], rest = row["key"][len(prefix) :].split("/", 1)
        row["source_key"] = source_of_rejects(prefix, row["key"]) if row["kind"] == "readings" else rest
        if reasons:
            row["reasons"] = quarantine_reasons(settings, row["key"])
    return rows


def quarantine_reasons(settings: Settings, key: str) -> str:
    """Why the quarantine object ``key`` was rejected, in one line (see :func:`quarantine`)."""
    if key.startswith(f"{settings.quarantine_prefix}files/"):
        return str(quarantined_readings(settings, key + REASON_SUFFIX)[0].get("reason", ""))
    counts = Counter(reason for row in quarantined_readings(settings, key) for reason in set(row.get("reasons", [])))
    return ", ".join(f"{reason}: {n}" for reason, n in counts.most_common())


def quarantined_readings(settings: Settings, key: str) -> list[dict[str, Any]]:
    """The rejected readings in one quarantine object: source key, position, original text, reasons."""
    body = raw_objects.read_file(settings, client("s3", settings), key).decode()
    return [json.loads(line) for line in body.splitlines() if line.strip()]


HEALTHY, DEGRADED, UNHEALTHY = "healthy", "degraded", "unhealthy"


def health(settings: Settings) -> list[dict[str, Any]]:
    """One cheap call per resource: does it answer, and in what state.

    Each row: ``resource``, ``status`` (``healthy``; ``degraded`` for a dead-letter queue that holds
    messages, which failed every delivery and wait for a redrive; ``unhealthy`` when the resource does not
    answer), ``healthy`` (status is ``healthy``) and ``detail``.
    """

    def queue(name: str) -> tuple[str, str]:
        depth = queue_depth(settings, name)
        if name == settings.dead_letter_queue and depth:
            return DEGRADED, f"{count(depth, 'message')} that failed every delivery: redrive (ops redrive)"
        if name == settings.rollups_dead_letter_queue and depth:
            return (
                DEGRADED,
                f"{count(depth, 'stream batch', 'stream batches')} the rollups missed: repair (ops rebuild-rollups)",
            )
        return HEALTHY, count(depth, "message")

    probes: list[tuple[str, Callable[[], tuple[str, str]]]] = [
        ("bucket", lambda: (client("s3", settings).head_bucket(Bucket=settings.bucket), (HEALTHY, "reachable"))[1]),
        *[
            (
                name,
                lambda name=name: (
                    HEALTHY,
                    client("dynamodb", settings).describe_table(TableName=name)["Table"]["TableStatus"],
                ),
            )
            for name in (settings.readings_table, settings.rollups_table, settings.ledger_table, settings.sites_table)
        ],
        *[
            (name, lambda name=name: queue(name))
            for name in (
                settings.ingest_queue,
                settings.dead_letter_queue,
                settings.alerts_queue,
                settings.rollups_dead_letter_queue,
            )
        ],
        ("readings stream", lambda: (HEALTHY, stream_arn(settings, client("dynamodb", settings)).rsplit("/", 1)[-1])),
        (
            "topic",
            lambda: (
                HEALTHY,
                client("sns", settings).get_topic_attributes(TopicArn=settings.topic_arn)["Attributes"]["TopicArn"],
            ),
        ),
    ]
    rows = []
    for resource, probe in probes:
        try:
            status, detail = probe()
        except (ClientError, BotoCoreError, EnergyError) as error:
            status, detail = UNHEALTHY, str(error)
        rows.append({"resource": resource, "status": status, "healthy": status == HEALTHY, "detail": detail})
    return rows


REBUILD_ROUNDS = 5  # attempts per site when it is written to while its rollups are rebuilt


def rebuild_rollups(
    settings: Settings, sites: Iterable[str] = (), scan_sites: bool = False, progress: bool = True
) -> dict[str, int]:
    """Recompute the rollups of every site from its stored readings and write them whole: with a hot window, the
    table's readings and, before the window, the lake's (the lake is folded first, corrections included; old
    readings that arrive while it runs may be counted twice: run it again then).

    The sites: those with an all-time rollup, those named, and with ``scan_sites`` every site in the readings
    table (a Scan, which reads every reading once: the way when the rollups table is empty or lost). Each site's
    readings are read with one consistent Query. Safe while the pipeline runs: the stream is read first, and
    a site is written only when no record of it came in while its readings were read; each item is written with
    the stream position it now holds, conditional on the item being unchanged since it was read, so that the
    aggregator then adds only what came later. A site written to in between is done again.
    Returns the sites, rollup items and readings it went through, and how many sites were done again.
    """
    from energy_lib.compaction.days import compact  # pyarrow: loaded by the command that needs it
    from energy_lib.workbook.lake import stores

    dynamodb = client("dynamodb", settings)
    if stores.cut(settings) is not None:  # history from the lake: first fold in what waits, corrections too
        compact(settings, client("s3", settings), dynamodb=dynamodb)
    tail = stream_tail(settings)
    names = set(sites) | {row["site_id"] for row in query.rollups(settings, dynamodb, [rollups.TOTAL_BUCKET])}
    if scan_sites:
        names |= _sites_in_readings(settings, dynamodb)
    done = {"sites": 0, "rollups": 0, "readings": 0, "retries": 0}
    for site in tqdm(sorted(names), desc="rebuilding rollups", unit="site", disable=not progress):
        for _ in range(REBUILD_ROUNDS):
            written = _rebuild_site(settings, dynamodb, tail, site)
            if written is not None:
                done["sites"] += 1
                done["rollups"] += written[0]
                done["readings"] += written[1]
                break
            done["retries"] += 1
        else:
            raise EnergyError(f"site {site} was written to during {REBUILD_ROUNDS} rebuilds in a row; run it again")
    return done


def _sites_in_readings(settings: Settings, dynamodb: Any) -> set[str]:
    """Every site in the readings table, by a Scan that projects the site id (its cost: every reading, once)."""
    found: set[str] = set()
    for page in dynamodb.get_paginator("scan").paginate(
        TableName=settings.readings_table, ProjectionExpression="site_id"
    ):
        found |= {item["site_id"]["S"] for item in page["Items"] if not is_correction(item["site_id"]["S"])}
    return found


def _rebuild_site(settings: Settings, dynamodb: Any, tail: StreamTail, site: str) -> tuple[int, int] | None:
    """Write one site's rollups from its readings; None when the site changed meanwhile (do it again)."""
    from energy_lib.workbook.lake import stores

    position = tail.catch_up().get(site, "")
    readings = list(
        query_pages(
            dynamodb,
            TableName=settings.readings_table,
            KeyConditionExpression="site_id = :site",
            ExpressionAttributeValues={":site": {"S": site}},
            ConsistentRead=True,
        )
    )
    cut = stores.cut(settings)
    if cut is not None:  # what the table let go is the lake's; the table's reading wins where both have one
        readings = stores.newest(stores.lake_rows(settings, (EARLIEST, cut), [site]) + readings)
    if tail.catch_up().get(site, "") != position:
        return None
    now = format_timestamp(datetime.now(timezone.utc))
    computed = rollups.from_readings(readings)
    for key in sorted(computed, key=lambda key: key[0] == rollups.TOTAL_BUCKET):  # the all-time item last
        if not _put_rollup(settings, dynamodb, key, computed[key], position, now):
            return None
    return len(computed), len(readings)


def _put_rollup(
    settings: Settings, dynamodb: Any, key: rollups.RollupKey, change: rollups.Change, position: str, now: str
) -> bool:
    """Replace one rollup item, unless the aggregator took in a record newer than ``position`` or changed it since it
    was read."""
    table_key = to_item({"bucket": key[0], "site_id": key[1]})
    current = from_item(
        dynamodb.get_item(TableName=settings.rollups_table, Key=table_key, ConsistentRead=True).get("Item", {})
    )
    observed = current.get("applied_sequence", "")
    if observed > position:
        return False
    request: dict[str, Any] = {
        "TableName": settings.rollups_table,
        "Item": to_item(rollups.item(key, change, max(observed, position), now)),
    }
    if observed:
        request.update(
            ConditionExpression="applied_sequence = :observed",
            ExpressionAttributeValues=to_item({":observed": observed}),
        )
    else:
        request["ConditionExpression"] = "attribute_not_exists(applied_sequence)"
    try:
        dynamodb.put_item(**request)
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise
    return True
