"""A local Lambda runtime: plays the two event source mappings against the local stack.

- :class:`LocalRuntime`, the ingest queue: it receives batches of the mapping's size, calls
  ``lambda/handler.py`` with the same SQS event shape Lambda sends and a context whose remaining time falls
  from the function's timeout, deletes the messages that succeeded and leaves the failed ones to come back. A
  continuation the handler sends (a file checkpointed before the time ran out) is a message like any other.
  On AWS a failed message reappears after the queue's visibility timeout (six minutes); here it is made
  visible again after ``retry_delay_s`` so that moto's redrive moves it to the dead-letter queue after
  maxReceiveCount within seconds.
- :class:`StreamRuntime` (:mod:`energy_lib.workbook.local.stream`), the readings table's stream.

Nothing the handlers raise stops the runtime. Each invocation ends with a line in the log, as Lambda's
``REPORT`` line: ``REPORT <function> <request id>: <n> <records|messages>, <k> requests (<operation>=<count>
...), <ms> ms`` (the requests the handler sent to AWS).
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from energy_lib.clients import client
from energy_lib.config import Settings
from energy_lib.workbook.infra.lambda_build import HANDLER
from energy_lib.workbook.infra.spec import FUNCTION
from energy_lib.workbook.local.provisioner import queue_arn

logger = logging.getLogger("energy_lib.local_runtime")
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
COUNTED_SERVICES = ("dynamodb", "s3", "sns", "sqs")  # what the handlers talk to
_counts: ContextVar[Counter | None] = ContextVar("requests_of_the_invocation", default=None)
_counting = threading.Lock()  # the ingest writes from several threads, each in a copy of the invocation's context
_hooked: set[int] = set()


def _count(event_name: str, **_: Any) -> None:
    counts = _counts.get()
    if counts is not None:
        with _counting:
            counts[event_name.rsplit(".", 1)[-1]] += 1


@contextmanager
def invocation(settings: Settings, function: str, request_id: str, items: int, kind: str) -> Iterator[Counter]:
    """Count the AWS requests the handler sends (from this thread, and the threads it hands its context to)
    while it runs, and log the invocation's REPORT line."""
    for service in COUNTED_SERVICES:
        aws_client = client(service, settings)
        if id(aws_client) not in _hooked:
            aws_client.meta.events.register("before-call", _count)
            _hooked.add(id(aws_client))
    counts: Counter = Counter()
    token = _counts.set(counts)
    started = time.perf_counter()
    try:
        yield counts
    finally:
        _counts.reset(token)
        detail = " ".join(f"{operation}={n}" for operation, n in sorted(counts.items()))
        milliseconds = (time.perf_counter() - started) * 1000
        logger.info(
            "REPORT %s %s: %d %s, %d requests (%s), %.0f ms",
            function,
            request_id,
            items,
            kind,
            sum(counts.values()),
            detail,
            milliseconds,
        )


@dataclass(frozen=True)
class LambdaContext:
    """The parts of the Lambda context object a handler may read; the remaining time falls from ``timeout_s`` (the
    function's timeout) from the moment it is made, as Lambda's does from the invocation's start."""

    function_name: str
    aws_request_id: str
    memory_limit_in_mb: int = FUNCTION.memory_mb
    function_version: str = "$LATEST"
    timeout_s: float = FUNCTION.timeout_s
    started: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.started + self.timeout_s - time.monotonic()) * 1000))


def load_handler(path: Path = HANDLER) -> Handler:
    """``handler`` from an entry point in lambda/ (lambda/handler.py by default), imported by path like Lambda."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module.handler


def sqs_event(messages: list[dict[str, Any]], source_arn: str, region: str) -> dict[str, Any]:
    """The event Lambda's SQS mapping sends for ``messages`` (as ReceiveMessage returned them)."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": m.get("MessageAttributes", {}),
                "md5OfBody": m.get("MD5OfBody", hashlib.md5(m["Body"].encode(), usedforsecurity=False).hexdigest()),
                "eventSource": "aws:sqs",
                "eventSourceARN": source_arn,
                "awsRegion": region,
            }
            for m in messages
        ]
    }


class LocalRuntime:
    def __init__(
        self,
        settings: Settings,
        handler: Handler | None = None,
        retry_delay_s: int = 1,
        timeout_s: float = FUNCTION.timeout_s,
    ) -> None:
        self.settings = settings
        self.timeout_s = timeout_s
        self.handler = handler or load_handler()
        self.retry_delay_s = retry_delay_s
        self.sqs = client("sqs", settings)
        self.queue_url = self.sqs.get_queue_url(QueueName=settings.ingest_queue)["QueueUrl"]
        self.source_arn = queue_arn(settings, settings.ingest_queue)
        self.stopping = threading.Event()

    def poll_once(self, wait_s: int = 1) -> int:
        """Receive and handle one batch; returns how many messages it held."""
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=FUNCTION.batch_size,
            WaitTimeSeconds=wait_s,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0
        event = sqs_event(messages, self.source_arn, self.settings.region)
        context = LambdaContext(self.settings.function_name, str(uuid.uuid4()), timeout_s=self.timeout_s)
        with invocation(self.settings, context.function_name, context.aws_request_id, len(messages), "messages"):
            try:
                failed = {f["itemIdentifier"] for f in self.handler(event, context)["batchItemFailures"]}
            except Exception:
                logger.exception("the handler raised; the whole batch will be retried")
                failed = {m["MessageId"] for m in messages}
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        for message in messages:
            if message["MessageId"] in failed:
                self.sqs.change_message_visibility(
                    QueueUrl=self.queue_url,
                    ReceiptHandle=message["ReceiptHandle"],
                    VisibilityTimeout=self.retry_delay_s,
                )
        return len(messages)

    def run(self) -> None:
        """Poll until :meth:`stop`; errors talking to the queue are logged and polling goes on."""
        while not self.stopping.is_set():
            try:
                self.poll_once()
            except Exception:
                logger.exception("polling the ingest queue failed")
                self.stopping.wait(1)

    def stop(self) -> None:
        self.stopping.set()
