"""Keep the rollups equal to the stored readings: consume the readings table's stream (new and old images).

DynamoDB writes the records of one partition key (one site) in order into one shard, and the event source
mapping hands each shard's records to one invocation at a time, in order. A batch is aggregated per rollup
item (a site's hour, day and all-time item): the items are read at once (BatchGetItem, 100 a request), and
each is written back whole with new − old of the batch's records added, conditional on the sequence number it
had taken in (:mod:`energy_lib.rollups`), so a retried or bisected batch adds nothing twice. Sites are
written ``PARALLEL_SITES`` at a time (their items are apart; a round trip is most of the time). A site's
all-time item is written last, only after its hour and day items, so its ``applied_sequence`` says that every
rollup of the site has taken in the site's records up to there (``energy-workbook wait`` relies on it).

The response names the first record not done (``ReportBatchItemFailures``): the mapping retries from there.

With a tumbling window on the mapping (the event has a ``window``), the records are captured as they come but
kept in the window's state (:mod:`energy_lib.window_state`) and written to the rollups once, by the window's
final invocation: one write per rollup item and window. An invocation of a window that fails raises, so Lambda
hands the batch over again with the state from before it (and pauses the shard until a final one succeeds).

Before the rollups, ``capture`` (the entry point passes :func:`energy_lib.lake.put_changes`) writes the batch's
records as the history lake's change objects. When it fails, the rollups wait too and the whole batch is
retried, so rollups that took in a record mean the lake has it (``energy-workbook wait`` relies on that).

A deletion by the table's time to live (:func:`energy_lib.expiry.is_expiry`) ends the reading's time in the hot
store, not its history: it is neither captured nor taken away from the rollups (a deletion by anyone else
is both). A correction item (:mod:`energy_lib.corrections`) takes a reading the rollups counted twice away from
them; it is never captured, and its deletion changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from datetime import datetime, timezone
from typing import Any, Literal, NotRequired, TypedDict

from energy_lib import corrections, expiry, rollups, window_state
from energy_lib.dynamo import from_item
from energy_lib.readings import format_timestamp

logger = logging.getLogger("energy_lib.aggregator")
PARALLEL_SITES = 8  # sites whose rollups are written at once (within a site: hour and day items, then all time)


class StreamRecordData(TypedDict):
    Keys: dict[str, Any]
    SequenceNumber: str
    SizeBytes: int
    StreamViewType: str
    ApproximateCreationDateTime: NotRequired[float]
    NewImage: NotRequired[dict[str, Any]]
    OldImage: NotRequired[dict[str, Any]]


class UserIdentity(TypedDict):
    type: str  # "Service" for a deletion by the time to live
    principalId: str  # "dynamodb.amazonaws.com" for a deletion by the time to live


class StreamRecord(TypedDict):
    eventID: str
    eventName: Literal["INSERT", "MODIFY", "REMOVE"]
    eventVersion: str
    eventSource: str
    awsRegion: str
    dynamodb: StreamRecordData
    eventSourceARN: str
    userIdentity: NotRequired[UserIdentity]  # only on a deletion by the time to live


class TimeWindow(TypedDict):
    start: str
    end: str


class StreamEvent(TypedDict):
    Records: list[StreamRecord]
    # with a tumbling window on the mapping
    window: NotRequired[TimeWindow]
    state: NotRequired[dict[str, Any]]
    shardId: NotRequired[str]
    isFinalInvokeForWindow: NotRequired[bool]
    isWindowTerminatedEarly: NotRequired[bool]


class BatchItemFailure(TypedDict):
    itemIdentifier: str  # the SequenceNumber of the first record not done


class StreamBatchResponse(TypedDict):
    batchItemFailures: list[BatchItemFailure]
    state: NotRequired[dict[str, Any]]  # with a tumbling window: handed to the window's next invocation


Capture = Callable[[list[StreamRecord]], object]  # writes a batch's records as the lake's change objects


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def stream_change(record: StreamRecord) -> rollups.StreamChange:
    return change_of_data(record["dynamodb"])


def change_of_data(data: dict[str, Any]) -> rollups.StreamChange:
    old, new = data.get("OldImage"), data.get("NewImage")
    old_item = from_item(old) if old is not None else None
    new_item = from_item(new) if new is not None else None
    image = new_item or old_item or {}
    if corrections.is_correction(str(image.get("site_id", ""))):  # stands for its reading taken away
        old_item, new_item = (
            corrections.reading(new_item) if new_item else None,
            corrections.reading(old_item) if old_item else None,
        )
    return rollups.StreamChange(rollups.padded(data["SequenceNumber"]), old_item, new_item)


def for_rollups(record: StreamRecord) -> bool:
    """False for a record the rollups leave alone: a deletion by the time to live, or of a correction item."""
    if expiry.is_expiry(record):
        return False
    return record.get("eventName") != "REMOVE" or not corrections.is_correction(_partition(record))


def for_lake(record: StreamRecord) -> bool:
    """False for a correction item's record: the lake holds readings only."""
    return not corrections.is_correction(_partition(record))


def _partition(record: StreamRecord) -> str:
    return str(record.get("dynamodb", {}).get("Keys", {}).get("site_id", {}).get("S", ""))


def handle_stream_event(
    event: StreamEvent,
    dynamodb: Any,
    table: str,
    now: Callable[[], datetime] = utc_now,
    capture: Capture | None = None,
) -> StreamBatchResponse:
    """Capture a batch of stream records (when ``capture`` is given), then apply them to the rollups; the
    response names the first record not done. In a tumbling window, see :func:`_window_invocation`."""
    if "window" in event:
        return _window_invocation(event, dynamodb, table, now, capture)
    records = event.get("Records", [])
    first_undone = len(records)
    parsed: list[tuple[int, rollups.StreamChange]] = []
    for index, record in enumerate(records):
        if not for_rollups(record):
            continue  # the hot store let the reading go, its history keeps it; or a correction item went
        try:
            parsed.append((index, stream_change(record)))
        except (KeyError, TypeError, ValueError):
            logger.exception("stream record %s cannot be read", record.get("eventID"))
            first_undone = min(first_undone, index)
            break  # the records after it wait for the retry, in order
    if capture is not None and parsed:
        try:
            capture([records[index] for index, _ in parsed if for_lake(records[index])])
        except Exception:
            logger.exception("capturing %d stream records failed; the batch is retried whole", len(parsed))
            return {"batchItemFailures": [{"itemIdentifier": records[0]["dynamodb"]["SequenceNumber"]}]}
    failed = _apply(dynamodb, table, parsed, now)
    if failed is not None:
        first_undone = min(first_undone, failed)
    if first_undone == len(records):
        return {"batchItemFailures": []}
    # a record without a sequence number raises here: the whole batch fails and the mapping bisects it
    return {"batchItemFailures": [{"itemIdentifier": records[first_undone]["dynamodb"]["SequenceNumber"]}]}


def _window_invocation(
    event: StreamEvent, dynamodb: Any, table: str, now: Callable[[], datetime], capture: Capture | None
) -> StreamBatchResponse:
    """One invocation of a tumbling window: capture the batch, keep it in the window's state, and write the
    rollups of every record kept when the window ends (or its state grows past :data:`window_state.LIMIT_BYTES`).
    Raises when something fails: Lambda retries the batch with the state from before it."""
    records = [record for record in event.get("Records", []) if for_rollups(record)]
    pending = window_state.decode(event.get("state"))
    for record in records:
        stream_change(record)  # a record it cannot read fails the invocation (and, bisected, only that record)
    captured = [record for record in records if for_lake(record)]
    if capture is not None and captured:
        capture(captured)
    window_state.add(pending, list(records))
    state = window_state.encode(pending)
    if not event.get("isFinalInvokeForWindow") and window_state.encoded_bytes(state) <= window_state.LIMIT_BYTES:
        return {"batchItemFailures": [], "state": state}
    parsed = list(enumerate(change_of_data(pending[sequence]) for sequence in sorted(pending)))
    if _apply(dynamodb, table, parsed, now) is not None:
        raise RuntimeError(f"the rollups of a window's {len(parsed)} records failed in part; it is retried")
    return {"batchItemFailures": [], "state": {}}


def _apply(
    dynamodb: Any, table: str, parsed: list[tuple[int, rollups.StreamChange]], now: Callable[[], datetime]
) -> int | None:
    """Add the ``(index, change)`` records (in stream order) to the rollups, sites in parallel; the index of the
    first record of a site that failed, or None when all are in."""
    by_site: dict[str, list[tuple[int, rollups.StreamChange]]] = {}
    for index, change in parsed:
        by_site.setdefault(change.site_id, []).append((index, change))
    current = rollups.read(dynamodb, table, rollups.group(change for _, change in parsed))
    written_at = format_timestamp(now())
    with ThreadPoolExecutor(max(1, min(PARALLEL_SITES, len(by_site)))) as pool:
        futures = {
            site_id: pool.submit(
                copy_context().run,
                _apply_site,
                dynamodb,
                table,
                [change for _, change in site_records],
                current,
                written_at,
            )
            for site_id, site_records in by_site.items()
        }
    first_failed: int | None = None
    for site_id, future in futures.items():
        error = future.exception()
        if error is not None and not isinstance(error, Exception):
            raise error  # the process is going down (as it would have in the site's thread)
        if error is not None:
            logger.error("rollups of site %s failed; the batch is retried from its record", site_id, exc_info=error)
            index = by_site[site_id][0][0]
            first_failed = index if first_failed is None else min(first_failed, index)
    return first_failed


def _apply_site(
    dynamodb: Any,
    table: str,
    records: list[rollups.StreamChange],
    current: dict[rollups.RollupKey, dict[str, Any]],
    now: str,
) -> None:
    """The hour and day items of one site first, then its all-time item, which takes in every record (also one
    that changes no sum, such as a reading rewritten with the same values) so that its sequence moves."""
    grouped = rollups.group(records)
    for key, touching in sorted(grouped.items(), key=lambda entry: entry[0][0] == rollups.TOTAL_BUCKET):
        rollups.apply(dynamodb, table, key, touching, current.get(key, {}), now)
