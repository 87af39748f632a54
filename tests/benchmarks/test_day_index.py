"""What an index by day (``day``, ``timestamp``; every attribute projected, as the readings table had) serves that
the table's own key cannot, measured on moto for 10, 100 and 1,000 sites (1,000 under ``make bench``) with hourly
readings: a fleet's day of readings (the daily site-health assessment inside the hot window) and a summary's tail
(every site's latest readings: the last hour here, the last window of 15 minutes at 5-minute data). Each is read
both ways, from the same items: one Query per site on the table's key, or one Query per day on the index. Read
units are DynamoDB's (eventually consistent: 0.5 per started 4 KB of a request's items); requests are not billed.
What the index costs is a write unit per reading and a second copy of every item. Printed and written to
build/benchmarks/day_index.json; the reads asserted equal item for item."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from energy_lib import query
from energy_lib.clients import client
from energy_lib.config import Settings
from energy_lib.dynamo import batch_put, from_item, to_item
from energy_lib.readings import Reading
from energy_lib.rules import assess
from energy_lib.storage import reading_item
from tests.benchmarks import bill
from tests.benchmarks.capacity import item_size
from tests.benchmarks.results import write
from tests.benchmarks.sizes import FULL
from tests.conftest import fresh_stack

pytestmark = pytest.mark.benchmark
DAY = datetime(2026, 12, 5, tzinfo=timezone.utc)
INTERVAL = timedelta(hours=1)  # (a day at 5 minutes is 12 times the items and the units, in as many requests)
WINDOW = timedelta(hours=1)  # a summary's tail: the last reading of every site (15 minutes at 5-minute data)
FLEETS = (10, 100, 1000) if FULL else (10, 100)
INDEX = "by_day"


class Reads:
    """Requests, items and read units of the Queries one reader sends (DynamoDB's rule, from the items)."""

    def __init__(self) -> None:
        self.requests = self.items = 0
        self.units = 0.0

    def query(self, dynamodb: Any, **request: Any) -> list[dict[str, Any]]:
        found = []
        while True:
            page = dynamodb.query(**request)
            self.requests += 1
            self.items += len(page["Items"])
            self.units += math.ceil(max(sum(item_size(i) for i in page["Items"]), 1) / 4096) * 0.5
            found += [from_item(i) for i in page["Items"]]
            if "LastEvaluatedKey" not in page:
                return found
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def indexed_table(settings: Settings) -> str:
    """A copy of the readings table's layout with the index by day it used to have."""
    name = f"{settings.readings_table}-with-day-index"
    client("dynamodb", settings).create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in ("site_id", "timestamp", "day")],
        KeySchema=[{"AttributeName": "site_id", "KeyType": "HASH"}, {"AttributeName": "timestamp", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": INDEX,
                "KeySchema": [
                    {"AttributeName": "day", "KeyType": "HASH"},
                    {"AttributeName": "timestamp", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    return name


def store(settings: Settings, table: str, sites: int) -> tuple[int, float]:
    """A day of hourly readings of ``sites`` sites in both tables; how many, and their mean size [bytes]."""
    items = []
    for n in range(sites):
        for slot in range(24):
            r = Reading(f"SITE_{n:04d}", DAY + slot * INTERVAL, Decimal(slot % 17) / 4, Decimal(n % 5 + 1), slot)
            items.append(reading_item(r, assess(r, settings), "raw/x.json", DAY, settings.readings_ttl_days))
    dynamodb = client("dynamodb", settings)
    batch_put(dynamodb, settings.readings_table, items)
    batch_put(dynamodb, table, [{**item, "day": item["timestamp"][:10]} for item in items])
    return len(items), sum(item_size(to_item(item)) for item in items) / len(items)


def by_site(settings: Settings, sites: int, low: str, high: str) -> tuple[Reads, list[dict[str, Any]]]:
    reads = Reads()
    rows = [
        row
        for n in range(sites)
        for row in reads.query(
            client("dynamodb", settings),
            TableName=settings.readings_table,
            KeyConditionExpression="site_id = :s AND #t BETWEEN :low AND :high",
            ExpressionAttributeNames={"#t": "timestamp"},
            ExpressionAttributeValues=to_item({":s": f"SITE_{n:04d}", ":low": low, ":high": high}),
        )
    ]
    return reads, rows


def by_index(settings: Settings, table: str, low: str, high: str) -> tuple[Reads, list[dict[str, Any]]]:
    reads = Reads()
    rows = reads.query(
        client("dynamodb", settings),
        TableName=table,
        IndexName=INDEX,
        KeyConditionExpression="#d = :day AND #t BETWEEN :low AND :high",
        ExpressionAttributeNames={"#d": "day", "#t": "timestamp"},
        ExpressionAttributeValues=to_item({":day": low[:10], ":low": low, ":high": high}),
    )
    return reads, rows


def key_of(row: dict[str, Any]) -> tuple[str, str]:
    return row["site_id"], row["timestamp"]


def test_what_an_index_by_day_serves_that_the_table_s_key_does_not(
    moto_port: int, tmp_path_factory: pytest.TempPathFactory
) -> None:
    figures = []
    reading_bytes = 0.0
    for sites in FLEETS:
        settings = fresh_stack(moto_port, tmp_path_factory.mktemp(f"day{sites}"))
        table = indexed_table(settings)
        readings, reading_bytes = store(settings, table, sites)
        day_end = DAY + timedelta(days=1)
        tail_start = day_end - WINDOW
        questions = {
            "a fleet's day": (DAY, day_end - timedelta(seconds=1)),
            "a summary's tail": (tail_start, day_end - timedelta(seconds=1)),
        }
        for question, (low, high) in questions.items():
            bounds = (query.format_timestamp(low), query.format_timestamp(high))
            (site_reads, site_rows), (index_reads, index_rows) = (
                by_site(settings, sites, *bounds),
                by_index(settings, table, *bounds),
            )
            # THEN both read the same readings
            assert sorted(map(key_of, site_rows)) == sorted(map(key_of, index_rows)) and site_rows
            figures.append(
                {
                    "sites": sites,
                    "question": question,
                    "readings": len(site_rows),
                    "per_site_requests": site_reads.requests,
                    "per_site_read_units": site_reads.units,
                    "index_requests": index_reads.requests,
                    "index_read_units": index_reads.units,
                }
            )
        figures[-1]["stored"] = readings
    reading_bytes = item_size(
        to_item(
            reading_item(
                Reading("SITE_0000", DAY, Decimal("1.25"), Decimal(2), 1),
                assess(Reading("SITE_0000", DAY, Decimal("1.25"), Decimal(2), 1), Settings()),
                "raw/x.json",
                DAY,
                35,
            )
        )
    )
    index_usd = bill.READINGS_PER_MONTH * bill.DYNAMODB_WRITE_PER_MILLION / 1e6
    index_storage_usd = (
        bill.READINGS_PER_DAY * (35 + bill.EXPIRY_LAG_DAYS) * (reading_bytes + bill.INDEX_OVERHEAD_BYTES) / 1e9
    ) * (bill.DYNAMODB_STORAGE_PER_GB_MONTH + bill.DYNAMODB_PITR_PER_GB_MONTH)
    write(
        "day_index",
        figures,
        index_writes_usd_per_month=round(index_usd, 2),
        index_storage_usd_per_month=round(index_storage_usd, 2),
    )
    lines = ["", "An index by day against one Query per site, the same items (eventually consistent read units)"]
    lines.append(
        f"{'sites':>6}  {'question':<18}{'readings':>9}{'per site: req':>15}{'RU':>9}{'index: req':>12}{'RU':>9}"
    )
    for row in figures:
        lines.append(
            f"{row['sites']:>6}  {row['question']:<18}{row['readings']:>9}{row['per_site_requests']:>15}"
            f"{row['per_site_read_units']:>9.1f}{row['index_requests']:>12}{row['index_read_units']:>9.1f}"
        )
    lines.append(
        f"the index, at {bill.SITES:,} sites x 5-minute readings: {index_usd:.2f} USD a month of writes and "
        f"{index_storage_usd:.2f} of storage and backups"
    )
    print("\n".join(lines))
    for row in figures:
        # the table's key reads no more than half a unit a site beyond the index (each Query rounds up its own 4 KB)
        assert row["per_site_read_units"] <= row["index_read_units"] + 0.5 * row["sites"]
        assert row["per_site_requests"] == row["sites"]
