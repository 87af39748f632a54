"""What an exact summary costs and how far it trails: the rollups plus the readings stored after them.

- Lag, on the local stack playing the rollups' windows on a real clock (``local up --windows clock``, as AWS
  does): after each fleet snapshot is stored, the summary is asked at once. Its lag (readings stored but not in
  it, and the age of the oldest of them) must be 0 with the window open; the rollups' own lag is printed beside.
- Cost of the tail per summary, for 10, 100 and 1,000 sites (the largest at full size only), on moto: requests
  and read units (DynamoDB's rules on the items read: a Query costs 1 unit per started 4 KB, at least 1; half for
  an eventually consistent one) of the rollups, the registry, the day index (sites nothing knows yet) and the
  per-site tails, against what the rollups alone cost (the summary before the tail).

Figures in build/benchmarks/summary_lag.json and summary_tail_cost.json.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from energy_lib import query, raw_objects, rollups, timeutil
from energy_lib.clients import client
from energy_lib.config import Settings
from energy_lib.schema import FINAL_STATUSES
from energy_lib.workbook import simulator
from energy_lib.workbook.infra.spec import AGGREGATOR
from energy_lib.workbook.sites import registry
from tests.benchmarks.capacity import item_size
from tests.benchmarks.results import write
from tests.benchmarks.sizes import size
from tests.conftest import free_port, fresh_stack
from tests.integration.harness import Pipeline, put
from tests.integration.test_local_stack import Stack

pytestmark = pytest.mark.benchmark

FLEETS = sorted({10, 100, size(100, 1000)})
LAG_SITES = size(10, 100)
LAG_STEPS = 3
T0 = datetime(2025, 6, 11, 10, tzinfo=timezone.utc)
ASKED_AT = T0 + timedelta(minutes=27)  # the second window (10:15 to 10:30) is open, with 3 readings a site
SUMMARIES = {  # name -> [start, end) of the summary
    "all time": (None, None),
    "today": ("2025-06-11T00:00:00Z", "2025-06-12T00:00:00Z"),
    "this hour": ("2025-06-11T10:00:00Z", "2025-06-11T11:00:00Z"),
    "yesterday": ("2025-06-10T00:00:00Z", "2025-06-11T00:00:00Z"),  # rolled up past its end: no tail
}


def snapshot(sites: list[str], moment: datetime, salt: int) -> bytes:
    stamp = timeutil.format_timestamp(moment)
    rows = [
        {
            "site_id": site,
            "timestamp": stamp,
            "energy_generated_kwh": f"{(n + salt) % 40 + 1}.25",
            "energy_consumed_kwh": "2",
        }
        for n, site in enumerate(sites)
    ]
    return json.dumps(rows).encode()


class QueryMeter:
    """Query requests and read units per table or index (``table/index``) that one client sends."""

    def __init__(self, dynamodb: Any) -> None:
        self.dynamodb = dynamodb
        self.requests: dict[str, int] = defaultdict(int)
        self.units: dict[str, float] = defaultdict(float)
        self._lock = threading.Lock()
        self._local = threading.local()

    def __enter__(self) -> QueryMeter:
        events = self.dynamodb.meta.events
        events.register("provide-client-params.dynamodb.Query", self._before, unique_id="query-meter-before")
        events.register("after-call.dynamodb.Query", self._after, unique_id="query-meter-after")
        return self

    def __exit__(self, *_: object) -> None:
        events = self.dynamodb.meta.events
        events.unregister("provide-client-params.dynamodb.Query", unique_id="query-meter-before")
        events.unregister("after-call.dynamodb.Query", unique_id="query-meter-after")

    def _before(self, params: dict[str, Any], **_: Any) -> None:
        name = params["TableName"] + (f"/{params['IndexName']}" if "IndexName" in params else "")
        self._local.request = (name, bool(params.get("ConsistentRead")))

    def _after(self, parsed: dict[str, Any], **_: Any) -> None:
        name, consistent = self._local.request
        started = max(1, math.ceil(sum(item_size(item) for item in parsed.get("Items", [])) / 4096))
        with self._lock:
            self.requests[name] += 1
            self.units[name] += started * (1 if consistent else 0.5)


def by_part(settings: Settings, meter: QueryMeter) -> dict[str, dict[str, float]]:
    parts = {
        "rollups": settings.rollups_table,
        "registry": settings.sites_table,
        "tails": settings.readings_table,
    }
    return {
        part: {"requests": meter.requests.get(name, 0), "read_units": meter.units.get(name, 0.0)}
        for part, name in parts.items()
    }


def loaded_fleet(settings: Settings, sites: int) -> list[str]:
    """A registered fleet: the window 10:00-10:15 rolled up (3 readings a site), the next one open with 3 more."""
    fleet = simulator.registry_entries(simulator.default_fleet(sites), 5)
    registry.put_sites(settings, client("dynamodb", settings), fleet)
    names = [site.site_id for site in fleet]
    clock = {"t": T0.timestamp() + 10}
    pipeline = Pipeline(settings, clock=lambda: clock["t"], close_when_idle=False)
    for step in range(6):
        moment = T0 + timedelta(minutes=5 * step)
        clock["t"] = moment.timestamp() + 10
        put(settings, f"raw/2025/06/11/{step}.json", snapshot(names, moment, step))
        pipeline.hand_over()
    return names


def test_the_tail_costs_a_query_per_site_and_nothing_for_a_period_rolled_up(
    moto_port: int, tmp_path_factory: pytest.TempPathFactory
) -> None:
    rows = []
    for sites in FLEETS:
        # GIVEN a registered fleet, its first window rolled up and the second open (3 readings a site in each)
        settings = fresh_stack(moto_port, tmp_path_factory.mktemp("tail"))
        names = loaded_fleet(settings, sites)
        # WHEN each summary is asked
        rows += [measure(settings, names, name, start, end) for name, (start, end) in SUMMARIES.items()]
    print_rows(rows)
    write("summary_tail_cost", rows, fleets=FLEETS, asked_at=timeutil.format_timestamp(ASKED_AT))


def measure(settings: Settings, names: list[str], name: str, start: str | None, end: str | None) -> dict[str, Any]:
    """One summary's requests and read units, by part, against the rollups alone; checks what it counted."""
    dynamodb = client("dynamodb", settings)
    sites = len(names)
    with QueryMeter(dynamodb) as meter:
        result = query.summary(settings, dynamodb, start, end, now=lambda: ASKED_AT)
    with QueryMeter(dynamodb) as alone:
        rolled_up = query.rollups(settings, dynamodb, query.summary_buckets(start, end))
    parts = by_part(settings, meter)
    # THEN the summary counts every stored reading (3 sites checked reading by reading, the fleet by count)
    stored = sum(len(query.readings(settings, dynamodb, site, start, end)) for site in names[:3])
    assert sum(row["readings"] for row in result["sites"][:3]) == stored
    expected = {"all time": 6, "today": 6, "this hour": 6, "yesterday": 0}[name] * sites
    assert result["fleet"]["readings"] == expected
    assert result["fleet"]["readings_after_rollups"] == (3 * sites if expected else 0)
    # AND its tail is one strongly consistent Query per site whose rollups may trail the period (a window of a
    # site: 3 readings, under 4 KB, 1 read unit), none for a period its rollups passed
    tails = parts["tails"]["requests"]
    assert tails == (sites if expected else 0) and parts["tails"]["read_units"] == tails
    return {
        "sites": sites,
        "summary": name,
        **{f"{part}_{kind}": value for part, figures in parts.items() for kind, value in figures.items()},
        "requests": sum(meter.requests.values()),
        "read_units": sum(meter.units.values()),
        "rollups_alone_requests": sum(alone.requests.values()),
        "rollups_alone_read_units": sum(alone.units.values()),
        "readings": result["fleet"]["readings"],
        "readings_after_rollups": result["fleet"]["readings_after_rollups"],
        "rollups_alone_readings": sum(int(row.get("readings", 0)) for row in rolled_up),
    }


def print_rows(rows: list[dict[str, Any]]) -> None:
    header = (
        f"{'sites':>6} {'summary':<10}{'requests':>9}{'units':>8}{'tails':>7}{'t.units':>8}{'alone':>7}{'a.units':>8}"
    )
    lines = ["", "Exact summary: requests and read units (the tail: one Query per site)", header]
    for row in rows:
        lines.append(
            f"{row['sites']:>6} {row['summary']:<10}{row['requests']:>9}{row['read_units']:>8.1f}"
            f"{row['tails_requests']:>7}{row['tails_read_units']:>8.1f}{row['rollups_alone_requests']:>7}"
            f"{row['rollups_alone_read_units']:>8.1f}"
        )
    print("\n".join(lines))


@pytest.fixture(scope="module")
def clock_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = Stack(free_port(), tmp_path_factory.mktemp("lag-stack"))
    stack.run("local", "up", "--windows", "clock")
    yield stack
    stack.run("local", "down")


def processed(stack: Stack, key: str, timeout_s: float = 300) -> None:
    s3, dynamodb = client("s3", stack.settings), client("dynamodb", stack.settings)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        rows = [row for row in raw_objects.ingest_status(stack.settings, s3, dynamodb) if row["key"] == key]
        if rows and rows[0]["status"] in FINAL_STATUSES:
            return
        time.sleep(0.2)
    raise AssertionError(f"{key} was not processed within {timeout_s} s")


def lag_s(counted: int, stored: int, asked: datetime, taken: list[datetime]) -> float:
    """How old the oldest stored reading left out is when the summary is ``asked`` (0: none left out); a window
    ends between snapshots, so what is counted is whole snapshots, the first ``counted // LAG_SITES``. [s]"""
    return 0 if counted == stored else (asked - taken[counted // LAG_SITES]).total_seconds()


def test_summary_lag_after_the_last_reading_is_zero_with_the_window_open(clock_stack: Stack) -> None:
    settings = clock_stack.settings
    dynamodb = client("dynamodb", settings)
    names = [f"LAG_{n:04d}" for n in range(LAG_SITES)]
    steps = []
    taken: list[datetime] = []  # when each snapshot's readings were taken
    for step in range(LAG_STEPS):
        # GIVEN a fleet snapshot of live readings, stored (the ledger says so), the rollups' window open
        taken.append(timeutil.now().replace(microsecond=0) - timedelta(seconds=LAG_STEPS - step))
        key = f"raw/lag/{step}.json"
        clock_stack.put(key, snapshot(names, taken[-1], step))
        processed(clock_stack, key)
        # WHEN the summary is asked at once
        result = query.summary(settings, dynamodb)
        totals = query.rollups(settings, dynamodb, [rollups.TOTAL_BUCKET])
        asked = timeutil.utc(result["complete_through"])
        stored = LAG_SITES * (step + 1)
        in_rollups = sum(int(row["readings"]) for row in totals)
        steps.append(
            {
                "step": step,
                "sites": LAG_SITES,
                "stored": stored,
                "summary_readings": result["fleet"]["readings"],
                "summary_lag_readings": stored - result["fleet"]["readings"],
                "summary_lag_s": lag_s(result["fleet"]["readings"], stored, asked, taken),
                "readings_after_rollups": result["fleet"]["readings_after_rollups"],
                "rollups_alone_readings": in_rollups,
                "rollups_alone_lag_readings": stored - in_rollups,
                "rollups_alone_lag_s": lag_s(in_rollups, stored, asked, taken),
                "complete_through": result["complete_through"],
                "rolled_up_through": result["fleet"]["rolled_up_through"],
            }
        )
        # THEN it lags by nothing: every reading stored is in it
        assert steps[-1]["summary_lag_readings"] == 0 and steps[-1]["summary_lag_s"] == 0
    # AND the window was open: the rollups alone trailed, the summary did not
    assert any(step["rollups_alone_lag_readings"] > 0 for step in steps), steps
    print("\nSummary lag on the local stack, windows on the clock:")
    for step in steps:
        print(
            f"  step {step['step']}: stored {step['stored']}, summary {step['summary_readings']} (lag "
            f"{step['summary_lag_readings']} readings, {step['summary_lag_s']} s), rollups alone "
            f"{step['rollups_alone_readings']} (lag {step['rollups_alone_lag_readings']} readings, "
            f"{step['rollups_alone_lag_s']} s)"
        )
    write("summary_lag", steps, sites=LAG_SITES, window_s=AGGREGATOR.tumbling_window_s)
