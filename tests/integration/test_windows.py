"""The aggregator in a tumbling window, against a real moto server: records are kept in the window's state and the
rollups are written once per item and window, each record once however often it comes or the final invocation
fails; the local stream player carries the state between invocations and ends windows on time."""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest

from energy_lib import query, rollups, window_state
from energy_lib.aggregator import handle_stream_event
from energy_lib.clients import client
from energy_lib.config import Settings
from energy_lib.workbook.infra.spec import AGGREGATOR
from energy_lib.workbook.local.stream import StreamRuntime
from tests.integration.harness import Pipeline, assert_rollups_exact, put, real_handlers
from tests.integration.test_aggregator import assert_holds, expected_from, forty_digits, held, reading, record

WINDOW = {"start": "2025-06-11T10:00:00Z", "end": "2025-06-11T10:15:00Z"}
EXPIRY_IDENTITY = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}  # as Lambda hands it


def window_event(records: list[dict[str, Any]], state: dict[str, Any], final: bool = False) -> dict[str, Any]:
    return {
        "Records": records,
        "window": WINDOW,
        "state": state,
        "shardId": "shardId-1",
        "eventSourceARN": "arn:aws:dynamodb:eu-west-1:123456789012:table/r/stream/2025-06-01T00:00:00.000",
        "isFinalInvokeForWindow": final,
        "isWindowTerminatedEarly": False,
    }


@contextmanager
def puts_by_bucket(dynamodb: Any) -> Iterator[Counter[str]]:
    """The PutItem requests ``dynamodb`` sends while in the block, counted per rollup bucket."""
    buckets: Counter[str] = Counter()

    def count(params: dict[str, Any], **_: Any) -> None:
        buckets[params["Item"]["bucket"]["S"]] += 1

    dynamodb.meta.events.register("provide-client-params.dynamodb.PutItem", count)
    try:
        yield buckets
    finally:
        dynamodb.meta.events.unregister("provide-client-params.dynamodb.PutItem", count)


def test_a_window_writes_each_rollup_item_once_when_it_ends(settings: Settings) -> None:
    # GIVEN three 5-minute readings of two sites, one batch each, and a correction of A's first
    a1 = reading("A", "2025-06-11T10:00:00Z", "1")
    batches = [
        [record(forty_digits(1), None, a1), record(forty_digits(2), None, reading("B", "2025-06-11T10:00:00Z", "2"))],
        [record(forty_digits(3), None, reading("A", "2025-06-11T10:05:00Z", "3"))],
        [
            record(forty_digits(4), None, reading("A", "2025-06-11T10:10:00Z", "-4")),  # an anomaly
            record(forty_digits(5), a1, reading("A", "2025-06-11T10:00:00Z", "1.5")),
        ],
    ]
    dynamodb = client("dynamodb", settings)
    state: dict[str, Any] = {}
    with puts_by_bucket(dynamodb) as puts:
        # WHEN the window's invocations come: nothing is written, the state grows
        for batch in batches:
            response = handle_stream_event(window_event(batch, state), dynamodb, settings.rollups_table)
            assert response["batchItemFailures"] == []
            state = response["state"]
        assert sum(puts.values()) == 0
        assert query.rollups(settings, dynamodb, ["T"]) == []
        assert state["records"] == 5
        # AND the final invocation: each of a site's three items written once
        final = handle_stream_event(window_event([], state, final=True), dynamodb, settings.rollups_table)
    assert final == {"batchItemFailures": [], "state": {}}
    assert puts == {"T": 2, "D#2025-06-11": 2, "H#2025-06-11T10": 2}
    # THEN the rollups hold every record once, valid and flagged apart
    assert_holds(settings, expected_from([r for batch in batches for r in batch]))
    total_a = held(settings, ("T", "A"))
    assert (total_a["readings"], total_a["energy_generated_kwh"], total_a["flagged_energy_generated_kwh"]) == (
        3,
        Decimal("4.5"),
        Decimal("-4"),
    )
    assert total_a["applied_sequence"] == rollups.padded(forty_digits(5))


def test_deletions_by_the_time_to_live_in_a_window_are_kept_out_of_its_state_and_its_rollups(
    settings: Settings,
) -> None:
    # GIVEN a window: A and B inserted, A deleted by the time to live, B deleted by a user, A's second reading
    a1, b1 = reading("A", "2025-06-11T10:00:00Z", "1"), reading("B", "2025-06-11T10:00:00Z", "2")
    expired = {**record(forty_digits(3), a1, None), "userIdentity": EXPIRY_IDENTITY}
    batches = [
        [record(forty_digits(1), None, a1), record(forty_digits(2), None, b1)],
        [expired, record(forty_digits(4), b1, None)],
        [record(forty_digits(5), None, reading("A", "2025-06-11T10:05:00Z", "3"))],
    ]
    dynamodb = client("dynamodb", settings)
    captured: list[dict[str, Any]] = []
    state: dict[str, Any] = {}
    for batch in batches:
        response = handle_stream_event(
            window_event(batch, state), dynamodb, settings.rollups_table, capture=captured.extend
        )
        state = response["state"]
    handle_stream_event(window_event([], state, final=True), dynamodb, settings.rollups_table)
    # THEN the expiry is neither in the state nor in the lake's capture, the user's deletion is in both
    assert state["records"] == 4 and expired not in captured and len(captured) == 4
    # AND A keeps both readings in its rollups, B none
    assert (held(settings, ("T", "A"))["readings"], held(settings, ("T", "A"))["energy_generated_kwh"]) == (2, 4)
    assert held(settings, ("T", "B"))["readings"] == 0


def test_a_record_handed_over_twice_in_a_window_counts_once(settings: Settings) -> None:
    batch = [record(forty_digits(n), None, reading("A", f"2025-06-11T10:{5 * n:02d}:00Z", "1")) for n in (1, 2)]
    dynamodb = client("dynamodb", settings)
    first = handle_stream_event(window_event(batch, {}), dynamodb, settings.rollups_table)["state"]
    again = handle_stream_event(window_event(batch[1:], first), dynamodb, settings.rollups_table)["state"]
    assert again["records"] == 2
    handle_stream_event(window_event([], again, final=True), dynamodb, settings.rollups_table)
    # and a final invocation handed over again (its success was lost) adds nothing
    handle_stream_event(window_event([], again, final=True), dynamodb, settings.rollups_table)
    assert held(settings, ("T", "A"))["readings"] == 2
    assert held(settings, ("H#2025-06-11T10", "A"))["energy_generated_kwh"] == 2


def test_a_final_invocation_that_fails_in_part_raises_and_its_retry_completes_it(settings: Settings) -> None:
    batch = [
        record(forty_digits(1), None, reading("A", "2025-06-11T10:00:00Z", "1")),
        record(forty_digits(2), None, reading("B", "2025-06-11T10:00:00Z", "2")),
        record(forty_digits(3), None, reading("B", "2025-06-11T10:05:00Z", "3")),
    ]
    dynamodb = client("dynamodb", settings)
    state = handle_stream_event(window_event(batch, {}), dynamodb, settings.rollups_table)["state"]
    failures = {"left": 1}

    def fail_once_on_b(params: dict[str, Any], **_: Any) -> None:
        item = params["Item"]
        if item["site_id"]["S"] == "B" and item["bucket"]["S"] == "D#2025-06-11" and failures["left"]:
            failures["left"] -= 1
            raise RuntimeError("throttled for good")

    dynamodb.meta.events.register("provide-client-params.dynamodb.PutItem", fail_once_on_b)
    try:
        with pytest.raises(RuntimeError, match="failed in part"):
            handle_stream_event(window_event([], state, final=True), dynamodb, settings.rollups_table)
    finally:
        dynamodb.meta.events.unregister("provide-client-params.dynamodb.PutItem", fail_once_on_b)
    assert held(settings, ("T", "A"))["readings"] == 1  # A is in; B is not (its all-time item waits)
    # WHEN Lambda retries the final invocation with the same state
    handle_stream_event(window_event([], state, final=True), dynamodb, settings.rollups_table)
    assert_holds(settings, expected_from(batch))


def test_a_record_it_cannot_read_or_a_failed_capture_fails_the_invocation_and_leaves_the_state(
    settings: Settings,
) -> None:
    good = record(forty_digits(1), None, reading("A", "2025-06-11T10:00:00Z", "1"))
    broken = copy.deepcopy(record(forty_digits(2), None, reading("A", "2025-06-11T10:05:00Z", "1")))
    broken["dynamodb"]["NewImage"]["energy_generated_kwh"] = {"S": "not a number"}
    dynamodb = client("dynamodb", settings)
    with pytest.raises(ValueError):
        handle_stream_event(window_event([good, broken], {}), dynamodb, settings.rollups_table)

    def unreachable(records: list[dict[str, Any]]) -> None:
        raise ConnectionError("S3 is unreachable")

    with pytest.raises(ConnectionError):
        handle_stream_event(window_event([good], {}), dynamodb, settings.rollups_table, capture=unreachable)
    assert query.rollups(settings, dynamodb, ["T"]) == []


def test_a_state_past_its_limit_is_written_to_the_rollups_before_the_window_ends(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = [record(forty_digits(n), None, reading(f"S{n}", "2025-06-11T10:00:00Z", str(n))) for n in range(1, 31)]
    ten: window_state.Pending = {}
    window_state.add(ten, batch[:10])
    monkeypatch.setattr(window_state, "LIMIT_BYTES", window_state.encoded_bytes(window_state.encode(ten)) + 50)
    dynamodb = client("dynamodb", settings)
    state: dict[str, Any] = {}
    for start in range(0, len(batch), 10):
        state = handle_stream_event(window_event(batch[start : start + 10], state), dynamodb, settings.rollups_table)[
            "state"
        ]
    # the second batch took the state past its limit: the first 20 records are in, the last 10 wait
    assert len({row["site_id"] for row in query.rollups(settings, dynamodb, ["T"])}) == 20
    assert state["records"] == 10
    handle_stream_event(window_event([], state, final=True), dynamodb, settings.rollups_table)
    assert_holds(settings, expected_from(batch))


def test_the_local_player_carries_the_state_and_ends_each_window_on_time(settings: Settings) -> None:
    # GIVEN the stream player on a clock the test moves, ending windows on time only (as on AWS)
    ingest, aggregate = real_handlers(settings)
    pipeline = Pipeline(settings)
    now = {"t": 1749636000.0}  # 2025-06-11T10:00:00Z
    player = StreamRuntime(settings, handler=aggregate, retry_s=0, clock=lambda: now["t"], close_when_idle=False)
    dynamodb = client("dynamodb", settings)
    # WHEN three files of one 5-minute reading each come within one window
    for minute in (0, 5, 10):
        now["t"] = 1749636000.0 + minute * 60 + 10
        put(
            settings,
            f"raw/a-{minute}.json",
            f'[{{"site_id": "A", "timestamp": "2025-06-11T10:{minute:02d}:00Z", '
            f'"energy_generated_kwh": "{minute + 1}", "energy_consumed_kwh": "1"}}]'.encode(),
        )
        while pipeline.ingest.poll_once(wait_s=0):
            pass
        while player.poll_once():
            pass
    # THEN nothing is in the rollups while the window is open
    assert query.rollups(settings, dynamodb, ["T"]) == []
    assert player.windows and player.invocations == 3
    # WHEN the clock passes the window's end
    now["t"] = 1749636000.0 + AGGREGATOR.tumbling_window_s
    assert player.poll_once() == 1  # the final invocation
    assert not player.windows
    assert assert_rollups_exact(settings) == 3
    assert held(settings, ("T", "A"))["energy_generated_kwh"] == 1 + 6 + 11


def test_a_failing_final_invocation_keeps_the_window_open_until_one_succeeds(settings: Settings) -> None:
    _, aggregate = real_handlers(settings)
    calls = {"final": 0}

    def flaky(event: dict[str, Any], context: Any) -> Any:
        if event.get("isFinalInvokeForWindow"):
            calls["final"] += 1
            if calls["final"] < 3:
                raise TimeoutError("the final invocation timed out")
        return aggregate(event, context)

    pipeline = Pipeline(settings, aggregator=flaky)
    put(
        settings,
        "raw/a.json",
        b'[{"site_id": "A", "timestamp": "2025-06-11T10:00:00Z", '
        b'"energy_generated_kwh": "2", "energy_consumed_kwh": "1"}]',
    )
    pipeline.drain()
    assert calls["final"] == 3 and not pipeline.stream.windows
    assert assert_rollups_exact(settings) == 3  # its hour, day and all-time items
