"""Rollups: per site and period, the sums of the stored readings, valid and flagged apart.

One item per ``(bucket, site_id)``; buckets ``T`` (all time), ``D#2025-06-11``, ``H#2025-06-11T13``:

- ``readings``, ``anomalies``, ``anomalies_low|medium|high|critical``: counts of stored readings;
- ``energy_generated_kwh``, ``energy_consumed_kwh``, ``net_energy_kwh``: sums over valid readings (no anomaly);
- ``flagged_energy_generated_kwh``, ``flagged_energy_consumed_kwh``, ``flagged_net_energy_kwh``: sums over
  anomalies;
- ``last_reading_at``: the latest reading timestamp the item has taken in (on ``T``: the site's latest reading).
  It is the item's watermark: the item holds its bucket's readings up to there, as far as the stream has been
  taken in, and none after; a summary adds the readings stored after it (:mod:`energy_lib.tail`).

Bookkeeping: ``applied_sequence`` is the stream sequence number (zero-padded to 40 digits, so that
DynamoDB compares it as text) of the last stream record the item has taken in; ``period``, ``updated_at``.
The aggregator (:mod:`energy_lib.aggregator`) reads an item, adds the records after its ``applied_sequence``
and writes it whole, conditional on that ``applied_sequence``: every stream record counts once however often
it is delivered, and a writer in between (``ops rebuild-rollups``) makes the write fail, not count twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from typing import Any

from botocore.exceptions import ClientError

from energy_lib.dynamo import batch_get, from_item, to_item
from energy_lib.rules import SEVERITIES

TOTAL_BUCKET = "T"
EXACT_DIGITS = 100  # sums of 38-digit numbers stay exact; DynamoDB refuses (loudly) what it cannot keep
SEQUENCE_DIGITS = 40  # DynamoDB Streams sequence numbers have up to 40 digits (a Number keeps 38)
ENERGY = ("energy_generated_kwh", "energy_consumed_kwh", "net_energy_kwh")
FLAGGED_ENERGY = tuple(f"flagged_{name}" for name in ENERGY)
COUNTS = ("readings", "anomalies", *(f"anomalies_{severity.lower()}" for severity in SEVERITIES))
COUNTERS = (*ENERGY, *FLAGGED_ENERGY, *COUNTS)
UPDATE_ROUNDS = 4  # attempts of one item's update when another writer moved its sequence in between

RollupKey = tuple[str, str]  # (bucket, site_id)


def buckets(timestamp: str) -> tuple[str, str, str]:
    """The rollup buckets a reading at ``timestamp`` (``YYYY-MM-DDTHH:MM:SSZ``) counts in."""
    return TOTAL_BUCKET, f"D#{timestamp[:10]}", f"H#{timestamp[:13]}"


def period(bucket: str) -> str:
    return {"T": "total", "D": "day", "H": "hour"}[bucket[0]]


def zero() -> dict[str, Decimal]:
    return {name: Decimal(0) for name in COUNTERS}


def contribution(item: dict[str, Any]) -> dict[str, Decimal]:
    """What one stored reading adds to each rollup counter: its energy to the valid or the flagged sums."""
    values = zero()
    prefix = "flagged_" if item.get("anomaly") else ""
    for name in ENERGY:
        values[prefix + name] = item[name]
    values["readings"] = Decimal(1)
    if item.get("anomaly"):
        values["anomalies"] = Decimal(1)
        values[f"anomalies_{item['severity'].lower()}"] = Decimal(1)
    return values


def padded(sequence: str) -> str:
    """A stream sequence number as fixed-width text, so that text order is number order."""
    if not sequence.isdigit() or len(sequence) > SEQUENCE_DIGITS:
        raise ValueError(f"not a stream sequence number: {sequence!r}")
    return sequence.zfill(SEQUENCE_DIGITS)


@dataclass
class Change:
    """What a run of stream records does to one rollup item: the sums, the sequence numbers, the latest reading."""

    sums: dict[str, Decimal] = field(default_factory=zero)
    first_sequence: str = ""  # padded
    last_sequence: str = ""  # padded
    latest_reading_at: str = ""  # the latest reading timestamp added (the item's watermark)

    def add(self, sequence: str, sign: int, item: dict[str, Any]) -> None:
        with localcontext(prec=EXACT_DIGITS):
            for name, value in contribution(item).items():
                self.sums[name] += sign * value
        if sign > 0:
            self.latest_reading_at = max(self.latest_reading_at, item["timestamp"])
        self.first_sequence = min(self.first_sequence or sequence, sequence)
        self.last_sequence = max(self.last_sequence, sequence)

    @property
    def changes_sums(self) -> bool:
        return any(self.sums.values())


@dataclass(frozen=True, slots=True)
class StreamChange:
    """One stream record of the readings table: its padded sequence number and the images it holds."""

    sequence: str
    old: dict[str, Any] | None
    new: dict[str, Any] | None

    def __post_init__(self) -> None:
        for image in (self.old, self.new):
            if image is not None and not all(isinstance(image.get(name), Decimal) for name in ENERGY):
                raise ValueError(f"not a stored reading: {image!r}")
        if self.old is None and self.new is None:
            raise ValueError("a stream record without images")

    @property
    def site_id(self) -> str:
        return (self.new or self.old or {})["site_id"]

    @property
    def timestamp(self) -> str:
        return (self.new or self.old or {})["timestamp"]


def group(records: Iterable[StreamChange]) -> dict[RollupKey, list[StreamChange]]:
    """The records that touch each rollup item, in stream order."""
    result: dict[RollupKey, list[StreamChange]] = {}
    for record in records:
        for bucket in buckets(record.timestamp):
            result.setdefault((bucket, record.site_id), []).append(record)
    return result


def change_of(records: Iterable[StreamChange]) -> Change:
    """What ``records`` (each touching one rollup item) do to it: new images added, old ones taken away."""
    change = Change()
    for record in records:
        for sign, image in ((1, record.new), (-1, record.old)):
            if image is not None:
                change.add(record.sequence, sign, image)
    return change


def from_readings(items: Iterable[dict[str, Any]]) -> dict[RollupKey, Change]:
    """Every rollup of stored reading ``items``, computed from scratch (what ``ops rebuild-rollups`` writes)."""
    inserted = [StreamChange("", None, item) for item in items]
    return {key: change_of(touching) for key, touching in group(inserted).items()}


def item(key: RollupKey, change: Change, applied_sequence: str, now: str) -> dict[str, Any]:
    """The whole rollup item at ``key``: ``change``'s sums, the stream taken in up to ``applied_sequence``."""
    bucket, site_id = key
    result: dict[str, Any] = {"bucket": bucket, "site_id": site_id, "period": period(bucket), "updated_at": now}
    result.update({name: _compact(change.sums[name]) for name in COUNTERS})
    if applied_sequence:
        result["applied_sequence"] = applied_sequence
    if change.latest_reading_at:
        result["last_reading_at"] = change.latest_reading_at
    return result


def held(current: dict[str, Any]) -> Change:
    """What a stored rollup item holds, as a :class:`Change` (counters it lacks are zero)."""
    change = Change(latest_reading_at=current.get("last_reading_at", ""))
    for name in COUNTERS:
        change.sums[name] = current.get(name, Decimal(0))
    return change


def added(current: dict[str, Any], change: Change) -> Change:
    """The sums of a stored rollup item with ``change`` added, exactly."""
    total = held(current)
    with localcontext(prec=EXACT_DIGITS):
        for name in COUNTERS:
            total.sums[name] += change.sums[name]
    total.latest_reading_at = max(total.latest_reading_at, change.latest_reading_at)
    return total


def _compact(value: Decimal) -> Decimal:
    """``value`` without trailing zeros, written without an exponent when it is a whole number below 1E+38; every
    digit kept (the default context's 28 would round a sum of 29 or more)."""
    with localcontext(prec=EXACT_DIGITS):
        value = value.normalize()
        return value.quantize(Decimal(1)) if value.as_tuple().exponent > 0 and value.adjusted() < 38 else value


def read(dynamodb: Any, table: str, keys: Iterable[RollupKey]) -> dict[RollupKey, dict[str, Any]]:
    """The stored rollup items at ``keys`` (strongly consistent, BatchGetItem); missing ones are left out."""
    wanted = [{"bucket": bucket, "site_id": site_id} for bucket, site_id in keys]
    return {(found["bucket"], found["site_id"]): found for found in batch_get(dynamodb, table, wanted)}


def apply(
    dynamodb: Any, table: str, key: RollupKey, records: list[StreamChange], current: dict[str, Any], now: str
) -> bool:
    """Add what ``records`` (each touching the item at ``key``, in stream order) change to the item ``current``
    (as read), each record once: the item is written whole, conditional on its ``applied_sequence`` being the
    one read. When another writer moved it in between (a rebuild), the failed condition returns the item and
    the records after its ``applied_sequence`` are applied to that. Returns False when there was nothing to
    write: every record already taken in, or (hour and day items) nothing they change.
    """
    for _ in range(UPDATE_ROUNDS):
        applied = current.get("applied_sequence", "")
        pending = [record for record in records if record.sequence > applied]
        change = change_of(pending)
        if not pending or (key[0] != TOTAL_BUCKET and not change.changes_sums):
            return False
        request: dict[str, Any] = {
            "TableName": table,
            "Item": to_item(item(key, added(current, change), change.last_sequence, now)),
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        if applied:
            request["ConditionExpression"] = "applied_sequence = :applied"
            request["ExpressionAttributeValues"] = to_item({":applied": applied})
        else:
            request["ConditionExpression"] = "attribute_not_exists(applied_sequence)"
        try:
            dynamodb.put_item(**request)
            return True
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            current = from_item(error.response.get("Item") or {})
    raise RuntimeError(f"rollup {key} kept changing under the aggregator; the batch will be retried")
