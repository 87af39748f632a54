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

Before the rollups, ``capture`` (the entry point passes :func:`energy_lib.lake.put_changes`) writes the batch's
records as the history lake's change objects. When it fails, the rollups wait too and the whole batch is
retried, so rollups that took in a record mean the lake has it (``energy-workbook wait`` relies on that).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from datetime import datetime, timezone
from typing import Any, Literal, NotRequired, TypedDict

from energy_lib import rollups
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


class StreamRecord(TypedDict):
    eventID: str
    eventName: Literal["INSERT", "MODIFY", "REMOVE"]
    eventVersion: str
    eventSource: str
    awsRegion: str
    dynamodb: StreamRecordData
    eventSourceARN: str


class StreamEvent(TypedDict):
    Records: list[StreamRecord]


class BatchItemFailure(TypedDict):
    itemIdentifier: str  # the SequenceNumber of the first record not done


class StreamBatchResponse(TypedDict):
    batchItemFailures: list[BatchItemFailure]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def stream_change(record: StreamRecord) -> rollups.StreamChange:
    data = record["dynamodb"]
    old, new = data.get("OldImage"), data.get("NewImage")
    return rollups.StreamChange(
        rollups.padded(data["SequenceNumber"]),
        from_item(old) if old is not None else None,
        from_item(new) if new is not None else None,
    )


def handle_stream_event(
    event: StreamEvent,
    dynamodb: Any,
    table: str,
    now: Callable[[], datetime] = utc_now,
    capture: Callable[[list[StreamRecord]], object] | None = None,
) -> StreamBatchResponse:
    """Capture a batch of stream records (when ``capture`` is given), then apply them to the rollups; the
    response names the first record not done."""
    records = event.get("Records", [])
    first_undone = len(records)
    parsed: list[tuple[int, rollups.StreamChange]] = []
    for index, record in enumerate(records):
        try:
            parsed.append((index, stream_change(record)))
        except (KeyError, TypeError, ValueError):
            logger.exception("stream record %s cannot be read", record.get("eventID"))
            first_undone = min(first_undone, index)
            break  # the records after it wait for the retry, in order
    if capture is not None and parsed:
        try:
            capture(records[: parsed[-1][0] + 1])
        except Exception:
            logger.exception("capturing %d stream records failed; the batch is retried whole", len(parsed))
            return {"batchItemFailures": [{"itemIdentifier": records[0]["dynamodb"]["SequenceNumber"]}]}
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
    for site_id, future in futures.items():
        error = future.exception()
        if error is not None and not isinstance(error, Exception):
            raise error  # the process is going down (as it would have in the site's thread)
        if error is not None:
            logger.error("rollups of site %s failed; the batch is retried from its record", site_id, exc_info=error)
            first_undone = min(first_undone, by_site[site_id][0][0])
    if first_undone == len(records):
        return {"batchItemFailures": []}
    # a record without a sequence number raises here: the whole batch fails and the mapping bisects it
    return {"batchItemFailures": [{"itemIdentifier": records[first_undone]["dynamodb"]["SequenceNumber"]}]}


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
