"""The local stack's memory is bounded by the hot window, not by history: a fleet simulated day after day
(:mod:`tests.benchmarks.hot_window`, in a child process of its own) with the time to live on. The readings the
table holds stop growing once the window is full, the process's memory grows after that only by what history
keeps on purpose (the hour, day and all-time rollups, the raw files and the lake's Parquet), and the lake and the
rollups agree with each other and with what was sent, over every day. The curve is printed and written to
build/benchmarks/hot_window.json.

Full size (``make bench``): 100 sites, 60 days of 5-minute readings, a 35-day window (1.73 million readings).
Small (``make test``): the same with 2 sites, 12 days and a 5-day window.
"""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal

import pytest

from tests.benchmarks.results import write
from tests.benchmarks.sizes import FULL, size
from tests.conftest import REPO

pytestmark = pytest.mark.benchmark
SITES, DAYS, TTL_DAYS = size(2, 100), size(12, 60), size(5, 35)
INTERVAL_MINUTES = 5


def test_the_stack_s_memory_stays_flat_once_the_hot_window_is_full() -> None:
    command = [sys.executable, "-m", "tests.benchmarks.hot_window", "--sites", str(SITES), "--days", str(DAYS)]
    command += ["--interval-minutes", str(INTERVAL_MINUTES), "--ttl-days", str(TTL_DAYS)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=4 * 3600, check=False)  # noqa: S603
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    curve, exact = result["curve"], result["exact"]
    write("hot_window", result)
    per_day = SITES * 24 * 60 // INTERVAL_MINUTES
    lines = ["", f"{SITES} sites, {DAYS} days of {INTERVAL_MINUTES}-minute readings, a hot window of {TTL_DAYS} days"]
    lines.append(f"{'day':>4}{'held':>10}{'expired':>9}{'RSS MB':>9}{'peak MB':>9}")
    lines += [
        f"{p['day']:>4}{p['readings_held']:>10}{p['expired']:>9}{p['rss_mb']:>9.0f}{p['hwm_mb']:>9.0f}" for p in curve
    ]
    before = (curve[TTL_DAYS]["hwm_mb"] - curve[1]["hwm_mb"]) / (TTL_DAYS - 1)
    after = (curve[-1]["hwm_mb"] - curve[TTL_DAYS + 1]["hwm_mb"]) / (DAYS - TTL_DAYS - 1)
    lines.append(f"peak memory per day: {before:.2f} MB while the window fills, {after:.2f} MB once it is full")
    print("\n".join(lines))

    # THEN the table holds one window of readings once it is full, and never more
    held = [point["readings_held"] for point in curve]
    assert max(held) <= per_day * (TTL_DAYS + 1)
    assert held[TTL_DAYS + 1 :] == [per_day * TTL_DAYS] * (DAYS - TTL_DAYS)
    # AND the lake holds every reading sent, and the rollups agree with it per site and per day, to the last digit
    assert exact["lake_readings"] == exact["sent_readings"] == per_day * DAYS
    assert exact["sites_differing"] == [] and exact["days_differing"] == []
    assert (exact["sites_compared"], exact["days_compared"], exact["rollup_days"]) == (SITES, DAYS, DAYS)
    assert Decimal(exact["lake_generated_kwh"]) == Decimal(exact["sent_generated_kwh"])
    if FULL:  # at the fleet's size readings are most of the memory: once the window is full it grows a tenth as fast
        assert after <= 0.15 * before
