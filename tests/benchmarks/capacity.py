"""Write and read units by DynamoDB's own rules, from the items a client really writes and reads.

- An item's size: the UTF-8 length of each attribute name plus its value: a string's UTF-8 bytes, a number's
  significant digits / 2 rounded up + 1, 1 for a boolean or null, 3 + its elements for a list or map.
- A write costs 1 WRU per started 1 KB of the larger of the item before and after; a conditional write that
  fails costs what it would have. Every global secondary index the item is in costs the same again, for the
  projected part (ours project ALL); an index whose key changes costs a delete and a put.
- A strongly consistent read costs 1 RRU per started 4 KB per item read (BatchGetItem, GetItem), an eventually
  consistent one half that; a GetItem that finds nothing costs as much as one that finds an item.

:class:`Meter` hooks a boto3 client: before each write it reads the items as they are (with a client of its
own, not counted), after it reads them as they became, and it books the units per table and index.
"""

from __future__ import annotations

import math
import threading
from collections import defaultdict
from decimal import Decimal
from typing import Any

import boto3
from boto3.dynamodb.types import TypeSerializer

from energy_lib.config import Settings
from energy_lib.schema import TABLES

_serializer = TypeSerializer()


def value_size(value: dict[str, Any]) -> int:
    """The size of one attribute value in DynamoDB JSON (``{"S": ...}``, ``{"N": ...}``, ...)."""
    kind, content = next(iter(value.items()))
    if kind == "S":
        return len(content.encode())
    if kind == "N":
        digits = Decimal(content).normalize().as_tuple().digits
        return math.ceil(len(digits) / 2) + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return 3 + sum(value_size(v) for v in content)
    if kind == "M":
        return 3 + item_size(content)
    if kind == "B":
        return len(content)
    raise ValueError(f"no size rule for {kind}")


def item_size(item: dict[str, Any]) -> int:
    """The size of an item in DynamoDB JSON, by DynamoDB's rules. [bytes]"""
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def write_units(before: dict[str, Any] | None, after: dict[str, Any] | None) -> int:
    return math.ceil(max(item_size(before or {}), item_size(after or {}), 1) / 1024)


class Meter:
    """Write and read units one client spends, per table and per index (``table/index``), with requests."""

    def __init__(self, settings: Settings, dynamodb: Any) -> None:
        self.dynamodb = dynamodb
        self.peek = boto3.client(
            "dynamodb",
            endpoint_url=settings.endpoint,
            region_name=settings.region,
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106  # pragma: allowlist secret (moto's placeholder)
        )
        self.tables = {getattr(settings, t.setting): t for t in TABLES}
        self.keys = {name: (t.partition_key, t.sort_key) for name, t in self.tables.items()}
        self.wru: dict[str, float] = defaultdict(float)
        self.rru: dict[str, float] = defaultdict(float)
        self.requests: dict[str, int] = defaultdict(int)
        self.items_written: dict[str, int] = defaultdict(int)
        self.sizes: dict[str, list[int]] = defaultdict(list)
        self._calls = threading.local()  # the writes of the request in flight, per thread: ingest writes in parallel
        self._lock = threading.Lock()

    def __enter__(self) -> Meter:
        events = self.dynamodb.meta.events
        events.register("provide-client-params.dynamodb", self._before, unique_id="meter-before")
        events.register("after-call.dynamodb", self._after, unique_id="meter-after")
        return self

    def __exit__(self, *_: object) -> None:
        events = self.dynamodb.meta.events
        events.unregister("provide-client-params.dynamodb", unique_id="meter-before")
        events.unregister("after-call.dynamodb", unique_id="meter-after")

    def _key(self, table: str, item: dict[str, Any]) -> dict[str, Any]:
        return {name: item[name] for name in self.keys[table] if name in item}

    def _current(self, writes: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any] | None]:
        """The items at (table, key) as they are now, read with BatchGetItem (not counted)."""
        found: dict[tuple[str, str], dict[str, Any]] = {}
        for start in range(0, len(writes), 100):
            pending: dict[str, Any] = defaultdict(lambda: {"Keys": [], "ConsistentRead": True})
            for table, key in writes[start : start + 100]:
                pending[table]["Keys"].append(key)
            while pending:
                response = self.peek.batch_get_item(RequestItems=dict(pending))
                for table, items in response["Responses"].items():
                    found.update({(table, repr(self._key(table, i))): i for i in items})
                pending = response.get("UnprocessedKeys") or {}
        return [found.get((table, repr(self._key(table, key)))) for table, key in writes]

    def _before(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        operation = model.name
        with self._lock:
            self.requests[operation] += 1
        writes: list[tuple[str, dict]] = []
        if operation == "GetItem":
            self._calls.read = (params["TableName"], bool(params.get("ConsistentRead")))
        if operation == "BatchWriteItem":
            for table, requests in params["RequestItems"].items():
                writes += [(table, self._key(table, r["PutRequest"]["Item"])) for r in requests if "PutRequest" in r]
        elif operation in ("PutItem", "UpdateItem", "DeleteItem"):
            table = params["TableName"]
            writes.append((table, params["Key"] if "Key" in params else self._key(table, params["Item"])))
        befores = self._current(writes)
        self._calls.pending = [(table, key, before) for (table, key), before in zip(writes, befores, strict=True)]

    def _after(self, model: Any, parsed: dict[str, Any], **_: Any) -> None:
        operation = model.name
        if operation == "BatchGetItem":
            with self._lock:
                for table, items in parsed.get("Responses", {}).items():
                    self.rru[table] += sum(math.ceil(max(item_size(i), 1) / 4096) for i in items)
            return
        if operation == "GetItem":
            table, consistent = self._calls.read
            with self._lock:
                self.rru[table] += (1.0 if consistent else 0.5) * math.ceil(
                    max(item_size(parsed.get("Item") or {}), 1) / 4096
                )
            return
        pending, self._calls.pending = getattr(self._calls, "pending", []), []
        afters = self._current([(table, key) for table, key, _ in pending])
        with self._lock:
            for (table, _, before), after in zip(pending, afters, strict=True):
                self._book(table, before, after, failed="Error" in parsed)

    def _book(self, table: str, before: dict | None, after: dict | None, failed: bool) -> None:
        self.wru[table] += write_units(before, after)
        self.items_written[table] += 1
        if after:
            self.sizes[table].append(item_size(after))
        if failed or before == after:  # an index is written only when its item changes
            return
        for index in self.tables[table].indexes:
            keys = (index.partition_key, index.sort_key)
            old_in = bool(before) and all(k in before for k in keys)
            new_in = bool(after) and all(k in after for k in keys)
            name = f"{table}/{index.name}"
            if old_in and new_in and any(before[k] != after[k] for k in keys):
                self.wru[name] += write_units(before, None) + write_units(None, after)  # moved: delete and put
            elif old_in or new_in:
                self.wru[name] += write_units(before if old_in else None, after if new_in else None)
