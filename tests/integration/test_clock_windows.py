"""The local stack playing the rollups' windows on a real clock (``energy-workbook local up --windows clock``), as
AWS does: readings stored in the open window are not in the rollups, and ``query summary`` adds them, saying so."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from energy_lib import query, raw_objects, timeutil
from energy_lib.clients import client
from energy_lib.schema import FINAL_STATUSES
from tests.conftest import free_port
from tests.integration.test_local_stack import Stack

pytestmark = pytest.mark.stack

SITES = ("CLOCK_A", "CLOCK_B")


@pytest.fixture(scope="module")
def clock_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    result = Stack(free_port(), tmp_path_factory.mktemp("clock-stack"))
    result.run("local", "up", "--windows", "clock")
    yield result
    result.run("local", "down")


def stored(stack: Stack, key: str, body: bytes, timeout_s: float = 120) -> None:
    """Upload a file and return once the ledger has its final status (the rollups are not waited for)."""
    stack.put(key, body)
    s3, dynamodb = client("s3", stack.settings), client("dynamodb", stack.settings)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        rows = [row for row in raw_objects.ingest_status(stack.settings, s3, dynamodb) if row["key"] == key]
        if rows and rows[0]["status"] in FINAL_STATUSES:
            assert rows[0]["status"] == "processed", rows
            return
        time.sleep(0.2)
    raise AssertionError(f"{key} was not processed within {timeout_s} s")


def readings_file(index: int) -> bytes:
    """Readings of sites nobody registered, taken moments ago (live data; each file's a second of its own)."""
    return json.dumps(
        [
            {
                "site_id": site,
                "timestamp": timeutil.format_timestamp(timeutil.now() - timedelta(seconds=10 - index)),
                "energy_generated_kwh": f"{index + 1}.5",
                "energy_consumed_kwh": "1",
            }
            for site in SITES
        ]
    ).encode()


def test_the_stack_says_how_it_ends_windows_and_will_not_switch_while_running(clock_stack: Stack) -> None:
    assert clock_stack.json("local", "status")["windows"] == "clock"
    again = clock_stack.run("local", "up", "--windows", "idle", check=False)
    assert again.returncode == 1 and "runs with --windows clock" in again.stderr and "local down" in again.stderr
    assert clock_stack.run("local", "up", "--windows", "clock").returncode == 0
    assert clock_stack.run("local", "status", "--windows", "clock", check=False).returncode == 2


def test_a_summary_on_the_stack_counts_the_readings_of_the_open_window(clock_stack: Stack) -> None:
    # GIVEN live readings of unregistered sites stored while the aggregator's 15-minute window is open (a window
    # that ends in between shows every reading rolled up: then the next file is in a new open window)
    summaries: list[dict[str, Any]] = []
    for index in range(3):
        stored(clock_stack, f"raw/clock/{index}.json", readings_file(index))
        # WHEN the summary is asked at once
        summary = clock_stack.json("query", "summary")
        summaries.append(summary)
        # THEN it counts every stored reading, also those the rollups have not taken in
        assert summary["fleet"]["readings"] == len(SITES) * (index + 1)
        if summary["fleet"]["readings_after_rollups"]:
            break
    fleet = summary["fleet"]
    assert fleet["readings_after_rollups"] > 0, summaries  # the window was open
    # AND the rollups alone hold the rest, up to the watermark the summary names
    totals = query.rollups(clock_stack.settings, client("dynamodb", clock_stack.settings), ["T"])
    assert fleet["readings"] - fleet["readings_after_rollups"] == sum(row["readings"] for row in totals)
    assert fleet["rolled_up_through"] < summary["complete_through"]
    assert clock_stack.run("query", "summary").stdout.strip().splitlines()[-1].startswith("Exact as of ")
