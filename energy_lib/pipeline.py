"""Process source objects end to end, and SQS events of S3 notifications.

One object version: claim its key in the ledger (a lease; a final entry makes re-delivery a no-op, a newer
version of the key supersedes it), then read the object as a stream (:func:`~energy_lib.parsing.read_records`)
in chunks of ``CHUNK_RECORDS`` records: validate (the duplicates database on local disk), write the readings
(the lease renewed before each chunk, BatchWriteItem 25 a request), quarantine the chunk's rejects (one object per
chunk). Memory is set by the chunk, never by the object.

Every ``CHECKPOINT_RECORDS`` records, and when the invocation's remaining time falls below ``RESERVE_MS``, a
checkpoint: the duplicates database is copied to S3 (:mod:`energy_lib.checkpoints`), then where to resume and the
counts so far go to the ledger in one update conditional on the lease. When time runs out the checkpoint also
gives the key back and :func:`handle_sqs_event` sends the message again (a continuation, attribute
``continuation``); that delivery, like the retry after a crash, resumes from the last checkpoint. Records read
again after a resume are written again with the same values: the readings are keyed and their rollups come
from the table's stream, where a rewrite with equal values adds nothing.

At the end: one alert when the file had anomalies (remembered in the ledger, so a retry does not send it
twice), the counts read = stored + quarantined for the whole object. A file that breaks a limit or cannot be
read part way (:class:`~energy_lib.errors.UnparseableFile`) keeps what was stored before the problem, is
quarantined whole with the reason and counted as far as it was read (status rejected). Any other error marks
the entry failed, gives the key back (the checkpoint stays) and raises, so the message is retried and finally
lands in the dead-letter queue.
"""

from __future__ import annotations

import io
import json
import logging
import sqlite3
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from dataclasses import asdict, dataclass, field
from datetime import datetime
from functools import cache
from typing import Any, BinaryIO, TypedDict
from urllib.parse import unquote_plus

from botocore.exceptions import ClientError

from energy_lib import alerts, checkpoints, ledger, quarantine, storage, timeutil
from energy_lib.clients import client
from energy_lib.config import Settings
from energy_lib.dynamo import batch_put
from energy_lib.errors import EnergyError, StaleEvent, UnparseableFile
from energy_lib.ledger import NO_VERSION
from energy_lib.parsing import Record, ResumePoint, read_records
from energy_lib.rules import assess
from energy_lib.schema import PROCESSED, REJECTED
from energy_lib.seen_readings import SeenReadings
from energy_lib.validation import validate_records

logger = logging.getLogger("energy_lib.pipeline")
CHUNK_RECORDS = 500  # records validated and written between two renewals of the lease
CHUNK_TEXT_CHARS = 8 * 2**20  # a chunk ends early once its records' original text is this long
CHECKPOINT_RECORDS = 50_000  # records between two checkpoints while time remains
RESERVE_MS = 15_000  # remaining time kept to finish a chunk, checkpoint and send the continuation
CONTINUED = "continued"  # an outcome: checkpointed, the message is sent again to read on
WRITERS = 4  # BatchWriteItem requests of a chunk in flight at once
SMALL_OBJECT_BYTES = 2**20  # objects of a batch this small are read side by side (a few requests' waits each)


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
    size: int | None = None  # [bytes], as the notification says


@dataclass(frozen=True)
class Services:
    """The settings and the clients the pipeline uses; build once, reuse for every event."""

    settings: Settings
    s3: Any
    dynamodb: Any
    sns: Any
    sqs: Any
    now: Callable[[], datetime] = field(default=timeutil.now)

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        return cls(settings, *(client(name, settings) for name in ("s3", "dynamodb", "sns", "sqs")))


@dataclass(frozen=True, slots=True)
class Outcome:
    key: str
    version_id: str
    etag: str
    status: str  # processed, rejected, superseded, duplicate (already final), skipped (not under raw/, or gone),
    # continued (checkpointed: the message must be sent again)
    counts: ledger.Counts = ledger.Counts()
    alert_id: str | None = None


def _unlimited() -> int:
    return sys.maxsize


@dataclass(frozen=True, slots=True)
class Source:
    """An object version opened for reading: its body (a stream) and what identifies it."""

    body: BinaryIO
    etag: str
    version_id: str
    size: int


@dataclass(slots=True)
class Progress:
    """How far an object version has been read: where to resume, the counts, what its alert will say."""

    resume: ResumePoint | None = None
    counts: ledger.Counts = ledger.Counts()
    tally: alerts.Tally = field(default_factory=alerts.Tally)

    @classmethod
    def of(cls, checkpoint: dict[str, Any] | None) -> Progress:
        if not checkpoint:
            return cls()
        resume = ResumePoint.from_dict(checkpoint["resume"])
        return cls(resume, ledger.Counts(**checkpoint["counts"]), alerts.Tally.from_dict(checkpoint["tally"]))

    def as_dict(self) -> dict[str, Any]:
        resume = self.resume.as_dict() if self.resume else None
        return {"resume": resume, "counts": asdict(self.counts), "tally": self.tally.as_dict()}


def process_object(
    services: Services, notification: Notification, time_left_ms: Callable[[], int] = _unlimited
) -> Outcome:
    """Process one object version under the raw prefix; safe to call again, and in any order of versions.

    ``time_left_ms`` is the invocation's remaining time: when it falls below ``RESERVE_MS`` the version is
    checkpointed and the outcome is ``continued``. Raises :class:`~energy_lib.ledger.KeyBusy` while another
    attempt holds the key (the message is retried).
    """
    settings, key = services.settings, notification.key
    if not key.startswith(settings.raw_prefix):
        return Outcome(key, "", "", "skipped")
    try:
        source = _open(services, key, notification.version_id)
    except StaleEvent:
        logger.info("object %s (version %s) no longer exists; skipped", key, notification.version_id)
        return Outcome(key, notification.version_id or "", "", "skipped")
    with source.body:
        claimed = ledger.claim(
            services.dynamodb,
            settings.ledger_table,
            key,
            source.version_id,
            source.etag,
            notification.sequencer,
            services.now(),
            ledger.keep_days(settings.readings_ttl_days),
        )
        if isinstance(claimed, str):
            logger.info("object %s version %s: %s", key, source.version_id, claimed)
            return Outcome(key, source.version_id, source.etag, claimed)
        try:
            return _process(services, claimed, source, time_left_ms)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            ledger.fail(services.dynamodb, settings.ledger_table, claimed, services.now(), error)
            raise


def _open(services: Services, key: str, version_id: str | None) -> Source:
    request = {"Bucket": services.settings.bucket, "Key": key}
    if version_id:
        request["VersionId"] = version_id
    try:
        response = services.s3.get_object(**request)
    except ClientError as error:
        if error.response["Error"]["Code"] in ("NoSuchKey", "NoSuchVersion", "404"):
            raise StaleEvent(key) from error
        raise
    version = response.get("VersionId") or NO_VERSION
    return Source(response["Body"], response["ETag"].strip('"'), version, int(response["ContentLength"]))


def _stream(services: Services, lease: ledger.Lease, source: Source, resume: ResumePoint | None) -> BinaryIO:
    """The stream to read from ``resume`` on: the body already open, or a ranged GET of the same version (an empty
    stream when the range would start at the object's end: S3 answers 416 to that)."""
    offset = resume.source_offset if resume else 0
    if not offset:
        return source.body
    if offset >= source.size:
        return io.BytesIO(b"")
    request = {"Bucket": services.settings.bucket, "Key": lease.key, "Range": f"bytes={offset}-"}
    if lease.version_id != NO_VERSION:
        request["VersionId"] = lease.version_id
    else:
        request["IfMatch"] = f'"{lease.etag}"'  # no version to pin: the same content or an error
    return services.s3.get_object(**request)["Body"]


def _chunks(records: Iterable[Record], size: int) -> Iterator[tuple[list[Record], bool, UnparseableFile | None]]:
    """``records`` by ``size`` (or fewer, once they hold ``CHUNK_TEXT_CHARS`` of original text: records may be
    up to ``max_record_bytes`` long), each chunk with whether it is the last and the problem that ended the file
    early. A chunk is yielded when the next record has come, so the last one is known to be the last; where a
    chunk ends depends on the records only, so a file is cut the same way whichever invocation reads it."""
    chunk: list[Record] = []
    text = 0
    try:
        for record in records:
            if len(chunk) == size or text >= CHUNK_TEXT_CHARS:
                yield chunk, False, None
                chunk, text = [], 0
            chunk.append(record)
            text += len(record.original)
    except UnparseableFile as problem:
        yield chunk, True, problem
        return
    yield chunk, True, None


def _process(services: Services, lease: ledger.Lease, source: Source, time_left_ms: Callable[[], int]) -> Outcome:
    """Everything after the claim, under the lease."""
    settings, key = services.settings, lease.key
    progress = Progress.of(lease.checkpoint)
    database = checkpoints.source_id(key, lease.version_id, lease.sequencer)
    if progress.resume:
        path = checkpoints.restore(services.s3, settings.bucket, database)
        logger.info("object %s version %s resumes after %s records", key, lease.version_id, progress.counts.read)
    else:
        path = checkpoints.fresh(database)
    problem: UnparseableFile | None = None
    unsaved = 0
    try:
        with SeenReadings(path) as seen, _stream(services, lease, source, progress.resume) as stream:
            chunks = _chunks(read_records(stream, key, settings, progress.resume), CHUNK_RECORDS)
            for number, (chunk, last, problem) in enumerate(chunks):
                try:
                    lease = _store(services, lease, chunk, seen, progress, renew=number > 0)
                except sqlite3.OperationalError as exc:
                    if "full" not in str(exc):
                        raise
                    problem = UnparseableFile("too_large", f"the duplicates database filled local storage: {exc}")
                unsaved += len(chunk)
                if last or problem:
                    break
                if time_left_ms() < RESERVE_MS:
                    _checkpoint(services, lease, seen, progress, database, release=True)
                    logger.info("object %s version %s continues after %s", key, lease.version_id, progress.counts)
                    return Outcome(key, lease.version_id, lease.etag, CONTINUED, progress.counts, lease.alert_id)
                if unsaved >= CHECKPOINT_RECORDS:
                    lease = _checkpoint(services, lease, seen, progress, database, release=False)
                    unsaved = 0
    finally:
        path.unlink(missing_ok=True)
    return _finish(services, lease, progress, database, problem)


def _store(
    services: Services,
    lease: ledger.Lease,
    chunk: Sequence[Record],
    seen: SeenReadings,
    progress: Progress,
    renew: bool,
) -> ledger.Lease:
    """Validate one chunk, write its readings and quarantine its rejects; add it to ``progress``."""
    settings, now = services.settings, services.now()
    parsed = validate_records(chunk, seen)
    ttl_days = settings.readings_ttl_days
    items = [storage.reading_item(r, assess(r, settings), lease.key, now, ttl_days) for r in parsed.readings]
    lease = write_chunk(services, lease, items, renew=renew)
    if parsed.rejects:
        prefix = settings.quarantine_prefix
        quarantine.put_rejects(services.s3, settings.bucket, prefix, lease.key, lease.etag, parsed.rejects)
    anomalies = [item for item in items if item["anomaly"]]
    progress.tally.add(anomalies)
    counts = progress.counts
    progress.counts = ledger.Counts(
        counts.read + parsed.read,
        counts.stored + len(items),
        counts.quarantined + len(parsed.rejects),
        counts.anomalies + len(anomalies),
        counts.rounded + sum(1 for reading in parsed.readings if reading.rounded),
    )
    if chunk:
        progress.resume = chunk[-1].resume
    return lease


def _checkpoint(
    services: Services, lease: ledger.Lease, seen: SeenReadings, progress: Progress, database: str, release: bool
) -> ledger.Lease:
    """Save the duplicates database, copy it to S3, then record ``progress`` in the ledger (one update)."""
    seen.save()
    checkpoints.save(services.s3, services.settings.bucket, database)
    table = services.settings.ledger_table
    return ledger.checkpoint(services.dynamodb, table, lease, progress.as_dict(), services.now(), release)


def _finish(
    services: Services, lease: ledger.Lease, progress: Progress, database: str, problem: UnparseableFile | None
) -> Outcome:
    """The alert, the outcome in the ledger, the quarantined file when it had a problem."""
    settings, key = services.settings, lease.key
    if progress.tally.anomalies and not lease.alert_id:
        alert_id = alerts.publish(services.sns, settings.topic_arn, key, progress.tally)
        lease = ledger.record_alert(services.dynamodb, settings.ledger_table, lease, alert_id, services.now())  # type: ignore[arg-type]
    status, error = PROCESSED, ""
    if problem:
        status, error = REJECTED, str(problem)
        version = None if lease.version_id == NO_VERSION else lease.version_id
        prefix = settings.quarantine_prefix
        quarantine.put_file(services.s3, settings.bucket, prefix, key, lease.etag, version, error)
        logger.warning("rejected %s after %s records: %s", key, progress.counts.read, problem)
    ledger.finish(services.dynamodb, settings.ledger_table, lease, status, progress.counts, services.now(), error=error)
    if progress.resume:  # a checkpoint may have copied the database to S3
        try:
            checkpoints.discard(services.s3, settings.bucket, database)
        except ClientError:
            logger.warning("the duplicates database of %s stays in S3 until the lifecycle expires it", key)
    logger.info("%s %s version %s: %s", status, key, lease.version_id, progress.counts)
    return Outcome(key, lease.version_id, lease.etag, status, progress.counts, lease.alert_id)


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
        size = s3_object.get("size")
        found.append(
            Notification(key, s3_object.get("versionId") or None, sequencer, size if type(size) is int else None)
        )
    return found


def handle_sqs_event(event: dict[str, Any], services: Services, context: Any = None) -> BatchResponse:
    """Process every message; the response names those that failed (``ReportBatchItemFailures``).

    Messages whose objects are all small (:data:`SMALL_OBJECT_BYTES`, from the notification's size) are processed
    side by side: their time is mostly waiting for AWS, which the function is billed for. The others follow one
    by one. With a Lambda ``context``, a message whose object was checkpointed because the time ran out, and every
    message not started before ``RESERVE_MS`` remained, is sent to the queue again (a continuation) and counts
    as done."""
    time_left_ms = context.get_remaining_time_in_millis if context is not None else _unlimited
    records = event.get("Records", [])
    small = [record for record in records if _small(record)] if len(records) > 1 else []
    failures: list[BatchItemFailure] = []
    if small:
        with ThreadPoolExecutor(len(small)) as pool:
            futures = [pool.submit(copy_context().run, _handle, services, r, time_left_ms) for r in small]
            failures += [failure for future in futures for failure in future.result()]
    taken = {id(record) for record in small}
    for number, record in enumerate(record for record in records if id(record) not in taken):
        if (number or small) and time_left_ms() < RESERVE_MS:
            _send_again(services, record)
            continue
        failures += _handle(services, record, time_left_ms)
    return {"batchItemFailures": failures}


def _handle(services: Services, record: dict[str, Any], time_left_ms: Callable[[], int]) -> list[BatchItemFailure]:
    """Process one message's objects; the failure to report when it must come again."""
    try:
        for notification in notifications(record["body"]):
            if process_object(services, notification, time_left_ms).status == CONTINUED:
                _send_again(services, record)
                break
    except ledger.KeyBusy as busy:
        logger.info("message %s waits: %s", record.get("messageId"), busy)
        return [{"itemIdentifier": record["messageId"]}]
    except Exception:
        logger.exception("message %s failed", record.get("messageId"))
        return [{"itemIdentifier": record["messageId"]}]
    return []


def _small(record: dict[str, Any]) -> bool:
    """True when every object the message names is at most :data:`SMALL_OBJECT_BYTES` (its notification says)."""
    try:
        found = notifications(record["body"])
    except (NotAnS3Notification, KeyError, TypeError):
        return False
    return bool(found) and all(n.size is not None and n.size <= SMALL_OBJECT_BYTES for n in found)


def _send_again(services: Services, record: dict[str, Any]) -> None:
    """Send the message's body to its queue again, marked as a continuation."""
    services.sqs.send_message(
        QueueUrl=_queue_url(services.sqs, record["eventSourceARN"]),
        MessageBody=record["body"],
        MessageAttributes={"continuation": {"DataType": "String", "StringValue": record.get("messageId", "")}},
    )


@cache
def _queue_url(sqs: Any, queue_arn: str) -> str:
    """The URL of the queue ``arn:aws:sqs:<region>:<account>:<name>``."""
    *_, account, name = queue_arn.split(":")
    return sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
