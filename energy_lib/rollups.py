"""Rollups: per site and period, the sums of the stored readings, valid and flagged apart.

One item per ``(bucket, site_id)``; buckets ``T`` (all time), ``D#2025-06-11``, ``H#2025-06-11T13``:

- ``readings``, ``anomalies``, ``anomalies_low|medium|high|critical``: counts of stored readings;
- ``energy_generated_kwh``, ``energy_consumed_kwh``, ``net_energy_kwh``: sums over valid readings (no anomaly);
- ``flagged_energy_generated_kwh``, ``flagged_energy_consumed_kwh``, ``flagged_net_energy_kwh``: sums over
  anomalies;
- on ``T`` only, ``last_reading_at``: the latest reading timestamp stored for the site.

Bookkeeping: ``applied_sequence`` is the stream sequence number (zero-padded to 40 digits, so that
DynamoDB compares it as text) of the last stream record the item has taken in; ``period``, ``updated_at``.
The aggregator (:mod:`energy_lib.aggregator`) changes an item only with records after its
``applied_sequence``, which makes every stream record count once however often it is delivered.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from typing import Any

from botocore.exceptions import ClientError

from energy_lib.dynamo import from_item, to_item
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
    latest_reading_at: str = ""  # only kept for the T bucket

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


def change_of(key: RollupKey, records: Iterable[StreamChange]) -> Change:
    """What ``records`` (each touching the item at ``key``) do to it: new images added, old ones taken away."""
    change = Change()
    for record in records:
        for sign, image in ((1, record.new), (-1, record.old)):
            if image is not None:
                change.add(record.sequence, sign, image)
    if key[0] != TOTAL_BUCKET:
        change.latest_reading_at = ""
    return change


def from_readings(items: Iterable[dict[str, Any]]) -> dict[RollupKey, Change]:
    """Every rollup of stored reading ``items``, computed from scratch (what ``ops rebuild-rollups`` writes)."""
    inserted = [StreamChange("", None, item) for item in items]
    return {key: change_of(key, touching) for key, touching in group(inserted).items()}


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


def _compact(value: Decimal) -> Decimal:
    """``value`` without trailing zeros, written without an exponent when it is a whole number below 1E+38."""
    value = value.normalize()
    return value.quantize(Decimal(1)) if value.as_tuple().exponent > 0 and value.adjusted() < 38 else value


def apply(dynamodb: Any, table: str, key: RollupKey, records: list[StreamChange], now: str) -> bool:
    """Add what ``records`` (each touching the item at ``key``, in stream order) change to it, each record once.

    The update is conditional on the item's ``applied_sequence`` being older than the first record. When it is
    not (a retried or re-bisected batch, a rebuild in between), the failed condition returns the item, and only
    the records after its ``applied_sequence`` are applied, conditional on that exact value. Returns False when
    the item had taken in every record already.
    """
    pending, expected, set_latest = records, None, True
    for _ in range(UPDATE_ROUNDS):
        try:
            dynamodb.update_item(**_update(table, key, change_of(key, pending), expected, set_latest, now))
            return True
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            current = from_item(error.response.get("Item") or {})
        expected = current.get("applied_sequence", "")
        pending = [record for record in records if record.sequence > expected]
        if not pending:
            return False
        set_latest = current.get("last_reading_at", "") < change_of(key, pending).latest_reading_at
    raise RuntimeError(f"rollup {key} kept changing under the aggregator; the batch will be retried")


def _update(
    table: str, key: RollupKey, change: Change, expected: str | None, set_latest: bool, now: str
) -> dict[str, Any]:
    """The UpdateItem request that adds ``change`` to the item at ``key``: conditional on the item having taken
    in nothing from ``change.first_sequence`` on (``expected`` None) or on its exact ``applied_sequence``
    (``expected``, "" for none); ``last_reading_at`` moves only forward."""
    bucket, site_id = key
    names = {f"#c{i}": name for i, name in enumerate(COUNTERS)}
    names["#period"] = "period"
    values: dict[str, Any] = {f":c{i}": _compact(change.sums[name]) for i, name in enumerate(COUNTERS)}
    values.update({":last": change.last_sequence, ":period": period(bucket), ":now": now})
    sets = ["applied_sequence = :last", "#period = :period", "updated_at = :now"]
    if expected is None:
        conditions = ["(attribute_not_exists(applied_sequence) OR applied_sequence < :first)"]
        values[":first"] = change.first_sequence
    elif expected:
        conditions = ["applied_sequence = :applied"]
        values[":applied"] = expected
    else:
        conditions = ["attribute_not_exists(applied_sequence)"]
    if change.latest_reading_at and set_latest:
        sets.append("last_reading_at = :latest")
        conditions.append("(attribute_not_exists(last_reading_at) OR last_reading_at <= :latest)")
        values[":latest"] = change.latest_reading_at
    return {
        "TableName": table,
        "Key": to_item({"bucket": bucket, "site_id": site_id}),
        "UpdateExpression": f"ADD {', '.join(f'#c{i} :c{i}' for i in range(len(COUNTERS)))} SET {', '.join(sets)}",
        "ConditionExpression": " AND ".join(conditions),
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": to_item(values),
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
