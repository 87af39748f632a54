"""Benchmarks of the history lake at fleet scale: a year of 100 sites at 5 minutes (10,512,000 readings; `make
bench`; a month in `make test`) written by the simulator straight into a lake folder, then the four history
questions with DuckDB on two threads, each in a fresh process: time, peak memory (asserted under 1 GiB), bytes
read and what Athena would bill for them (build/benchmarks/lake_history.json). Times are recorded, never asserted
(these machines are shared)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from energy_lib.config import Settings
from energy_lib.workbook import simulator
from energy_lib.workbook.simulator.year import write_history
from tests.benchmarks import results
from tests.benchmarks.sizes import size

pytestmark = pytest.mark.benchmark
SITES, DAYS, INTERVAL_MINUTES = 100, size(31, 365), 5
START = datetime(2025, 1, 1, tzinfo=timezone.utc)
MONTHS = len({(START + timedelta(days=day)).month for day in range(DAYS)})
ATHENA_USD_PER_TB = 5.0  # Athena's public price per TB scanned (SQL queries), as of 2025
ATHENA_MINIMUM_BYTES = 10 * 1024**2  # Athena bills at least 10 MB a query, rounded up to whole MB
MEMORY_LIMIT_BYTES = 1024**3
QUESTIONS = {  # name -> (queries function and arguments, rows expected)
    "monthly per-site totals": ("monthly_sql", [], SITES * MONTHS),
    "one site's year": ("site_readings_sql", ["SITE_042"], DAYS * 24 * 60 // INTERVAL_MINUTES),
    "fleet mean day profile": ("day_profile_sql", [], 24 * 60 // INTERVAL_MINUTES),
    "anomalies by month": ("anomalies_by_month_sql", [], None),
}
PROBE = """
import json, resource, sys, time
from energy_lib.config import Settings
from energy_lib.workbook.lake import engines, queries

def bytes_read():
    return int(next(line.split()[1] for line in open("/proc/self/io") if line.startswith("rchar")))

function, arguments, lake_dir = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
text = getattr(queries, function)(*arguments, "2025-01-01", "2026-01-01")
def cpu_s():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime

connection = engines.connect(Settings(), lake_dir, threads=2)
before, started, cpu = bytes_read(), time.perf_counter(), cpu_s()
frame = engines.to_frame(connection.execute(text).to_arrow_table())
seconds, read, cpu = time.perf_counter() - started, bytes_read() - before, cpu_s() - cpu
# VmHWM, not ru_maxrss: after fork and exec, ru_maxrss still holds the parent's (pytest's) high-water mark
peak = 1024 * int(next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:")))
print(json.dumps({"seconds": seconds, "cpu_s": cpu, "rows": len(frame), "bytes_read": read, "peak_bytes": peak}))
"""


def athena_usd(scanned_bytes: int) -> float:
    """What Athena bills for a query that scans ``scanned_bytes``."""
    billed_mb = math.ceil(max(scanned_bytes, ATHENA_MINIMUM_BYTES) / 1024**2)
    return billed_mb * 1024**2 / 1024**4 * ATHENA_USD_PER_TB


@pytest.fixture(scope="module")
def year(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("lake-year")
    started = time.perf_counter()
    run = write_history(
        Settings(),
        simulator.default_fleet(SITES),
        START,
        DAYS,
        INTERVAL_MINUTES,
        0.02,
        42,
        lake_dir=folder,
        progress=False,
    )
    return {"folder": folder, "run": run, "seconds": time.perf_counter() - started}


def test_the_simulator_writes_the_history_of_100_sites_into_the_lake(year: dict[str, Any]) -> None:
    run = year["run"]
    print(
        f"\n{DAYS} days of {SITES} sites at {INTERVAL_MINUTES} min into the lake: {run.readings:,} readings, "
        f"{run.anomalies:,} anomalies, {run.days} day files, {run.size_bytes / 1e6:.1f} MB of Parquet, "
        f"{year['seconds']:.0f} s on 2 processes ({run.readings / year['seconds']:,.0f} readings/s)"
    )
    assert (run.readings, run.days) == (SITES * DAYS * 24 * 60 // INTERVAL_MINUTES, DAYS)
    assert len(list(Path(year["folder"]).glob("readings/day=*/readings.parquet"))) == DAYS


def test_history_questions_stay_under_a_gibibyte(year: dict[str, Any]) -> None:
    rows = []
    for name, (function, arguments, expected_rows) in QUESTIONS.items():
        result = subprocess.run(
            [sys.executable, "-c", PROBE, function, json.dumps(arguments), str(year["folder"])],
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert result.returncode == 0, result.stderr
        measured = json.loads(result.stdout.splitlines()[-1])
        if expected_rows is not None:
            assert measured["rows"] == expected_rows, name
        assert measured["peak_bytes"] < MEMORY_LIMIT_BYTES, f"{name}: {measured['peak_bytes'] / 1024**2:.0f} MiB"
        rows.append((name, measured))
    total = year["run"].size_bytes
    results.write(
        "lake_history",
        [
            {"question": name, **m, "of_lake": m["bytes_read"] / total, "athena_usd": athena_usd(m["bytes_read"])}
            for name, m in rows
        ],
        readings=year["run"].readings,
        parquet_bytes=total,
        days=DAYS,
        sites=SITES,
        simulate_s=year["seconds"],
    )
    print(f"\nDuckDB on 2 threads over {year['run'].readings:,} readings ({total / 1e6:.1f} MB of Parquet)")
    load = Path("/proc/loadavg").read_text().split()[0]
    print(
        f"(wall time on a shared machine, load average {load} on {os.cpu_count()} cores; CPU time is the query's own)"
    )
    columns = ("rows", "time [s]", "CPU [s]", "peak [MiB]", "read [MB]", "of lake", "Athena [USD]")
    print(f"{'question':<26}" + "".join(f"{column:>13}" for column in columns))
    for name, m in rows:
        print(
            f"{name:<26}{m['rows']:>13,}{m['seconds']:>13.2f}{m['cpu_s']:>13.2f}{m['peak_bytes'] / 1024**2:>13.0f}"
            f"{m['bytes_read'] / 1e6:>13.1f}{m['bytes_read'] / total:>13.0%}{athena_usd(m['bytes_read']):>13.6f}"
        )


def test_athena_bill_follows_the_public_price() -> None:
    assert athena_usd(0) == athena_usd(ATHENA_MINIMUM_BYTES) == pytest.approx(10 / 1024**2 * 5.0)
    assert athena_usd(1024**4) == pytest.approx(5.0)
    assert athena_usd(ATHENA_MINIMUM_BYTES + 1) > athena_usd(ATHENA_MINIMUM_BYTES)
