"""The local stack's player of the stream event source mapping: readings table stream -> lambda/aggregator.py.

moto keeps a table's stream (one shard, sequence numbers, new and old images, GetShardIterator and GetRecords
as AWS has them) but cannot run the mapping: for a DynamoDB stream it calls the function on every write,
enabled or not, which needs Docker. So the local stack creates no mapping in moto and plays it here, with the
settings ``terraform/`` gives it on AWS (:data:`~energy_lib.workbook.infra.spec.AGGREGATOR`):

- each shard is read in order from ``TRIM_HORIZON``, parents before children, in batches of up to
  ``batch_size`` records, handed over in the event shape Lambda sends (``eventSourceARN`` the stream);
- the response's ``batchItemFailures`` is a checkpoint: what comes before it is done; on a failure (or when
  the function raises) the rest is retried, split in two first when ``bisect_on_error`` is on;
- after ``maximum_retry_attempts`` retries, or when a record is older than ``maximum_record_age_s``, the
  records are given up: a message describing them (``DDBStreamBatchInfo``, as Lambda writes it) goes to the
  on-failure destination, the rollups' dead-letter queue, and the shard moves on;
- with ``tumbling_window_s``, each shard has a window: every invocation gets the ``state`` the last successful
  one returned (a failed one leaves it as it was), and when the window ends a final invocation
  (``isFinalInvokeForWindow``, no records) hands over the state; the window stays open until one succeeds.

Differences from AWS, on purpose: it does not wait out the batching window, it hands over what is there; and
(``close_when_idle``, the local stack's choice) it ends a window as soon as its shard has nothing new, so that
``energy-workbook wait`` returns in seconds; on AWS the rollups trail the readings by up to the window.
Records it has handed over are dropped from moto after ten minutes (:func:`energy_lib.workbook.local.moto_gaps.
forget_stream_state`), so that the stack's memory follows what it stores.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from botocore.exceptions import ClientError

from energy_lib.clients import client
from energy_lib.config import Settings
from energy_lib.expiry import lambda_identity
from energy_lib.workbook.aws.streams import shards, stream_arn
from energy_lib.workbook.infra.lambda_build import AGGREGATOR as AGGREGATOR_ENTRY
from energy_lib.workbook.infra.spec import AGGREGATOR, AggregatorSpec
from energy_lib.workbook.local.moto_gaps import forget_stream_state
from energy_lib.workbook.local.runtime import Handler, LambdaContext, invocation, load_handler

logger = logging.getLogger("energy_lib.local_stream")
IDLE_S = 0.5  # pause between polls of a stream with nothing new
RETENTION = timedelta(minutes=10)  # records handed over stay this long in moto (AWS: 24 hours)
FORGET_EVERY_S = 30


def event_record(record: dict[str, Any], arn: str, region: str) -> dict[str, Any]:
    """A GetRecords record as Lambda hands it to the function (epoch seconds, the stream as the source)."""
    data = dict(record["dynamodb"])
    created = data.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        data["ApproximateCreationDateTime"] = created.timestamp()
    event = {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": record.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": data,
        "eventSourceARN": arn,
    }
    if "userIdentity" in record:  # a deletion by the time to live says so, in the event's own shape
        event["userIdentity"] = lambda_identity(record["userIdentity"])
    return event


@dataclass
class Window:
    """A shard's open tumbling window: its bounds (epoch seconds) and the state the function returned last."""

    start: float
    end: float
    opened_after: str | None  # the shard's checkpoint when it opened: what came before is in the rollups
    state: dict[str, Any] = field(default_factory=dict)

    def bounds(self) -> dict[str, str]:
        return {"start": _iso(self.start), "end": _iso(self.end)}


class StreamRuntime:
    """Plays the aggregator's event source mapping on the local stack's readings stream."""

    def __init__(
        self,
        settings: Settings,
        handler: Handler | None = None,
        spec: AggregatorSpec = AGGREGATOR,
        retry_s: float = 0.1,
        clock: Callable[[], float] = time.time,
        close_when_idle: bool = True,
    ) -> None:
        self.settings = settings
        self.handler = handler or load_handler(AGGREGATOR_ENTRY)
        self.spec = spec
        self.retry_s = retry_s
        self.clock = clock
        self.close_when_idle = close_when_idle
        self.windows: dict[str, Window] = {}  # shard -> its open window (with a tumbling window)
        self.streams = client("dynamodbstreams", settings)
        self.sqs = client("sqs", settings)
        self.arn = stream_arn(settings, client("dynamodb", settings))
        self.iterators: dict[str, str | None] = {}  # shard -> next iterator (None: closed, read to its end)
        self.checkpoints: dict[str, str] = {}  # shard -> last sequence number done
        self.invocations = 0
        self.given_up = 0  # records sent to the on-failure destination
        self.stopping = threading.Event()

    def poll_once(self) -> int:
        """Hand every shard's next batch to the function; returns how many records were handed over, plus one
        per final invocation of a window made."""
        handed = 0
        for shard in shards(self.streams, self.arn):
            shard_id = shard["ShardId"]
            window = self.windows.get(shard_id)
            if window is not None and self.clock() >= window.end:
                handed += self._close(shard_id, window)
            if shard_id in self.iterators and self.iterators[shard_id] is None:
                continue
            records = self._next_batch(shard_id)
            if records:
                self._deliver(shard_id, records)
                handed += len(records)
            elif shard_id in self.windows and self.close_when_idle:
                handed += self._close(shard_id, self.windows[shard_id])
        return handed

    def _window(self, shard_id: str) -> Window | None:
        """The shard's open window, opened now when there is none (None without a tumbling window)."""
        length = self.spec.tumbling_window_s
        if not length:
            return None
        if shard_id not in self.windows:
            start = self.clock() // length * length
            self.windows[shard_id] = Window(start, start + length, self.checkpoints.get(shard_id))
        return self.windows[shard_id]

    def _close(self, shard_id: str, window: Window) -> int:
        """The window's final invocation; the window ends when it succeeds (else the next poll tries again)."""
        if self._invoke([], shard_id, window, final=True):
            del self.windows[shard_id]
        return 1

    def _iterator(self, shard_id: str) -> str:
        request = {"StreamArn": self.arn, "ShardId": shard_id, "ShardIteratorType": self.spec.starting_position}
        if shard_id in self.checkpoints:
            request.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=self.checkpoints[shard_id])
        return self.streams.get_shard_iterator(**request)["ShardIterator"]

    def _next_batch(self, shard_id: str) -> list[dict[str, Any]]:
        iterator = self.iterators.get(shard_id) or self._iterator(shard_id)
        try:
            page = self.streams.get_records(ShardIterator=iterator, Limit=min(self.spec.batch_size, 1000))
        except ClientError as error:
            if error.response["Error"]["Code"] != "ExpiredIteratorException":
                raise
            self.iterators[shard_id] = self._iterator(shard_id)
            return []
        self.iterators[shard_id] = page.get("NextShardIterator")
        return [event_record(record, self.arn, self.settings.region) for record in page["Records"]]

    def _deliver(self, shard_id: str, records: list[dict[str, Any]]) -> None:
        """Hand ``records`` over until each is done or given up, in order; the checkpoint follows. Stopped half
        way, the shard is read again from its checkpoint next time."""
        batches = [records]
        attempts = 0
        while batches:
            if self.stopping.is_set():
                self.iterators.pop(shard_id, None)
                return
            batch = batches.pop(0)
            done = self._invoke(batch, shard_id, self._window(shard_id))
            if done:
                self.checkpoints[shard_id] = batch[done - 1]["dynamodb"]["SequenceNumber"]
            if done == len(batch):
                attempts = 0
                continue
            rest = batch[done:]
            attempts += 1
            if attempts > self.spec.maximum_retry_attempts or self._too_old(rest[0]):
                self._give_up(shard_id, rest, attempts)
                self.checkpoints[shard_id] = rest[-1]["dynamodb"]["SequenceNumber"]
                attempts = 0
                continue
            if self.spec.bisect_on_error and len(rest) > 1:
                batches[:0] = [rest[: len(rest) // 2], rest[len(rest) // 2 :]]
            else:
                batches.insert(0, rest)
            self.stopping.wait(self.retry_s * attempts)

    def _invoke(
        self, batch: list[dict[str, Any]], shard_id: str, window: Window | None, final: bool = False
    ) -> int | bool:
        """Call the function; how many records, from the start of ``batch``, are done (a final invocation of a
        window: whether it succeeded). In a window, the state it returns is the window's from then on."""
        self.invocations += 1
        event: dict[str, Any] = {"Records": batch}
        if window is not None:
            event.update(
                window=window.bounds(),
                state=window.state,
                shardId=shard_id,
                eventSourceARN=self.arn,
                isFinalInvokeForWindow=final,
                isWindowTerminatedEarly=False,
            )
        context = LambdaContext(
            self.settings.aggregator_function_name,
            str(uuid.uuid4()),
            memory_limit_in_mb=AGGREGATOR.memory_mb,
            timeout_s=AGGREGATOR.timeout_s,
        )
        with invocation(self.settings, context.function_name, context.aws_request_id, len(batch), "records"):
            try:
                response = self.handler(event, context)
                failures = response["batchItemFailures"]
                if window is not None:
                    window.state = response["state"]  # a response without it is a failure, as on AWS
            except Exception:
                logger.exception("the aggregator raised; the batch of %d records is retried", len(batch))
                return 0
        if final:
            return True
        if not failures:
            return len(batch)
        checkpoint = min(int(f["itemIdentifier"]) for f in failures)
        return sum(1 for record in batch if int(record["dynamodb"]["SequenceNumber"]) < checkpoint)

    def _too_old(self, record: dict[str, Any]) -> bool:
        created = record["dynamodb"].get("ApproximateCreationDateTime")
        return created is not None and time.time() - created > self.spec.maximum_record_age_s

    def _give_up(self, shard_id: str, records: list[dict[str, Any]], attempts: int) -> None:
        """Send what Lambda sends to an on-failure destination for stream records it gives up."""
        first, last = records[0]["dynamodb"], records[-1]["dynamodb"]
        message = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": self.settings.aggregator_function_name,
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": attempts,
            },
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "version": "1.0",
            "timestamp": datetime.now(timezone.utc).isoformat(),
            "DDBStreamBatchInfo": {
                "shardId": shard_id,
                "startSequenceNumber": first["SequenceNumber"],
                "endSequenceNumber": last["SequenceNumber"],
                "approximateArrivalOfFirstRecord": _iso(first.get("ApproximateCreationDateTime")),
                "approximateArrivalOfLastRecord": _iso(last.get("ApproximateCreationDateTime")),
                "batchSize": len(records),
                "streamArn": self.arn,
            },
        }
        url = self.sqs.get_queue_url(QueueName=self.settings.rollups_dead_letter_queue)["QueueUrl"]
        self.sqs.send_message(QueueUrl=url, MessageBody=json.dumps(message))
        self.given_up += len(records)
        logger.error("gave up %d stream records of shard %s after %d attempts", len(records), shard_id, attempts)

    def run(self) -> None:
        """Poll until :meth:`stop`; errors talking to the stream are logged and polling goes on. Every half
        minute it lets moto forget the records handed over more than :data:`RETENTION` ago."""
        forgot_at = time.monotonic()
        while not self.stopping.is_set():
            try:
                handed = self.poll_once()
                if time.monotonic() - forgot_at > FORGET_EVERY_S:
                    self.forget_old_records()
                    forgot_at = time.monotonic()
                if not handed:
                    self.stopping.wait(IDLE_S)
            except Exception:
                logger.exception("polling the readings stream failed")
                self.stopping.wait(1)

    def forget_old_records(self) -> int:
        """Drop from moto the records every shard has handed over before :data:`RETENTION` ago (those of an open
        window excepted: its state is in memory, and a stack stopped before the window ends reads them again)."""
        settled = {**self.checkpoints, **{shard: w.opened_after for shard, w in self.windows.items()}}
        if not settled or None in settled.values():
            return 0
        before = datetime.now(timezone.utc) - RETENTION
        through = min(int(sequence) for sequence in settled.values() if sequence is not None)
        return forget_stream_state(self.settings.region, self.settings.readings_table, through, before)

    def stop(self) -> None:
        self.stopping.set()


def _iso(epoch: float | None) -> str:
    """Epoch seconds as ISO 8601 in UTC (as Lambda writes them in events), or "" for none."""
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat() if epoch is not None else ""
