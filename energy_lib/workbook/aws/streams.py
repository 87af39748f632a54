"""Reading the readings table's stream from the workbook: which records were written, and are they in the rollups?

DynamoDB Streams keeps a table's changes for 24 hours in shards; a shard closes after a while and its children
go on where it stopped, and the records of one partition key (one site) are in order. The aggregator's event
source mapping reads every shard; :class:`StreamTail` reads them too (a second reader: DynamoDB Streams
allows two per shard, so at most one ``wait`` or ``rebuild-rollups`` at a time keeps clear of throttling,
which botocore's retries absorb anyway). It remembers, per site, the last sequence number written, and
:func:`unapplied` compares that with the ``applied_sequence`` of the site's all-time rollup, which the
aggregator moves only after the site's hour and day rollups took the records in. Deletions by the table's time to
live are no part of it (the aggregator leaves the rollups alone for them); a correction item's record counts for
the site it corrects.

The first read of a :class:`StreamTail` starts at the oldest record the stream keeps (``TRIM_HORIZON``): on AWS
up to 24 hours of writes (one GetRecords per 1,000 records or 1 MB); later reads go on from where it stopped.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from energy_lib.aggregator import for_rollups
from energy_lib.config import Settings
from energy_lib.corrections import site_of
from energy_lib.dynamo import batch_get
from energy_lib.errors import EnergyError
from energy_lib.rollups import TOTAL_BUCKET, padded

EMPTY_PAGES = 3  # GetRecords may answer empty before the records further on in an open shard
RECORDS_PER_REQUEST = 1000


def stream_arn(settings: Settings, dynamodb: Any) -> str:
    """The ARN of the readings table's current stream."""
    arn = dynamodb.describe_table(TableName=settings.readings_table)["Table"].get("LatestStreamArn")
    if not arn:
        raise EnergyError(f"the table {settings.readings_table} has no stream; the rollups cannot follow it")
    return arn


def shards(streams: Any, arn: str) -> list[dict[str, Any]]:
    """Every shard of the stream, parents before their children."""
    found: list[dict[str, Any]] = []
    request: dict[str, Any] = {"StreamArn": arn}
    while True:
        description = streams.describe_stream(**request)["StreamDescription"]
        found += description.get("Shards", [])
        last = description.get("LastEvaluatedShardId")
        if not last:
            break
        request["ExclusiveStartShardId"] = last
    ids = {shard["ShardId"] for shard in found}
    ordered: list[dict[str, Any]] = []
    placed: set[str] = set()
    while len(ordered) < len(found):
        for shard in found:
            parent = shard.get("ParentShardId")
            if shard["ShardId"] not in placed and (parent not in ids or parent in placed):
                ordered.append(shard)
                placed.add(shard["ShardId"])
    return ordered


class StreamTail:
    """Follows a stream: the last sequence number written per site, read shard by shard from where it stopped."""

    def __init__(self, streams: Any, arn: str) -> None:
        self.streams = streams
        self.arn = arn
        self.iterators: dict[str, str | None] = {}  # shard -> where to read on (None: closed and read to its end)
        self.positions: dict[str, str] = {}  # shard -> last sequence number read
        self.latest: dict[str, str] = {}  # site -> padded sequence number of its last record read
        self.records = 0  # records read so far

    def catch_up(self) -> dict[str, str]:
        """Read every record written since the last call; returns the last sequence number per site."""
        for shard in shards(self.streams, self.arn):
            shard_id = shard["ShardId"]
            if shard_id in self.iterators and self.iterators[shard_id] is None:
                continue
            self._read(shard_id)
        return dict(self.latest)

    def _iterator(self, shard_id: str) -> str:
        request = {"StreamArn": self.arn, "ShardId": shard_id, "ShardIteratorType": "TRIM_HORIZON"}
        if shard_id in self.positions:
            request.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=self.positions[shard_id])
        return self.streams.get_shard_iterator(**request)["ShardIterator"]

    def _read(self, shard_id: str) -> None:
        iterator = self.iterators.get(shard_id) or self._iterator(shard_id)
        empty = 0
        while iterator and empty < EMPTY_PAGES:
            try:
                page = self.streams.get_records(ShardIterator=iterator, Limit=RECORDS_PER_REQUEST)
            except ClientError as error:
                code = error.response["Error"]["Code"]
                if code == "TrimmedDataAccessException":  # the stream's retention went past where it stopped
                    self.positions.pop(shard_id, None)  # on from the oldest record kept
                elif code != "ExpiredIteratorException":
                    raise
                iterator = self._iterator(shard_id)
                continue
            for record in page["Records"]:
                sequence = record["dynamodb"]["SequenceNumber"]
                self.positions[shard_id] = sequence
                if not for_rollups(record):
                    continue  # the rollups leave these alone: nothing for them to take in
                site = site_of(record["dynamodb"]["Keys"]["site_id"]["S"])  # a correction item's: its site's
                self.latest[site] = max(self.latest.get(site, ""), padded(sequence))
            self.records += len(page["Records"])
            empty = 0 if page["Records"] else empty + 1
            iterator = page.get("NextShardIterator")
        self.iterators[shard_id] = iterator


def unapplied(settings: Settings, dynamodb: Any, tail: StreamTail) -> dict[str, str]:
    """The sites whose last record read by ``tail`` is not in their rollups yet, with that record's sequence number.

    Sites found in their rollups are forgotten by ``tail``: the next call looks only at what came since.
    """
    latest = tail.catch_up()
    keys = [{"bucket": TOTAL_BUCKET, "site_id": site} for site in latest]
    applied = {
        item["site_id"]: item.get("applied_sequence", "") for item in batch_get(dynamodb, settings.rollups_table, keys)
    }
    behind = {site: sequence for site, sequence in latest.items() if applied.get(site, "") < sequence}
    for site in set(latest) - set(behind):
        del tail.latest[site]
    return behind
