"""Process source objects end to end, and SQS events of S3 notifications.

One object version: claim its key in the ledger (a lease; a final entry makes re-delivery a no-op, a newer
version of the key supersedes it), parse and validate, write readings in chunks of ``CHUNK_READINGS`` (the
lease renewed before each, BatchWriteItem 25 a request), quarantine what cannot be stored, send one alert
when it has anomalies (remembered in the ledger, so a retry does not send it twice), record the counts. The
ingest only writes: the rollups follow from the readings table's stream (:mod:`energy_lib.aggregator`). Any
error marks the entry failed, gives the key back and raises, so the message is retried and finally lands in
the dead-letter queue.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypedDict
from urllib.parse import unquote_plus

from botocore.exceptions import ClientError

from energy_lib import alerts, ledger, quarantine, storage, timeutil
from energy_lib.clients import client
from energy_lib.config import Settings
from energy_lib.dynamo import batch_put, chunks
from energy_lib.errors import EnergyError, StaleEvent, UnparseableFile
from energy_lib.parsing import parse_records
from energy_lib.rules import assess
from energy_lib.schema import PROCESSED, REJECTED
from energy_lib.validation import validate_records

logger = logging.getLogger("energy_lib.pipeline")
CHUNK_READINGS = 500  # readings written between two renewals of the lease
WRITERS = 4  # BatchWriteItem requests of a chunk in flight at once
NO_VERSION = "null"  # what S3 calls the version of an object in a bucket without versioning


class NotAnS3Notification(EnergyError):
    """An SQS message body that is not an S3 event notification (or one without a sequencer to order it)."""


class BatchItemFailure(TypedDict):
    itemIdentifier: str


class BatchResponse(TypedDict):
    batchItemFailures: list[BatchItemFailure]


@dataclass(frozen=True, slots=True)
class Notification:
    """One object version an S3 event names: key, version id (None: the current one) and S3's sequencer."""

    key: str
    version_id: str | None
    sequencer: str


@dataclass(frozen=True)
class Services:
    """The settings and the clients the pipeline uses; build once, reuse for every event."""

    settings: Settings
    s3: Any
    dynamodb: Any
    sns: Any
    now: Callable[[], datetime] = field(default=timeutil.now)

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        return cls(settings, client("s3", settings), client("dynamodb", settings), client("sns", settings))


@dataclass(frozen=True, slots=True)
class Outcome:
    key: str
    version_id: str
    etag: str
    status: str  # processed, rejected, superseded, duplicate (already final), skipped (not under raw/, or gone)
    counts: ledger.Counts = ledger.Counts()
    alert_id: str | None = None


def process_object(services: Services, notification: Notification) -> Outcome:
    """Process one object version under the raw prefix; safe to call again, and in any order of versions.

    Raises :class:`~energy_lib.ledger.KeyBusy` while another attempt holds the key (the message is retried).
    """
    settings, key = services.settings, notification.key
    if not key.startswith(settings.raw_prefix):
        return Outcome(key, "", "", "skipped")
    try:
        body, etag, version_id = _read(services, key, notification.version_id)
    except StaleEvent:
        logger.info("object %s (version %s) no longer exists; skipped", key, notification.version_id)
        return Outcome(key, notification.version_id or "", "", "skipped")
    claimed = ledger.claim(
        services.dynamodb, settings.ledger_table, key, version_id, etag, notification.sequencer, services.now()
    )
    if isinstance(claimed, str):
        logger.info("object %s version %s: %s", key, version_id, claimed)
        return Outcome(key, version_id, etag, claimed)
    try:
        return _process(services, claimed, body)
    except Exception as exc:
        ledger.fail(services.dynamodb, settings.ledger_table, claimed, services.now(), f"{type(exc).__name__}: {exc}")
        raise


def _read(services: Services, key: str, version_id: str | None) -> tuple[bytes, str, str]:
    request = {"Bucket": services.settings.bucket, "Key": key}
    if version_id:
        request["VersionId"] = version_id
    try:
        response = services.s3.get_object(**request)
    except ClientError as error:
        if error.response["Error"]["Code"] in ("NoSuchKey", "NoSuchVersion", "404"):
            raise StaleEvent(key) from error
        raise
    return response["Body"].read(), response["ETag"].strip('"'), response.get("VersionId") or NO_VERSION


def _process(services: Services, lease: ledger.Lease, body: bytes) -> Outcome:
    """Everything after the claim, under the lease."""
    settings, now, key = services.settings, services.now(), lease.key
    try:
        parsed = validate_records(parse_records(body, key))
    except UnparseableFile as exc:
        version = None if lease.version_id == NO_VERSION else lease.version_id
        prefix = settings.quarantine_prefix
        quarantine.put_file(services.s3, settings.bucket, prefix, key, lease.etag, version, str(exc))
        ledger.finish(services.dynamodb, settings.ledger_table, lease, REJECTED, ledger.Counts(), now, error=str(exc))
        logger.warning("rejected %s: %s", key, exc)
        return Outcome(key, lease.version_id, lease.etag, REJECTED)

    items = [storage.reading_item(r, assess(r, settings), key, now) for r in parsed.readings]
    lease = write_readings(services, lease, items)
    if parsed.rejects:
        quarantine.put_rejects(
            services.s3, settings.bucket, settings.quarantine_prefix, key, lease.etag, parsed.rejects
        )
    anomalies = [item for item in items if item["anomaly"]]
    if anomalies and not lease.alert_id:
        alert_id = alerts.publish(services.sns, settings.topic_arn, key, anomalies)
        lease = ledger.record_alert(services.dynamodb, settings.ledger_table, lease, alert_id, services.now())
    counts = ledger.Counts(parsed.read, len(items), len(parsed.rejects), len(anomalies))
    ledger.finish(services.dynamodb, settings.ledger_table, lease, PROCESSED, counts, services.now())
    logger.info("processed %s version %s: %s", key, lease.version_id, counts)
    return Outcome(key, lease.version_id, lease.etag, PROCESSED, counts, lease.alert_id)


def write_readings(services: Services, lease: ledger.Lease, items: Sequence[dict[str, Any]]) -> ledger.Lease:
    """Write ``items`` chunk by chunk: the claim is fresh for the first, the lease is renewed before the others."""
    for number, chunk in enumerate(chunks(items, CHUNK_READINGS)):
        lease = write_chunk(services, lease, chunk, renew=number > 0)
    return lease


def write_chunk(
    services: Services, lease: ledger.Lease, items: Sequence[dict[str, Any]], renew: bool = True
) -> ledger.Lease:
    """Renew the lease (:class:`~energy_lib.ledger.LeaseLost` when another attempt took it over), then write one
    chunk of readings with BatchWriteItem, 25 a request, :data:`WRITERS` requests at a time. Returns the renewed
    lease."""
    if renew:
        lease = ledger.renew(services.dynamodb, services.settings.ledger_table, lease, services.now())
    batch_put(services.dynamodb, services.settings.readings_table, items, writers=WRITERS)
    return lease


def notifications(body: str) -> list[Notification]:
    """The object versions an S3 notification body names; [] for ``s3:TestEvent``."""
    try:
        event = json.loads(body)
    except (TypeError, ValueError) as exc:
        raise NotAnS3Notification(f"message body is not JSON: {exc}") from exc
    if isinstance(event, dict) and event.get("Event") == "s3:TestEvent":
        return []
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list) or not records:
        raise NotAnS3Notification("message body has no S3 Records")
    found = []
    for record in records:
        try:
            s3_object = record["s3"]["object"]
            key, sequencer = unquote_plus(s3_object["key"]), s3_object["sequencer"]
        except (KeyError, TypeError) as exc:
            raise NotAnS3Notification(f"S3 record without s3.object.key and s3.object.sequencer: {exc}") from exc
        found.append(Notification(key, s3_object.get("versionId") or None, sequencer))
    return found


def handle_sqs_event(event: dict[str, Any], services: Services) -> BatchResponse:
    """Process every message; the response names those that failed (``ReportBatchItemFailures``)."""
    failures: list[BatchItemFailure] = []
    for record in event.get("Records", []):
        try:
            for notification in notifications(record["body"]):
                process_object(services, notification)
        except ledger.KeyBusy as busy:
            logger.info("message %s waits: %s", record.get("messageId"), busy)
            failures.append({"itemIdentifier": record["messageId"]})
        except Exception:
            logger.exception("message %s failed", record.get("messageId"))
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
