"""Stored readings and the rollups that summarise them.

A reading item holds the exact inputs, ``net_energy_kwh``, the anomaly verdict and the attributes its
indexes need (``day``; ``anomaly_at`` and ``anomaly_day`` only on anomalies, which makes those indexes
sparse).

Rollups keep per site and period (``T`` all time, ``D#2025-06-11``, ``H#2025-06-11T13``) the sums of
the readings stored. They stay exact under re-delivery and corrections: a file's rollup change is the
difference between the readings it writes and the readings they replace (read first with
BatchGetItem), applied in transactions that each also create a marker item for (source, chunk). A
re-delivered file finds its markers and changes nothing. Readings are written only after every rollup
change has landed, so a retry after a crash computes the same changes again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal, localcontext
from typing import Any

from botocore.exceptions import ClientError

from energy_lib.dynamo import batch_get, chunks, to_item
from energy_lib.readings import Reading
from energy_lib.rules import SEVERITIES, Assessment
from energy_lib.timeutil import format_timestamp

TOTAL_BUCKET = "T"
EXACT_DIGITS = 100  # sums of 38-digit numbers stay exact; DynamoDB refuses (loudly) what it cannot keep
TRANSACTION_ITEMS = 100
MARKER_LIFETIME = timedelta(days=30)  # longer than the queue and dead-letter retention
COUNTERS = (
    "energy_generated_kwh",
    "energy_consumed_kwh",
    "net_energy_kwh",
    "readings",
    "anomalies",
    *(f"anomalies_{severity.lower()}" for severity in SEVERITIES),
)

RollupKey = tuple[str, str]  # (bucket, site_id)


def reading_item(reading: Reading, assessment: Assessment, source_key: str, ingested_at: datetime) -> dict[str, Any]:
    timestamp = reading.timestamp_text
    item: dict[str, Any] = {
        "site_id": reading.site_id,
        "timestamp": timestamp,
        "day": timestamp[:10],
        "energy_generated_kwh": reading.energy_generated_kwh,
        "energy_consumed_kwh": reading.energy_consumed_kwh,
        "net_energy_kwh": reading.net_energy_kwh,
        "anomaly": assessment.anomaly,
        "anomaly_reasons": list(assessment.reasons),
        "source_key": source_key,
        "ingested_at": format_timestamp(ingested_at),
    }
    if assessment.anomaly:
        item.update(severity=assessment.severity, anomaly_at=timestamp, anomaly_day=timestamp[:10])
    return item


def buckets(timestamp: str) -> tuple[str, str, str]:
    """The rollup buckets a reading at ``timestamp`` (``YYYY-MM-DDTHH:MM:SSZ``) counts in."""
    return TOTAL_BUCKET, f"D#{timestamp[:10]}", f"H#{timestamp[:13]}"


def contribution(item: dict[str, Any]) -> dict[str, Decimal]:
    """What one stored reading adds to each rollup counter."""
    values = {name: Decimal(0) for name in COUNTERS}
    values.update(
        energy_generated_kwh=item["energy_generated_kwh"],
        energy_consumed_kwh=item["energy_consumed_kwh"],
        net_energy_kwh=item["net_energy_kwh"],
        readings=Decimal(1),
    )
    if item.get("anomaly"):
        values["anomalies"] = Decimal(1)
        values[f"anomalies_{item['severity'].lower()}"] = Decimal(1)
    return values


def rollup_changes(new_items: Sequence[dict[str, Any]], old_items: Sequence[dict[str, Any]]) -> dict[RollupKey, dict]:
    """Per (bucket, site): what writing ``new_items`` over ``old_items`` changes; unchanged ones left out."""
    changes: dict[RollupKey, dict[str, Decimal]] = defaultdict(lambda: {name: Decimal(0) for name in COUNTERS})
    with localcontext(prec=EXACT_DIGITS):
        for items, sign in ((new_items, 1), (old_items, -1)):
            for item in items:
                for name, value in contribution(item).items():
                    for bucket in buckets(item["timestamp"]):
                        changes[(bucket, item["site_id"])][name] += sign * value
        return {
            key: {name: _compact(value) for name, value in change.items()}
            for key, change in sorted(changes.items())
            if any(change.values())
        }


def _compact(value: Decimal) -> Decimal:
    """``value`` without trailing zeros, written without an exponent when it is a whole number below 1E+38."""
    value = value.normalize()
    return value.quantize(Decimal(1)) if value.as_tuple().exponent > 0 and value.adjusted() < 38 else value


def existing_readings(dynamodb: Any, table: str, items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    keys = [{"site_id": item["site_id"], "timestamp": item["timestamp"]} for item in items]
    return batch_get(dynamodb, table, keys)


def apply_rollup_changes(
    dynamodb: Any, table: str, changes: dict[RollupKey, dict], source_id: str, now: datetime
) -> int:
    """Add ``changes`` to the rollups once per ``source_id``; returns how many chunks were new."""
    applied = 0
    expires_at = int((now + MARKER_LIFETIME).timestamp())
    for number, chunk in enumerate(chunks(list(changes.items()), TRANSACTION_ITEMS - 1)):
        marker = {"bucket": f"applied#{source_id}", "site_id": f"chunk-{number:05d}", "expires_at": expires_at}
        actions = [
            {
                "Put": {
                    "TableName": table,
                    "Item": to_item(marker),
                    "ConditionExpression": "attribute_not_exists(#bucket)",
                    "ExpressionAttributeNames": {"#bucket": "bucket"},
                }
            }
        ]
        actions += [_rollup_update(table, key, change, now) for key, change in chunk]
        try:
            dynamodb.transact_write_items(TransactItems=actions)
            applied += 1
        except ClientError as error:
            if not _marker_exists(error):
                raise
    return applied


def _rollup_update(table: str, key: RollupKey, change: dict[str, Decimal], now: datetime) -> dict[str, Any]:
    bucket, site_id = key
    names = {f"#c{i}": name for i, name in enumerate(COUNTERS)}
    values = {f":c{i}": change[name] for i, name in enumerate(COUNTERS)}
    values.update({":period": _period(bucket), ":now": format_timestamp(now)})
    return {
        "Update": {
            "TableName": table,
            "Key": to_item({"bucket": bucket, "site_id": site_id}),
            "UpdateExpression": "ADD "
            + ", ".join(f"#c{i} :c{i}" for i in range(len(COUNTERS)))
            + " SET period = :period, updated_at = :now",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": to_item(values),
        }
    }


def _period(bucket: str) -> str:
    return {"T": "total", "D": "day", "H": "hour"}[bucket[0]]


def _marker_exists(error: ClientError) -> bool:
    """True when a transaction was cancelled only because its marker was already there."""
    if error.response["Error"]["Code"] != "TransactionCanceledException":
        return False
    reasons = error.response.get("CancellationReasons") or []
    if reasons:
        return reasons[0].get("Code") == "ConditionalCheckFailed"
    return "ConditionalCheckFailed" in error.response["Error"].get("Message", "")
