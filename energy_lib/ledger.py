"""The ingest ledger: one entry per source object version (key + ETag) with its status and counts.

For every processed file ``read == stored + quarantined``. An entry in a final status makes a
re-delivered notification a no-op.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from energy_lib.dynamo import from_item, to_item
from energy_lib.schema import FAILED, FINAL_STATUSES, PROCESSING
from energy_lib.timeutil import format_timestamp

ERROR_LIMIT = 1000  # characters of an error message kept in the ledger


@dataclass(frozen=True, slots=True)
class Counts:
    read: int = 0
    stored: int = 0
    quarantined: int = 0
    anomalies: int = 0


def claim(dynamodb: Any, table: str, key: str, etag: str, now: datetime) -> dict[str, Any] | None:
    """Mark the object as being processed; None when it already reached a final status, else the entry
    as an earlier, unfinished attempt left it (``{}`` on the first attempt)."""
    try:
        response = dynamodb.update_item(
            TableName=table,
            Key=to_item({"source_key": key, "etag": etag}),
            UpdateExpression="SET #status = :processing, updated_at = :now ADD attempts :one",
            ConditionExpression="attribute_not_exists(source_key) OR NOT #status IN (:final0, :final1)",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=to_item(
                {
                    ":processing": PROCESSING,
                    ":now": format_timestamp(now),
                    ":one": 1,
                    ":final0": FINAL_STATUSES[0],
                    ":final1": FINAL_STATUSES[1],
                }
            ),
            ReturnValues="ALL_OLD",
        )
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return None
        raise
    return from_item(response.get("Attributes", {}))


def record_alert(dynamodb: Any, table: str, key: str, etag: str, alert_id: str) -> None:
    """Remember that the object's alert went out, so a retry of the object does not send it again."""
    dynamodb.update_item(
        TableName=table,
        Key=to_item({"source_key": key, "etag": etag}),
        UpdateExpression="SET alert_id = :alert_id",
        ExpressionAttributeValues=to_item({":alert_id": alert_id}),
    )


def finish(
    dynamodb: Any, table: str, key: str, etag: str, status: str, counts: Counts, now: datetime, error: str = ""
) -> None:
    """Record the outcome of one attempt."""
    values: dict[str, Any] = {":status": status, ":now": format_timestamp(now), ":error": error[:ERROR_LIMIT]}
    values.update({f":{name}": value for name, value in asdict(counts).items()})
    dynamodb.update_item(
        TableName=table,
        Key=to_item({"source_key": key, "etag": etag}),
        UpdateExpression="SET #status = :status, updated_at = :now, #error = :error, "
        + ", ".join(f"#{name} = :{name}" for name in asdict(counts)),
        ExpressionAttributeNames={"#status": "status", "#error": "error", **{f"#{n}": n for n in asdict(counts)}},
        ExpressionAttributeValues=to_item(values),
    )


def fail(dynamodb: Any, table: str, key: str, etag: str, now: datetime, error: str) -> None:
    finish(dynamodb, table, key, etag, FAILED, Counts(), now, error)
