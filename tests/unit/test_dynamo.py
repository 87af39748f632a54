"""Batched reads and writes send again what DynamoDB left unprocessed (moto never leaves any, so a client
that answers like DynamoDB under throttling stands in for it here)."""

from __future__ import annotations

from typing import Any

from energy_lib.dynamo import batch_get, batch_put


class Throttled:
    """Leaves the last ``keep`` entries of each request unprocessed, ``rounds`` times; records the requests."""

    def __init__(self, keep: int, rounds: int) -> None:
        self.keep, self.rounds, self.requests = keep, rounds, []

    def _split(self, entries: list[Any]) -> tuple[list[Any], list[Any]]:
        throttled = len(self.requests) <= self.rounds
        return (entries[: -self.keep], entries[-self.keep :]) if throttled else (entries, [])

    def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:  # noqa: N803 - boto3's name
        self.requests.append(RequestItems)
        [(table, puts)] = RequestItems.items()
        _, left = self._split(puts)
        return {"UnprocessedItems": {table: left} if left else {}}

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:  # noqa: N803
        self.requests.append(RequestItems)
        [(table, request)] = RequestItems.items()
        done, left = self._split(request["Keys"])
        unprocessed = {table: {**request, "Keys": left}} if left else {}
        return {
            "Responses": {table: [{**key, "found": {"BOOL": True}} for key in done]},
            "UnprocessedKeys": unprocessed,
        }


def test_writes_left_unprocessed_are_sent_again_until_none_is_left() -> None:
    client = Throttled(keep=2, rounds=2)
    batch_put(client, "t", [{"k": str(n)} for n in range(5)])
    sent = [[put["PutRequest"]["Item"]["k"]["S"] for put in request["t"]] for request in client.requests]
    assert sent == [["0", "1", "2", "3", "4"], ["3", "4"], ["3", "4"]]


def test_reads_left_unprocessed_are_read_again_and_every_item_is_returned_once() -> None:
    client = Throttled(keep=1, rounds=1)
    found = batch_get(client, "t", [{"k": str(n)} for n in range(3)])
    assert sorted(item["k"] for item in found) == ["0", "1", "2"]
    assert all(item["found"] for item in found)
    assert [len(request["t"]["Keys"]) for request in client.requests] == [3, 1]
    assert all(request["t"]["ConsistentRead"] for request in client.requests)
