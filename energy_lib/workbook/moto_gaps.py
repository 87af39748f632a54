"""What moto (5.2.5) leaves out of AWS's behaviour that the pipeline relies on, added explicitly.

- S3 event notifications: AWS sends ``s3.object.versionId`` (on a versioned bucket) and ``s3.object.sequencer``
  (which orders the events of one key); moto sends neither. :func:`add_s3_notification_fields` makes moto's
  notifications carry both, with the version moto stored and a sequencer that grows with every event, so the
  local stack feeds the pipeline the event shape AWS does. Only fields moto leaves out are added.
- Concurrent DynamoDB requests: moto's server answers requests in threads and its DynamoDB backend takes no
  lock, so a conditional write is not atomic against a concurrent write of the same item, and two concurrent
  writes to a table with a stream can get the same stream sequence number (one record then hides the other).
  DynamoDB guarantees both. :func:`serialize_dynamodb` runs DynamoDB and DynamoDB Streams requests one at a
  time (the server is bound by one interpreter lock anyway, so little is lost).

:func:`install` does both; every process that runs a moto server for the pipeline (the local stack, the tests)
calls it before serving. ``tests/integration/test_moto_gaps.py`` checks that moto still needs each of them, so
that this module goes away when moto catches up.
"""

from __future__ import annotations

import functools
import itertools
import threading
from collections.abc import Callable
from typing import Any

_sequence = itertools.count(1)  # next() on a count is atomic in CPython: moto serves requests in threads
_installed: list[Any] = []
_dynamodb_lock = threading.RLock()
_unlocked: dict[type, Callable[..., Any]] = {}


def install() -> None:
    """Every addition of this module (idempotent)."""
    add_s3_notification_fields()
    serialize_dynamodb()


def serialize_dynamodb() -> None:
    """Run moto's DynamoDB and DynamoDB Streams requests one at a time, as DynamoDB's atomicity needs (idempotent)."""
    from moto.dynamodb.responses import DynamoHandler
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

    for handler in (DynamoHandler, DynamoDBStreamsHandler):
        if handler in _unlocked:
            continue
        original = handler.call_action
        _unlocked[handler] = original

        @functools.wraps(original)
        def one_at_a_time(self: Any, *args: Any, _original: Callable[..., Any] = original, **kwargs: Any) -> Any:
            with _dynamodb_lock:
                return _original(self, *args, **kwargs)

        handler.call_action = one_at_a_time


def add_s3_notification_fields() -> None:
    """Make moto's S3 notifications carry ``versionId`` and ``sequencer``, as AWS's do (idempotent)."""
    from moto.s3 import notifications

    if _installed:
        return
    original = notifications._get_s3_event

    def with_version_and_sequencer(event_name: str, bucket: Any, key: Any, notification_id: str) -> dict[str, Any]:
        event = original(event_name, bucket, key, notification_id)
        for record in event["Records"]:
            s3_object = record["s3"]["object"]
            if key.version_id != "null":
                s3_object.setdefault("versionId", key.version_id)
            s3_object.setdefault("sequencer", f"{next(_sequence):018X}")
        return event

    notifications._get_s3_event = with_version_and_sequencer
    _installed.append(original)


def moto_s3_event(event_name: str, bucket: Any, key: Any, notification_id: str) -> dict[str, Any]:
    """moto's own notification body, without the fields added here (for the test that checks moto still needs them)."""
    from moto.s3 import notifications

    build = _installed[0] if _installed else notifications._get_s3_event
    return build(event_name, bucket, key, notification_id)
