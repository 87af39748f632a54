"""The local stack at real size: a 30,000-reading file (a day of 100 sites at 5-minute intervals, and a bit)
from upload to queryable, on an empty stack and again with 300,000 readings stored (`make bench`; 1,000 and 10,000
in `make test`); the stack process's peak memory (VmHWM) each time (build/benchmarks/local_stack_at_size.json).
The per-reading cost of the last file must stay within 1.5x of the first: measured
as the AWS requests the pipeline's invocations sent (the local runtime's REPORT lines), which would grow if
anything read or copied what is stored. Times and memory are printed, never asserted.

Before this design the same file had not finished after 5 minutes and the stack had grown past 4.7 GB
(moto's TransactWriteItems copies every table on each call), and `wait` took the busy stack for a dead one.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from energy_lib import query
from energy_lib.clients import client
from energy_lib.config import Settings
from energy_lib.dynamo import batch_put
from energy_lib.readings import Reading
from energy_lib.rules import assess
from energy_lib.storage import reading_item
from energy_lib.workbook.aws import ops
from energy_lib.workbook.local import stack as local_stack
from tests.benchmarks import results
from tests.benchmarks.sizes import size
from tests.conftest import free_port

pytestmark = pytest.mark.benchmark
FILE_SITES, FILE_READINGS = 100, size(1_000, 30_000)
STORED = size(10_000, 300_000)
REPORT = re.compile(r"REPORT (\S+) \S+: (\d+) (\w+), (\d+) requests \(([^)]*)\)")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, int]]:
    environ = {
        **os.environ,
        "ENERGY_LOCAL_PORT": str(free_port()),
        "ENERGY_STATE_DIR": str(tmp_path_factory.mktemp("big")),
    }
    environ.pop("ENERGY_ENDPOINT_URL", None)
    settings = Settings.from_env(environ)
    info = local_stack.up(settings)
    yield settings, int(info["pid"])
    local_stack.down(settings)


def process_figures(pid: int) -> dict[str, float]:
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return {
        "peak_mb": int(status["VmHWM"].split()[0]) / 1024,
        "cpu_s": (int(fields[11]) + int(fields[12])) / ticks,  # utime and stime
    }


def file_of(day: str) -> bytes:
    start = datetime.fromisoformat(f"{day}T00:00:00+00:00")
    rows = [
        {
            "site_id": f"SITE_{n % FILE_SITES:03d}",
            "timestamp": (start + timedelta(minutes=5 * (n // FILE_SITES))).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "energy_generated_kwh": f"{n % 83}.{n % 7}",
            "energy_consumed_kwh": "-1.5" if n % 50 == 0 else f"{n % 11}.25",
        }
        for n in range(FILE_READINGS)
    ]
    return json.dumps(rows).encode()


def requests_since(log: Path, offset: int) -> Counter:
    """AWS requests the pipeline's invocations sent, from the REPORT lines written after ``offset``."""
    counts: Counter = Counter()
    with log.open("rb") as handle:
        handle.seek(offset)
        for line in handle.read().decode(errors="replace").splitlines():
            match = REPORT.search(line)
            if match:
                counts["invocations"] += 1
                counts.update({op: int(n) for op, n in (pair.split("=") for pair in match[5].split())})
    return counts


def upload_and_wait(settings: Settings, pid: int, key: str, body: bytes) -> dict[str, Any]:
    log = local_stack.log_file(settings)
    offset = log.stat().st_size
    before = process_figures(pid)
    started = datetime.now(timezone.utc)
    client("s3", settings).put_object(Bucket=settings.bucket, Key=key, Body=body)
    counts = ops.wait(settings, timeout_s=3600, poll_s=2)
    seconds = (datetime.now(timezone.utc) - started).total_seconds()
    after = process_figures(pid)
    requests = requests_since(log, offset)
    invocations = requests.pop("invocations")
    return {
        "seconds": seconds,
        "cpu_s": after["cpu_s"] - before["cpu_s"],
        "peak_mb": after["peak_mb"],
        "requests": requests,
        "invocations": invocations,
        "statuses": counts,
    }


def store_directly(settings: Settings, readings: int) -> None:
    """``readings`` stored readings of 100 sites, one a minute, a site's backfill after the other, written
    straight into the readings table (BatchWriteItem, as the ingest writes them); the stack's aggregator takes
    their stream records in (a site's backfill in order: a stream batch touches few rollup items)."""
    dynamodb = client("dynamodb", settings)
    start = datetime(2025, 7, 1, tzinfo=timezone.utc)
    now = datetime.now(timezone.utc)
    per_site = readings // FILE_SITES
    for first in range(0, readings, 10_000):
        items = []
        for n in range(first, min(first + 10_000, readings)):
            site, minute = divmod(n, per_site)
            r = Reading(f"SITE_{site:03d}", start + timedelta(minutes=minute), Decimal(n % 71), Decimal(3), n)
            items.append(reading_item(r, assess(r, settings), "raw/preloaded.json", now))
        batch_put(dynamodb, settings.readings_table, items)


def test_a_file_costs_as_much_per_reading_on_an_empty_stack_as_with_ten_times_more_stored(
    stack: tuple[Settings, int],
) -> None:
    settings, pid = stack
    dynamodb = client("dynamodb", settings)
    # GIVEN an empty local stack: a file of FILE_READINGS readings, from upload to a complete summary
    first = upload_and_wait(settings, pid, "raw/2025/06/01/export.json", file_of("2025-06-01"))
    assert query.summary(settings, dynamodb)["fleet"]["readings"] == FILE_READINGS
    # WHEN STORED - FILE_READINGS more readings are stored (STORED in all), and the same file comes for another day
    store_directly(settings, STORED - FILE_READINGS)
    ops.wait(settings, timeout_s=3600, poll_s=5)
    assert query.summary(settings, dynamodb)["fleet"]["readings"] == STORED
    last = upload_and_wait(settings, pid, "raw/2025/08/01/export.json", file_of("2025-08-01"))
    # THEN it is as complete, and costs as much per reading as the first
    assert query.summary(settings, dynamodb)["fleet"]["readings"] == STORED + FILE_READINGS
    assert first["statuses"] == {"processed": 1} and last["statuses"] == {"processed": 2}
    per_reading = {
        name: sum(run["requests"].values()) / FILE_READINGS for name, run in (("empty", first), ("stored", last))
    }
    lines = ["", f"A {FILE_READINGS:,}-reading file on the local stack (upload to queryable: `wait`, then the summary)"]
    lines.append(f"{'':<34}{'empty stack':>16}{f'{STORED:,} stored':>16}")
    for label, value in (
        ("upload to queryable [s]", lambda run: f"{run['seconds']:.0f}"),
        ("readings per second", lambda run: f"{FILE_READINGS / run['seconds']:.0f}"),
        ("stack CPU per 1,000 readings [s]", lambda run: f"{run['cpu_s'] * 1000 / FILE_READINGS:.2f}"),
        ("AWS requests per reading", lambda run: f"{sum(run['requests'].values()) / FILE_READINGS:.4f}"),
        ("invocations (ingest and rollups)", lambda run: f"{run['invocations']}"),
        ("stack peak memory, VmHWM [MB]", lambda run: f"{run['peak_mb']:.0f}"),
    ):
        lines.append(f"{label:<34}{value(first):>16}{value(last):>16}")
    lines.append(f"requests of the last file: {dict(sorted(last['requests'].items()))}")
    print("\n".join(lines))
    results.write(
        "local_stack_at_size",
        {
            name: {**run, "requests_per_reading": per_reading[name]}
            for name, run in (("empty", first), ("stored", last))
        },
        file_readings=FILE_READINGS,
        stored_readings=STORED,
    )
    assert per_reading["stored"] <= 1.5 * per_reading["empty"]
    assert last["requests"].get("BatchWriteItem") == first["requests"].get("BatchWriteItem") == FILE_READINGS // 25
    assert not {"Scan", "Query", "TransactWriteItems"} & set(last["requests"])
