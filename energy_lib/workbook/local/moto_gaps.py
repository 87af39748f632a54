"""What moto (5.2.6) leaves out of AWS's behaviour that the pipeline relies on, added explicitly.

- S3 event notifications: AWS sends ``s3.object.versionId`` (on a versioned bucket) and ``s3.object.sequencer``
  (which orders the events of one key); moto sends neither. :func:`add_s3_notification_fields` makes moto's
  notifications carry both, with the version moto stored and a sequencer that grows with every event, so the
  local stack feeds the pipeline the event shape AWS does. Only fields moto leaves out are added.
- Concurrent DynamoDB requests: moto's server answers requests in threads and its DynamoDB backend takes no
  lock, so a conditional write is not atomic against a concurrent write of the same item, and two concurrent
  writes to a table with a stream can get the same stream sequence number (one record then hides the other).
  DynamoDB guarantees both. :func:`serialize_dynamodb` runs the DynamoDB and DynamoDB Streams backends one
  call at a time (parsing requests and writing responses, the larger part, still run side by side).
- Stream retention: moto keeps every stream record (both images, about 6 KB each) and every shard iterator it
  issued for as long as the server runs; AWS keeps records 24 hours and iterators 15 minutes. The local
  stream player calls :func:`forget_stream_state`, which drops the records it has handed over that are older
  than ten minutes (readers of the stream poll far more often) and all but the newest shard iterators, so the
  stack's memory follows the data it stores, not the writes it has seen.
- GetRecords answers: moto writes them with its generic shape walker, about 5 ms per stream record (a
  30,000-reading file took 2.5 minutes to read back once). :func:`write_stream_records_as_json` writes the
  same records as plain JSON, the wire format DynamoDB Streams uses (records as moto keeps them, the creation
  time in epoch seconds), as moto did before its serializer; and an iterator that points before the records
  :func:`forget_stream_state` dropped gets AWS's ``TrimmedDataAccessException``, where moto fails (error 500).
- Time to live: moto stores a table's time-to-live setting but never deletes an item. :func:`expire_items` does
  what DynamoDB does: it deletes every item whose attribute (epoch seconds) has passed (not one more than five
  years in the past: AWS takes those for a unit mistake), and the deletion reaches the stream as AWS writes it,
  a ``REMOVE`` whose ``userIdentity`` names DynamoDB itself (GetRecords answers ``{"Type": "Service",
  "PrincipalId": "dynamodb.amazonaws.com"}``; Lambda hands it on as ``type`` and ``principalId``). The local
  stack calls it every :data:`EXPIRY_PERIOD_S` (AWS: within days), so its memory is bounded by the hot window,
  not by the history the lake keeps.
- Every object kept: moto's models remember each instance they ever made (``BaseModel.__new__`` appends it to
  its class's ``instances_tracked``, for the ``/moto-api/data.json`` dashboard): every DynamoDB item written,
  every stream record, every S3 object version, so that nothing deleted or overwritten is ever freed and the
  stack grows with every write it has seen. :func:`forget_instances` stops that; the stack serves no such
  dashboard.
- Athena's newer API: botocore 1.44.18 and later speak Athena as ``rest-json`` (``GET /workgroups``,
  ``POST /query-executions``, ...); moto routes Athena only at ``/`` (the older ``json`` protocol, which botocore
  up to 1.44.13 speaks) and answers every other path 404. :func:`route_athena_rest_json` routes every path to
  moto's own Athena handler, which already finds the operation and its path parameters from botocore's model
  of the request; both protocols then work.

:func:`install` does all of these; every process that runs a moto server for the pipeline (the local stack, the tests)
calls it before serving. ``tests/integration/test_moto_gaps.py`` checks that moto still needs each of them, so
that this module goes away when moto catches up.
"""

from __future__ import annotations

import functools
import inspect
import itertools
import json
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime, timezone
from typing import Any

from energy_lib import expiry
from energy_lib.config import LOCAL_ACCOUNT_ID

_sequence = itertools.count(1)  # next() on a count is atomic in CPython: moto serves requests in threads
_installed: list[Any] = []
_original: dict[str, Any] = {}  # what forget_instances replaced
KEPT_ITERATORS = 1000  # shard iterators kept (moto keeps each one it issued; one a poll)
_dynamodb_lock = threading.RLock()  # re-entrant: a backend method calls others (BatchWriteItem -> put_item)
_locked: set[type] = set()
EXPIRY_PERIOD_S = 60.0  # how often the local stack lets items expire
EXPIRY_IDENTITY = {"Type": expiry.SERVICE, "PrincipalId": expiry.PRINCIPAL}  # as GetRecords answers it
IGNORED_PAST_S = 5 * 365 * 24 * 3600  # AWS does not delete items whose attribute is more than five years past
ATHENA_ANY_PATH = "{0}/.*$"  # moto's url_paths syntax ({0}: the service's URL base); Flask's /<path:route>


def install() -> None:
    """Every addition of this module (idempotent)."""
    forget_instances()
    add_s3_notification_fields()
    serialize_dynamodb()
    write_stream_records_as_json()
    route_athena_rest_json()


def dynamodb_lock() -> AbstractContextManager[bool]:
    """The lock that runs moto's DynamoDB backends one call at a time (for code that changes their state directly)."""
    return _dynamodb_lock


def forget_instances() -> None:
    """Make moto's models stop remembering every instance they make (idempotent); drop what they remember."""
    from moto.core.common_models import BaseModel

    if "tracking" in _original:
        return
    _original["tracking"] = BaseModel.__new__
    BaseModel.__new__ = staticmethod(_untracked)  # type: ignore[method-assign, assignment]
    for model in _subclasses(BaseModel):
        model.instances_tracked.clear()


def _untracked(cls: type, *args: Any, **kwargs: Any) -> Any:
    return object.__new__(cls)


def _subclasses(base: type) -> list[type]:
    found, waiting = [], [base]
    while waiting:
        for sub in waiting.pop().__subclasses__():
            found.append(sub)
            waiting.append(sub)
    return found


def moto_tracks_instances() -> bool:
    """Whether moto's own ``BaseModel.__new__`` (as it was before :func:`forget_instances`) remembers an instance."""
    from moto.core.common_models import BaseModel

    original = _original.get("tracking", BaseModel.__new__)

    class Probe(BaseModel):
        pass

    probe = original(Probe)
    tracked = any(instance is probe for instance in Probe.instances_tracked)
    Probe.instances_tracked.clear()
    return tracked


def route_athena_rest_json() -> None:
    """Route every Athena path to moto's Athena handler, not only ``/`` (idempotent; before the server starts)."""
    from moto.athena import urls

    urls.url_paths.setdefault(ATHENA_ANY_PATH, urls.AthenaResponse.dispatch)


def forget_stream_state(region: str, table: str, through_sequence: int, before: datetime) -> int:
    """Drop the table's stream records up to ``through_sequence`` created before ``before`` (UTC), as AWS's
    retention would later, and all but the newest shard iterators; returns how many records went."""
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    with _dynamodb_lock:  # moto numbers a new record by the length of this list
        shard = dynamodb_backends[LOCAL_ACCOUNT_ID][region].get_table(table).stream_shard
        if shard is None:
            return 0
        naive_before = before.astimezone(timezone.utc).replace(tzinfo=None)
        dropped = 0
        for record in shard.items:
            data = record.record["dynamodb"]
            if int(data["SequenceNumber"]) > through_sequence or data["ApproximateCreationDateTime"] >= naive_before:
                break
            dropped += 1
        del shard.items[:dropped]
        shard.starting_sequence_number += dropped
        iterators = dynamodbstreams_backends[LOCAL_ACCOUNT_ID][region].shard_iterators
        for arn in list(iterators)[:-KEPT_ITERATORS]:
            del iterators[arn]
    return dropped


def expire_items(region: str, table_name: str, now: float) -> int:
    """Delete the table's items whose time to live passed by ``now`` (epoch seconds), as DynamoDB does, each with
    the stream record DynamoDB writes for it; returns how many went (0 when the table's time to live is off)."""
    from moto.dynamodb.models import dynamodb_backends

    with _dynamodb_lock:
        table = dynamodb_backends[LOCAL_ACCOUNT_ID][region].get_table(table_name)
        if table.ttl.get("TimeToLiveStatus") != "ENABLED":
            return 0
        attribute = table.ttl["AttributeName"]
        expired = [
            item
            for items in table.items.values()
            for item in (items.values() if table.range_key_attr else [items])
            if _expired(item.attrs.get(attribute), now)
        ]
        for item in expired:
            table.delete_item(item.hash_key, item.range_key)
            if table.stream_shard is not None:
                table.stream_shard.items[-1].record["userIdentity"] = dict(EXPIRY_IDENTITY)
        if table.range_key_attr:
            for hash_key in [key for key, items in table.items.items() if not items]:
                del table.items[hash_key]  # a partition whose last item went
    return len(expired)


def _expired(value: Any, now: float) -> bool:
    """True for a time-to-live attribute (a DynamoType) that DynamoDB would act on: a number of epoch seconds past
    ``now``, and not more than five years past."""
    if value is None or value.type != "N":
        return False
    moment = float(value.value)
    return now - IGNORED_PAST_S <= moment < now


def write_stream_records_as_json() -> None:
    """Answer GetRecords with the records as JSON, not through moto's slow generic serializer (idempotent)."""
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

    if getattr(DynamoDBStreamsHandler.get_records, "as_json", False):
        return

    def get_records(self: Any) -> str:
        from moto.core.exceptions import JsonRESTError

        limit = self._get_param("Limit") or 1000
        arn = self._get_param("ShardIterator")
        with _dynamodb_lock:  # the check and the read see the same shard (forget_stream_state trims it)
            iterator = self.backend.shard_iterators.get(arn)
            if iterator is not None and iterator.sequence_number < iterator.stream_shard.starting_sequence_number:
                # AWS's answer for a position its retention dropped (moto fails an assertion: error 500)
                raise JsonRESTError("TrimmedDataAccessException", "the iterator points before the oldest record")
            result = self.backend.get_records(arn, limit)
        return json.dumps(result, default=_epoch_seconds)

    get_records.as_json = True  # type: ignore[attr-defined]
    DynamoDBStreamsHandler.get_records = get_records


def _epoch_seconds(value: Any) -> float:
    if isinstance(value, datetime):
        return value.replace(tzinfo=value.tzinfo or timezone.utc).timestamp()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def serialize_dynamodb() -> None:
    """Run the methods of moto's DynamoDB and DynamoDB Streams backends one at a time, as DynamoDB's atomicity
    needs (idempotent). Only the backends: parsing requests and writing responses stay in parallel."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodbstreams.models import DynamoDBStreamsBackend

    for backend in (DynamoDBBackend, DynamoDBStreamsBackend):
        if backend in _locked:
            continue
        _locked.add(backend)
        for name, member in list(vars(backend).items()):
            if not name.startswith("_") and inspect.isfunction(member):
                setattr(backend, name, _one_at_a_time(member))


def _one_at_a_time(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _dynamodb_lock:
            return method(*args, **kwargs)

    return locked


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
