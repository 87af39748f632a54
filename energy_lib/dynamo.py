"""Small helpers over the DynamoDB low-level client: item conversion and batched reads and writes.

Batches follow DynamoDB's limits (25 writes, 100 keys a request); writes may go several requests at a time
(boto3 clients are thread-safe). Unprocessed items are sent again with a growing pause, a bounded number of
times: DynamoDB reports them in a successful response, so botocore's retries never see them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from energy_lib.errors import EnergyError

WRITE_BATCH = 25
READ_BATCH = 100
UNPROCESSED_ROUNDS = 8
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


class UnprocessedItems(EnergyError):
    """DynamoDB still returned unprocessed items after every round."""


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    return {name: _serializer.serialize(value) for name, value in values.items()}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _pause(round_number: int) -> None:
    time.sleep(min(0.05 * 2**round_number, 2.0))


def _rounds(send: Callable[..., dict[str, Any]], table: str, pending: Any, leftover: str) -> Iterator[dict[str, Any]]:
    """Each response of ``send`` for ``pending`` (the request of ``table``), sent again with what the response
    leaves under ``leftover``, after a growing pause, until nothing is left; at most UNPROCESSED_ROUNDS times."""
    for round_number in range(UNPROCESSED_ROUNDS):
        response = send(RequestItems={table: pending})
        yield response
        pending = (response.get(leftover) or {}).get(table)
        if not pending:
            return
        _pause(round_number)
    left = len(pending["Keys"] if isinstance(pending, dict) else pending)
    raise UnprocessedItems(f"{left} {leftover} of {table} stayed unprocessed after {UNPROCESSED_ROUNDS} rounds")


def batch_put(dynamodb: Any, table: str, items: Sequence[dict[str, Any]], writers: int = 1) -> None:
    """Write ``items`` (plain values) with BatchWriteItem, 25 a request, up to ``writers`` requests at a time."""
    batches = list(chunks(items, WRITE_BATCH))
    if writers > 1 and len(batches) > 1:
        with ThreadPoolExecutor(min(writers, len(batches))) as pool:
            # each request in a copy of the caller's context, so what observes the caller sees it too
            futures = [pool.submit(copy_context().run, _write_batch, dynamodb, table, batch) for batch in batches]
            for future in futures:
                future.result()  # an error of any request is raised here
    else:
        for batch in batches:
            _write_batch(dynamodb, table, batch)


def _write_batch(dynamodb: Any, table: str, batch: Sequence[dict[str, Any]]) -> None:
    puts = [{"PutRequest": {"Item": to_item(item)}} for item in batch]
    for _ in _rounds(dynamodb.batch_write_item, table, puts, "UnprocessedItems"):
        pass


def batch_get(dynamodb: Any, table: str, keys: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Read the items at ``keys`` (plain values) with BatchGetItem, 100 a request; missing keys are absent."""
    found: list[dict[str, Any]] = []
    for batch in chunks(keys, READ_BATCH):
        request = {"Keys": [to_item(key) for key in batch], "ConsistentRead": True}
        for response in _rounds(dynamodb.batch_get_item, table, request, "UnprocessedKeys"):
            found += [from_item(item) for item in response["Responses"].get(table, [])]
    return found


def query_pages(dynamodb: Any, cost: Cost | None = None, **request: Any) -> Iterator[dict[str, Any]]:
    """Every item a Query returns, following LastEvaluatedKey; counts requests and items in ``cost``."""
    request.setdefault("ReturnConsumedCapacity", "TOTAL")
    while True:
        response = dynamodb.query(**request)
        if cost is not None:
            cost.add(response)
        for item in response["Items"]:
            yield from_item(item)
        if "LastEvaluatedKey" not in response:
            return
        request["ExclusiveStartKey"] = response["LastEvaluatedKey"]


class Cost:
    """What queries cost: requests sent, items DynamoDB read (ScannedCount), items returned. Queries sent from
    several threads may share one."""

    def __init__(self) -> None:
        self.requests = 0
        self.items_read = 0
        self.items_returned = 0
        self._lock = threading.Lock()  # queries may run in threads

    def add(self, response: dict[str, Any]) -> None:
        with self._lock:
            self.requests += 1
            self.items_read += response.get("ScannedCount", response.get("Count", 0))
            self.items_returned += response.get("Count", 0)

    @property
    def read_ratio(self) -> float:
        """Items read per item returned; 1.0 means nothing was read in vain."""
        return self.items_read / self.items_returned if self.items_returned else float(self.items_read == 0)
