"""Summaries exact to the moment they are asked, against a real moto server: the rollups plus the readings stored
after their watermarks, with the aggregator's tumbling window open (the local stream player on a clock the test
moves, as on AWS). Every summary equals the stored readings; no reading counts both in a rollup and in the tail,
whenever the aggregator writes (between the summary's reads, between its own hour, day and all-time writes, or
all the time from another thread); and the result says how fresh it is."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import boto3
import pytest

from energy_lib import query, rollups
from energy_lib.aggregator import handle_stream_event
from energy_lib.clients import client
from energy_lib.config import Settings
from energy_lib.workbook import simulator
from energy_lib.workbook.infra.spec import AGGREGATOR
from energy_lib.workbook.sites import registry
from tests.integration.harness import Pipeline, put

pytestmark = pytest.mark.stack

T0 = 1749636000.0  # 2025-06-11T10:00:00Z, where the test's clock starts
WINDOW_S = AGGREGATOR.tumbling_window_s
ASKED_AT = datetime(2025, 6, 11, 10, 22, 7, tzinfo=timezone.utc)
RANGES = (
    (None, None),
    ("2025-06-11T10:00:00Z", "2025-06-11T11:00:00Z"),
    ("2025-06-11T00:00:00Z", "2025-06-12T00:00:00Z"),
    ("2025-06-10T23:00:00Z", "2025-06-11T11:00:00Z"),  # an hour, then a day cut short: hour items at both edges
)


class Clock:
    """The stream player's clock, moved by the test."""

    def __init__(self) -> None:
        self.t = T0 + 10

    def __call__(self) -> float:
        return self.t


def snapshot(minute: int, values: dict[str, str]) -> bytes:
    """A fleet snapshot file: one reading per site at 10:00 + ``minute`` (2025-06-11)."""
    stamp = f"2025-06-11T{10 + minute // 60:02d}:{minute % 60:02d}:00Z"
    rows = [
        {"site_id": site, "timestamp": stamp, "energy_generated_kwh": value, "energy_consumed_kwh": "1"}
        for site, value in values.items()
    ]
    return json.dumps(rows).encode()


def store(settings: Settings, pipeline: Pipeline, key: str, body: bytes) -> None:
    """Upload a file, let the ingest store it, and hand its stream records to the aggregator (kept in the open
    window's state: nothing reaches the rollups before the window ends)."""
    put(settings, key, body)
    pipeline.hand_over()


def truth(settings: Settings, sites: list[str], start: str | None, end: str | None) -> dict[str, dict[str, Any]]:
    """Per site, the rollup counters of its stored readings in ``[start, end)``, from the readings table."""
    dynamodb = client("dynamodb", settings)
    result = {}
    for site in sites:
        totals = rollups.zero()
        for reading in query.readings(settings, dynamodb, site, start, end):
            for name, value in rollups.contribution(reading).items():
                totals[name] += value
        if totals["readings"]:
            result[site] = totals
    return result


def counters(summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["site_id"]: {name: row[name] for name in rollups.COUNTERS} for row in summary["sites"]}


def inexact_ranges(settings: Settings, sites: list[str], dynamodb: Any) -> list[tuple[str | None, str | None]]:
    """The ranges whose summary differs from the stored readings."""
    return [
        (start, end)
        for start, end in RANGES
        if counters(query.summary(settings, dynamodb, start, end)) != truth(settings, sites, start, end)
    ]


def assert_exact(settings: Settings, sites: list[str]) -> list[dict[str, Any]]:
    """Every range's summary equals the stored readings; returns the summaries."""
    summaries = []
    for start, end in RANGES:
        summary = query.summary(settings, client("dynamodb", settings), start, end)
        assert counters(summary) == truth(settings, sites, start, end), (start, end)
        summaries.append(summary)
    return summaries


def test_a_summary_adds_the_open_window_and_says_how_fresh_it_is(settings: Settings) -> None:
    # GIVEN readings at 10:00 and 10:05 rolled up when their window ended, then 10:15 and 10:20 in the open window
    clock = Clock()
    pipeline = Pipeline(settings, clock=clock, close_when_idle=False)
    dynamodb = client("dynamodb", settings)
    for minute, values in ((0, {"A": "1", "B": "-2"}), (5, {"A": "3", "B": "4"})):
        store(settings, pipeline, f"raw/{minute}.json", snapshot(minute, values))
    clock.t = T0 + WINDOW_S + 10
    assert pipeline.stream.poll_once() == 1 and not pipeline.stream.windows  # the window's final invocation
    for minute, values in ((15, {"A": "5", "B": "6"}), (20, {"A": "7.25", "B": "8"})):
        store(settings, pipeline, f"raw/{minute}.json", snapshot(minute, values))
    assert pipeline.stream.windows  # open: the rollups hold two readings a site, the table four
    assert {row["site_id"]: row["readings"] for row in query.rollups(settings, dynamodb, ["T"])} == {"A": 2, "B": 2}

    # WHEN the summaries are asked
    result = query.summary(settings, dynamodb, now=lambda: ASKED_AT)
    summaries = assert_exact(settings, ["A", "B"])

    # THEN each is exact (every reading of the table counted once) and says what came after the rollups
    assert result["complete_through"] == "2025-06-11T10:22:07Z"
    assert result["fleet"]["readings"] == 8 and result["fleet"]["readings_after_rollups"] == 4
    assert result["fleet"]["energy_generated_kwh"] == Decimal("1") + 3 + 5 + Decimal("7.25") + 4 + 6 + 8
    assert result["fleet"]["rolled_up_through"] == "2025-06-11T10:05:00Z"
    assert [(r["site_id"], r["rolled_up_through"], r["readings_after_rollups"]) for r in result["sites"]] == [
        ("A", "2025-06-11T10:05:00Z", 2),
        ("B", "2025-06-11T10:05:00Z", 2),
    ]
    assert all(s["fleet"]["readings_after_rollups"] == 4 for s in summaries)

    # WHEN the window ends
    clock.t = T0 + 2 * WINDOW_S + 10
    assert pipeline.stream.poll_once() == 1
    after = query.summary(settings, dynamodb, now=lambda: ASKED_AT)

    # THEN the same totals, all from the rollups now, rolled up through the moment asked
    assert counters(after) == counters(result)
    assert after["fleet"]["readings_after_rollups"] == 0
    assert after["fleet"]["rolled_up_through"] == after["complete_through"] == "2025-06-11T10:22:07Z"
    assert [r["rolled_up_through"] for r in after["sites"]] == ["2025-06-11T10:20:00Z"] * 2
    assert_exact(settings, ["A", "B"])


def separate_client(settings: Settings) -> Any:
    """A DynamoDB client of its own (``energy_lib.clients.client`` hands the same one to equal settings), so that
    a hook on it sees only the aggregator's calls."""
    return boto3.session.Session().client(
        "dynamodb",
        endpoint_url=settings.endpoint,
        region_name=settings.region,
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106  # pragma: allowlist secret (moto's placeholder)
    )


def test_a_summary_read_between_the_aggregators_writes_counts_no_reading_twice(settings: Settings) -> None:
    # GIVEN four sites with a rolled-up window and an open one, the aggregator on a client the test watches
    writer = separate_client(settings)
    sites = ["A", "B", "C", "D"]
    clock = Clock()
    pipeline = Pipeline(
        settings,
        aggregator=lambda event, _: handle_stream_event(event, writer, settings.rollups_table),
        clock=clock,
        close_when_idle=False,
    )
    for minute in (0, 5, 15, 20, 25):
        if minute == 15:
            clock.t = T0 + WINDOW_S + 10
            pipeline.stream.poll_once()
        values = {site: f"{minute}.{i}" for i, site in enumerate(sites)}
        store(settings, pipeline, f"raw/{minute}.json", snapshot(minute, values))
    seen: list[tuple[str, str]] = []
    inexact: list[Any] = []
    reader = client("dynamodb", settings)

    def summary_now(params: dict[str, Any], **_: Any) -> None:
        # WHEN a summary of every range is read before each rollup write of the window's end
        seen.append((params["Item"]["bucket"]["S"], params["Item"]["site_id"]["S"]))
        inexact.extend(inexact_ranges(settings, sites, reader))

    writer.meta.events.register("provide-client-params.dynamodb.PutItem", summary_now)
    clock.t = T0 + 2 * WINDOW_S + 10
    assert pipeline.stream.poll_once() == 1

    # THEN every summary was exact: between a site's hour, day and all-time writes too
    assert len(seen) == 3 * len(sites) and not pipeline.stream.windows
    assert {bucket for bucket, _ in seen} == {"T", "D#2025-06-11", "H#2025-06-11T10"}
    assert inexact == []
    assert query.summary(settings, reader)["fleet"]["readings_after_rollups"] == 0
    assert_exact(settings, sites)


def test_a_window_that_ends_between_a_summarys_reads_counts_no_reading_twice(settings: Settings) -> None:
    # GIVEN an open window with two readings a site, and a summary about to read its range's rollup items
    clock = Clock()
    pipeline = Pipeline(settings, clock=clock, close_when_idle=False)
    for minute in (0, 5):
        store(settings, pipeline, f"raw/{minute}.json", snapshot(minute, {"A": "1", "B": "2"}))
    dynamodb = client("dynamodb", settings)
    closed = []

    def end_the_window(params: dict[str, Any], **_: Any) -> None:
        bucket = params["ExpressionAttributeValues"].get(":bucket", {}).get("S")
        if params["TableName"] == settings.rollups_table and bucket not in (None, "T") and not closed:
            closed.append(bucket)
            clock.t = T0 + WINDOW_S + 10
            assert pipeline.stream.poll_once() == 1  # the aggregator writes everything right now

    # WHEN the window ends after the summary read the all-time items (none yet) and before the others
    dynamodb.meta.events.register("provide-client-params.dynamodb.Query", end_the_window)
    try:
        result = query.summary(settings, dynamodb, "2025-06-11T10:00:00Z", "2025-06-11T11:00:00Z")
    finally:
        dynamodb.meta.events.unregister("provide-client-params.dynamodb.Query", end_the_window)

    # THEN it counted each reading once: the hour items' own watermarks keep the tail from adding them again
    assert closed == ["H#2025-06-11T10"]
    assert counters(result) == truth(settings, ["A", "B"], "2025-06-11T10:00:00Z", "2025-06-11T11:00:00Z")
    assert result["fleet"]["readings"] == 4 and result["fleet"]["readings_after_rollups"] == 0
    assert [r["rolled_up_through"] for r in result["sites"]] == [None, None]  # the all-time items read were none


def test_summaries_read_while_files_arrive_and_windows_end_count_each_reading_once(settings: Settings) -> None:
    # GIVEN a producer storing one fleet snapshot after another (one a simulated 5 minutes), windows ending on
    # the clock in another thread; reading k of a site is 3**k / 10**9 kWh, so any count twice or any gap between
    # counted readings changes the sum
    sites = ["S1", "S2", "S3"]
    files = 24
    value = [Decimal(3**k) / 10**9 for k in range(files)]
    clock = Clock()
    pipeline = Pipeline(settings, clock=clock, close_when_idle=False)
    done = threading.Event()
    lock = threading.Lock()
    failures: list[BaseException] = []

    def producer() -> None:
        try:
            for k in range(files):
                put(settings, f"raw/{k}.json", snapshot(5 * k, {site: str(value[k]) for site in sites}))
                while pipeline.ingest.poll_once(wait_s=0):
                    pass
                with lock:
                    clock.t = T0 + 300 * (k + 1) + 10
        except BaseException as error:  # noqa: BLE001 - reported by the test
            failures.append(error)
        finally:
            done.set()

    def aggregator() -> None:
        try:
            while True:
                handed = pipeline.stream.poll_once()
                if done.is_set() and not handed:
                    return
                if not handed:
                    done.wait(0.05)  # as the player's own loop pauses when the stream has nothing new
        except BaseException as error:  # noqa: BLE001 - reported by the test
            failures.append(error)

    threads = [threading.Thread(target=producer), threading.Thread(target=aggregator)]
    for thread in threads:
        thread.start()
    # WHEN summaries are read all the while
    dynamodb = client("dynamodb", settings)
    counted: dict[tuple[str | None, str | None], int] = {}
    asked = 0
    while not done.is_set() or asked < 3:
        asked += 1
        for start, end in RANGES:
            summary = query.summary(settings, dynamodb, start, end)
            for site in sites:
                row = next((r for r in summary["sites"] if r["site_id"] == site), None)
                n = row["readings"] if row else 0
                generated = row["energy_generated_kwh"] + row["flagged_energy_generated_kwh"] if row else 0
                # THEN each counts a site's first n readings (every range starts by 10:00), each once, and never
                # fewer than a summary before it
                assert generated == sum(value[:n]), (start, end, site, n)
                assert n >= counted.get((start, site), 0)
                counted[(start, site)] = n
    for thread in threads:
        thread.join()
    assert not failures
    assert asked > 3
    clock.t += WINDOW_S
    while pipeline.stream.poll_once():
        pass
    summaries = assert_exact(settings, sites)
    assert summaries[0]["fleet"]["readings"] == files * len(sites)
    assert summaries[0]["fleet"]["readings_after_rollups"] == 0


def test_a_registered_site_shows_at_once_and_an_unregistered_one_when_rolled_up(settings: Settings) -> None:
    # GIVEN a registered site and one that is not, each with its first readings in the open window
    [site] = simulator.registry_entries(simulator.default_fleet(1), 5)
    registry.put_sites(settings, client("dynamodb", settings), [site])
    clock = Clock()
    pipeline = Pipeline(settings, clock=clock, close_when_idle=False)
    store(settings, pipeline, "raw/0.json", snapshot(0, {site.site_id: "2", "NEWCOMER": "3"}))
    dynamodb = client("dynamodb", settings)

    # WHEN the summary and the sites are asked right then (10:22)
    result = query.summary(settings, dynamodb, now=lambda: ASKED_AT)

    # THEN the registered one is there, not rolled up yet, from the registry; the unregistered one is not looked for
    # (no index by day: it would cost a write unit per reading), as the module's docstring says
    assert [(r["site_id"], r["rolled_up_through"], r["readings_after_rollups"]) for r in result["sites"]] == [
        (site.site_id, None, 1),
    ]
    assert result["fleet"]["rolled_up_through"] == "2025-06-11T09:59:59Z"  # nothing of it in the rollups
    assert query.sites(settings, dynamodb) == [site.site_id]
    # AND once the window ends both are, exactly
    clock.t = T0 + WINDOW_S + 10
    pipeline.stream.poll_once()
    assert query.sites(settings, dynamodb) == ["NEWCOMER", site.site_id]
    assert_exact(settings, [site.site_id, "NEWCOMER"])


def test_a_late_reading_counts_once_when_its_window_ends(settings: Settings) -> None:
    # GIVEN rollups through 10:05, then in the open window a new reading at 10:15 and a correction of 10:00
    clock = Clock()
    pipeline = Pipeline(settings, clock=clock, close_when_idle=False)
    for minute in (0, 5):
        store(settings, pipeline, f"raw/{minute}.json", snapshot(minute, {"A": "1"}))
    clock.t = T0 + WINDOW_S + 10
    pipeline.stream.poll_once()
    store(settings, pipeline, "raw/15.json", snapshot(15, {"A": "4"}))
    store(settings, pipeline, "raw/0.json", snapshot(0, {"A": "10"}))  # a new version: 10:00 is 10 kWh now
    dynamodb = client("dynamodb", settings)

    # WHEN the summary is asked with the window open
    open_window = query.summary(settings, dynamodb)["fleet"]

    # THEN the new reading is in, the correction of a time the rollups passed is not yet, and nothing twice
    assert (open_window["readings"], open_window["energy_generated_kwh"]) == (3, 1 + 1 + 4)
    clock.t = T0 + 2 * WINDOW_S + 10
    pipeline.stream.poll_once()
    closed = query.summary(settings, dynamodb)["fleet"]
    assert (closed["readings"], closed["energy_generated_kwh"]) == (3, 10 + 1 + 4)
    assert_exact(settings, ["A"])
