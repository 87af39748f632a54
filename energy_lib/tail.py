"""Rollups exact to the moment they are read: the rollup items plus the readings stored after their watermarks.

The aggregator writes the rollups when a stream window ends (on AWS once per 15-minute tumbling window), so
they trail the stored readings. Every rollup item records its watermark, ``last_reading_at``: the latest reading
it has taken in. :func:`exact_rollups` reads the items (strongly consistent; the all-time items first), then,
for every site that may have readings after its all-time watermark, those readings: one strongly consistent
Query with a key condition (``site_id = :site AND timestamp BETWEEN :after AND :last``), on AWS at most one
window's worth, never a Scan. Each reading is added to the item it counts in when it is later than that item's
watermark. An item holds no reading later than its own watermark, so no reading counts both in an item and in
the tail, whatever the aggregator writes between the reads (it writes a site's hour and day items, each with its
watermark, before its all-time item).

The sites read: those with an all-time item, those with an item in the buckets read and the registered ones (the
sites table), so that a registered site whose first readings are not rolled up yet shows at once. The readings
table has no index by day (:mod:`energy_lib.schema`: it would cost a write unit per reading), so a site that is
neither registered nor rolled up yet is not looked for.

What the tail cannot see until the window ends (on AWS at most ``ROLLUPS_DELAY_BOUND_MIN``): a reading stored in
the open window for a time at or before its item's watermark (a late file, a correction, or one site's files
processed out of order); and the first readings of a site that is not registered. None is ever counted twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, localcontext
from typing import Any

from energy_lib import timeutil
from energy_lib.config import Settings
from energy_lib.dynamo import Cost, query_pages
from energy_lib.rollups import COUNTERS, EXACT_DIGITS, TOTAL_BUCKET, buckets, contribution, zero
from energy_lib.schema import SITE_RECORD, SITES
from energy_lib.timeutil import format_timestamp
from energy_lib.validation import EARLIEST, LATEST

Row = dict[str, Any]
READERS = 8  # sites whose tails are read at once (a round trip is most of the time)
ONE_SECOND = timedelta(seconds=1)
WHOLE_BUCKET = "~"  # the watermark of an item written before items had one: it holds its whole bucket
SPANS = {"D": timedelta(days=1), "H": timedelta(hours=1)}


@dataclass(frozen=True, slots=True)
class Freshness:
    """How fresh an exact read of the rollups is.

    ``complete_through``: the moment (to the second below) the readings table was read for the tail: every
    reading stored by then counts, but those the module's docstring names. ``rolled_up_through``: per site, the
    watermark of its all-time rollup item, the latest reading the rollups hold ("" when none yet).
    ``after_rollups``: per site, the readings added from the readings table; ``first_after_rollups``: per site,
    the earliest of them.
    """

    complete_through: str
    rolled_up_through: dict[str, str]
    after_rollups: dict[str, int]
    first_after_rollups: dict[str, str]

    def through(self, sites: Iterable[str]) -> str:
        """Up to which timestamp the rollups alone hold every reading of ``sites``: the earliest watermark of a site
        with readings after it (a site with none rolled up: the second before its first reading), or
        ``complete_through`` when none has any."""
        marks = [
            self.rolled_up_through.get(site) or _second_before(self.first_after_rollups[site])
            for site in sites
            if self.after_rollups.get(site)
        ]
        return min(marks, default=self.complete_through)


def exact_rollups(
    settings: Settings,
    dynamodb: Any,
    bucket_keys: list[str],
    cost: Cost | None = None,
    now: Callable[[], datetime] = timeutil.now,
) -> tuple[list[Row], Freshness]:
    """Every site's row in each of ``bucket_keys`` (``T``, ``D#2025-06-11``, ``H#2025-06-11T13``: ``bucket``,
    ``site_id`` and the counters of :mod:`energy_lib.rollups`), exact when read: the rollup item plus the
    readings stored after its watermark; rows without readings are left out. With the freshness of the read."""
    totals = rollup_items(settings, dynamodb, [TOTAL_BUCKET], cost)
    watermarks = {row["site_id"]: row.get("last_reading_at", "") for row in totals}
    items = totals if bucket_keys == [TOTAL_BUCKET] else rollup_items(settings, dynamodb, bucket_keys, cost)
    held = {(row["bucket"], row["site_id"]): row for row in items}
    sites = set(watermarks) | {site for _, site in held} | registered_sites(settings, dynamodb, cost)
    first, last = span(bucket_keys)
    asked_at = now()
    starts = {site: max(first, _second_after(watermarks.get(site, ""))) for site in sites}
    moment = format_timestamp(asked_at)
    tails = read_tails(settings, dynamodb, {site: s for site, s in starts.items() if s <= last}, last, cost)
    wanted = set(bucket_keys)
    sums: dict[tuple[str, str], dict[str, Decimal]] = {key: _counters(row) for key, row in held.items()}
    after: dict[str, int] = {}
    first_after: dict[str, str] = {}
    with localcontext(prec=EXACT_DIGITS):
        for site, readings in tails.items():
            for reading in readings:
                bucket = _bucket(reading["timestamp"], wanted)
                if bucket is None or reading["timestamp"] <= _watermark(held.get((bucket, site))):
                    continue
                totals_of = sums.setdefault((bucket, site), zero())
                for name, value in contribution(reading).items():
                    totals_of[name] += value
                after[site] = after.get(site, 0) + 1
                first_after.setdefault(site, reading["timestamp"])
    rows = [{"bucket": bucket, "site_id": site, **counters} for (bucket, site), counters in sums.items()]
    freshness = Freshness(moment, {site: watermarks.get(site, "") for site in sites}, after, first_after)
    return [row for row in rows if row["readings"]], freshness


def rollup_items(
    settings: Settings, dynamodb: Any, bucket_keys: list[str], cost: Cost | None = None, consistent: bool = True
) -> list[Row]:
    """Every site's rollup item in each bucket; ``consistent``: strongly consistent reads (an item read after
    another is then at least as new as the aggregator had it when the first was read)."""
    strongly = {"ConsistentRead": True} if consistent else {}
    rows: list[Row] = []
    for bucket in bucket_keys:
        rows += query_pages(
            dynamodb,
            cost,
            TableName=settings.rollups_table,
            KeyConditionExpression="#bucket = :bucket",
            ExpressionAttributeNames={"#bucket": "bucket"},
            ExpressionAttributeValues={":bucket": {"S": bucket}},
            **strongly,
        )
    return rows


def _watermark(item: Row | None) -> str:
    """Up to which timestamp a rollup item holds its bucket's readings: "" when there is no item."""
    return "" if item is None else item.get("last_reading_at", WHOLE_BUCKET)


def _counters(row: Row) -> dict[str, Decimal]:
    return {name: row.get(name, Decimal(0)) for name in COUNTERS}


def registry_items(settings: Settings, dynamodb: Any, cost: Cost | None = None) -> list[Row]:
    """The registry's items, by site id (one paged Query of the sites table)."""
    return list(
        query_pages(
            dynamodb,
            cost,
            TableName=settings.sites_table,
            KeyConditionExpression="#record = :record",
            ExpressionAttributeNames={"#record": SITES.partition_key},
            ExpressionAttributeValues={":record": {"S": SITE_RECORD}},
        )
    )


def registered_sites(settings: Settings, dynamodb: Any, cost: Cost | None = None) -> set[str]:
    """The site ids of the registry (one Query of the sites table)."""
    return {item[SITES.sort_key] for item in registry_items(settings, dynamodb, cost)}


def has_readings(settings: Settings, dynamodb: Any, site_id: str, cost: Cost | None = None) -> bool:
    """Whether ``site_id`` has a stored reading: one Query that reads at most one."""
    response = dynamodb.query(
        TableName=settings.readings_table,
        KeyConditionExpression="site_id = :site",
        ExpressionAttributeValues={":site": {"S": site_id}},
        Limit=1,
        ReturnConsumedCapacity="TOTAL",
    )
    if cost is not None:
        cost.add(response)
    return bool(response["Items"])


def span(bucket_keys: list[str]) -> tuple[str, str]:
    """The first and the last second (stored timestamps, inclusive) that the buckets cover together."""
    starts, ends = [], []
    for bucket in bucket_keys:
        if bucket == TOTAL_BUCKET:
            starts.append(EARLIEST)
            ends.append(LATEST)
            continue
        start = timeutil.utc(bucket[2:] + (":00:00" if bucket[0] == "H" else ""))
        starts.append(start)
        ends.append(start + SPANS[bucket[0]])
    return format_timestamp(min(starts)), format_timestamp(max(ends) - ONE_SECOND)


def _second_after(timestamp: str) -> str:
    return format_timestamp(timeutil.utc(timestamp) + ONE_SECOND) if timestamp else ""


def _second_before(timestamp: str) -> str:
    return format_timestamp(timeutil.utc(timestamp) - ONE_SECOND)


def _bucket(timestamp: str, wanted: set[str]) -> str | None:
    """The bucket among ``wanted`` that a reading at ``timestamp`` counts in (None: none of them)."""
    return next((bucket for bucket in buckets(timestamp) if bucket in wanted), None)


def read_tails(
    settings: Settings, dynamodb: Any, starts: dict[str, str], last: str, cost: Cost | None = None
) -> dict[str, list[Row]]:
    """Per site, its stored readings from ``starts[site]`` to ``last`` (inclusive), oldest first: one strongly
    consistent Query each, ``READERS`` sites at a time."""
    if not starts:
        return {}
    with ThreadPoolExecutor(min(READERS, len(starts))) as pool:
        futures = {
            site: pool.submit(copy_context().run, _site_tail, settings, dynamodb, site, start, last, cost)
            for site, start in starts.items()
        }
    return {site: future.result() for site, future in futures.items()}


def _site_tail(settings: Settings, dynamodb: Any, site: str, start: str, last: str, cost: Cost | None) -> list[Row]:
    return list(
        query_pages(
            dynamodb,
            cost,
            TableName=settings.readings_table,
            KeyConditionExpression="site_id = :site AND #at BETWEEN :start AND :last",
            ExpressionAttributeNames={"#at": "timestamp"},
            ExpressionAttributeValues={":site": {"S": site}, ":start": {"S": start}, ":last": {"S": last}},
            ConsistentRead=True,
        )
    )
