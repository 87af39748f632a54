"""Process source objects end to end, and SQS events of S3 notifications.

One object: claim it in the ledger (a final entry makes re-delivery a no-op), parse and validate,
change rollups by exactly what its readings change, write readings in batches of 25, quarantine what
cannot be stored, send one alert when it has anomalies (remembered in the ledger, so a retry does not
send it twice), record the counts. Any error marks the entry failed and raises, so the message is
retried and finally lands in the dead-letter queue.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypedDict
from urllib.parse import unquote_plus

from botocore.exceptions import ClientError

from energy_lib import alerts, ledger, quarantine, storage, timeutil
from energy_lib.clients import client
from energy_lib.config import Settings
from energy_lib.dynamo import batch_put
from energy_lib.errors import EnergyError, StaleEvent, UnparseableFile
from energy_lib.parsing import parse_records
from energy_lib.rules import assess
from energy_lib.schema import PROCESSED, REJECTED
from energy_lib.validation import validate_records

logger = logging.getLogger("energy_lib.pipeline")


class NotAnS3Notification(EnergyError):
    """An SQS message body that is not an S3 event notification."""


class BatchItemFailure(TypedDict):
    itemIdentifier: str


class BatchResponse(TypedDict):
    batchItemFailures: list[BatchItemFailure]


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
    etag: str
    status: str  # processed, rejected, duplicate (already final), skipped (not under raw/, or gone)
    counts: ledger.Counts = ledger.Counts()
    alert_id: str | None = None


def source_id(key: str, etag: str) -> str:
    return hashlib.sha256(f"{key}\0{etag}".encode()).hexdigest()[:20]


def process_object(services: Services, key: str, version_id: str | None = None) -> Outcome:
    """Process one object under the raw prefix; safe to call again for the same object."""
    settings = services.settings
    if not key.startswith(settings.raw_prefix):
        return Outcome(key, "", "skipped")
    try:
        body, etag, version_id = _read(services, key, version_id)
    except StaleEvent:
        logger.info("object %s (version %s) no longer exists; skipped", key, version_id)
        return Outcome(key, "", "skipped")
    earlier = ledger.claim(services.dynamodb, settings.ledger_table, key, etag, services.now())
    if earlier is None:
        return Outcome(key, etag, "duplicate")
    try:
        return _process(services, key, etag, version_id, body, earlier.get("alert_id"))
    except Exception as exc:
        ledger.fail(services.dynamodb, settings.ledger_table, key, etag, services.now(), f"{type(exc).__name__}: {exc}")
        raise


def _read(services: Services, key: str, version_id: str | None) -> tuple[bytes, str, str | None]:
    request = {"Bucket": services.settings.bucket, "Key": key}
    if version_id:
        request["VersionId"] = version_id
    try:
        response = services.s3.get_object(**request)
    except ClientError as error:
        if error.response["Error"]["Code"] in ("NoSuchKey", "NoSuchVersion", "404"):
            raise StaleEvent(key) from error
        raise
    return response["Body"].read(), response["ETag"].strip('"'), response.get("VersionId", version_id)


def _process(
    services: Services, key: str, etag: str, version_id: str | None, body: bytes, sent_alert_id: str | None
) -> Outcome:
    """Everything after the claim; ``sent_alert_id`` is the alert an earlier attempt already sent."""
    settings, now = services.settings, services.now()
    try:
        parsed = validate_records(parse_records(body, key))
    except UnparseableFile as exc:
        quarantine.put_file(services.s3, settings.bucket, settings.quarantine_prefix, key, etag, version_id, str(exc))
        ledger.finish(
            services.dynamodb, settings.ledger_table, key, etag, REJECTED, ledger.Counts(), now, error=str(exc)
        )
        logger.warning("rejected %s: %s", key, exc)
        return Outcome(key, etag, REJECTED)

    items = [storage.reading_item(r, assess(r, settings), key, now) for r in parsed.readings]
    old = storage.existing_readings(services.dynamodb, settings.readings_table, items)
    changes = storage.rollup_changes(items, old)
    storage.apply_rollup_changes(services.dynamodb, settings.rollups_table, changes, source_id(key, etag), now)
    batch_put(services.dynamodb, settings.readings_table, items)
    if parsed.rejects:
        quarantine.put_rejects(services.s3, settings.bucket, settings.quarantine_prefix, key, etag, parsed.rejects)
    anomalies = [item for item in items if item["anomaly"]]
    alert_id = sent_alert_id or alerts.publish(services.sns, settings.topic_arn, key, anomalies)
    if alert_id and not sent_alert_id:
        ledger.record_alert(services.dynamodb, settings.ledger_table, key, etag, alert_id)
    counts = ledger.Counts(parsed.read, len(items), len(parsed.rejects), len(anomalies))
    ledger.finish(services.dynamodb, settings.ledger_table, key, etag, PROCESSED, counts, now)
    logger.info("processed %s: %s", key, counts)
    return Outcome(key, etag, PROCESSED, counts, alert_id)


def notifications(body: str) -> list[tuple[str, str | None]]:
    """(key, version id) of every object an S3 notification body names; [] for ``s3:TestEvent``."""
    try:
        event = json.loads(body)
    except (TypeError, ValueError) as exc:
        raise NotAnS3Notification(f"message body is not JSON: {exc}") from exc
    if isinstance(event, dict) and event.get("Event") == "s3:TestEvent":
        return []
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list) or not records:
        raise NotAnS3Notification("message body has no S3 Records")
    objects = []
    for record in records:
        try:
            s3_object = record["s3"]["object"]
            objects.append((unquote_plus(s3_object["key"]), s3_object.get("versionId") or None))
        except (KeyError, TypeError) as exc:
            raise NotAnS3Notification(f"S3 record without s3.object.key: {exc}") from exc
    return objects


def handle_sqs_event(event: dict[str, Any], services: Services) -> BatchResponse:
    """Process every message; the response names those that failed (``ReportBatchItemFailures``)."""
    failures: list[BatchItemFailure] = []
    for record in event.get("Records", []):
        try:
            for key, version_id in notifications(record["body"]):
                process_object(services, key, version_id)
        except Exception:
            logger.exception("message %s failed", record.get("messageId"))
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
