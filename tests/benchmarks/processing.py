"""The processing itself, in a child process of its own: read a file as the worker reads an S3 body (a
stream), validate it in chunks with the file's SeenReadings on disk, assess every reading and build its
stored item; no AWS. Prints one JSON object: counts, CPU seconds and the process's memory high-water mark
(VmHWM) before and after.

    python -m tests.benchmarks.processing FILE KEY
    python -m tests.benchmarks.processing --seen sqlite|set COUNT    # duplicate detection alone
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from energy_lib.config import Settings
from energy_lib.errors import UnparseableFile
from energy_lib.parsing import Record, read_records
from energy_lib.rules import assess
from energy_lib.seen_readings import SeenReadings
from energy_lib.storage import reading_item
from energy_lib.validation import validate_records

CHUNK_RECORDS = 1000


def vm_hwm_kib() -> int:
    """The process's peak resident memory so far. [KiB]"""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def process(path: Path, key: str, settings: Settings) -> dict[str, object]:
    counts = {"read": 0, "stored": 0, "quarantined": 0, "anomalies": 0, "rounded": 0, "rejected": None}
    now = datetime.now(timezone.utc)
    chunk: list[Record] = []
    with tempfile.TemporaryDirectory() as folder, path.open("rb") as stream:
        seen = SeenReadings(Path(folder) / "seen.sqlite3")

        def process_chunk() -> None:
            parsed = validate_records(chunk, seen)
            items = [reading_item(r, assess(r, settings), key, now) for r in parsed.readings]
            counts["read"] += parsed.read
            counts["stored"] += len(items)
            counts["quarantined"] += len(parsed.rejects)
            counts["anomalies"] += sum(item["anomaly"] for item in items)
            counts["rounded"] += sum(1 for reading in parsed.readings if reading.rounded)
            chunk.clear()

        try:
            for record in read_records(stream, key, settings):
                chunk.append(record)
                if len(chunk) == CHUNK_RECORDS:
                    process_chunk()
        except UnparseableFile as exc:
            counts["rejected"] = exc.reason
        process_chunk()
        seen.close()
        counts["seen_db_bytes"] = (Path(folder) / "seen.sqlite3").stat().st_size
    return counts


def seen(kind: str, count: int) -> dict[str, object]:
    """``count`` readings of 100 sites through SeenReadings on disk, or through the set of (site, moment)
    validation kept before (the baseline); every 10th repeats the reading before it."""
    moments = [datetime.fromtimestamp(1_749_600_000 + second, timezone.utc) for second in range(count // 100 + 1)]

    def key(position: int) -> tuple[str, datetime]:
        position -= position % 10 == 9
        return f"SITE_{position % 100:03d}", moments[position // 100]

    duplicates = 0
    with tempfile.TemporaryDirectory() as folder:
        if kind == "sqlite":
            readings = SeenReadings(Path(folder) / "seen.sqlite3")
            for position in range(count):
                duplicates += readings.first(*key(position), position) != position
            readings.close()
            size = (Path(folder) / "seen.sqlite3").stat().st_size
        else:
            keys: set[tuple[str, datetime]] = set()
            for position in range(count):
                duplicates += key(position) in keys
                keys.add(key(position))
            size = 0
    return {"read": count, "duplicates": duplicates, "seen_db_bytes": size}


def print_measured(work: Callable[[], dict[str, object]]) -> None:
    """Run ``work`` and print its result with CPU and wall seconds and VmHWM before (``baseline_kib``) and after."""
    baseline_kib = vm_hwm_kib()
    cpu, wall = time.process_time(), time.perf_counter()
    result = work()
    result.update(
        cpu_s=time.process_time() - cpu,
        wall_s=time.perf_counter() - wall,
        baseline_kib=baseline_kib,
        peak_kib=vm_hwm_kib(),
    )
    print(json.dumps(result))


def main() -> None:
    settings = Settings()  # the baseline: the interpreter with energy_lib, boto3 and botocore imported
    if sys.argv[1] == "--seen":
        print_measured(lambda: seen(sys.argv[2], int(sys.argv[3])))
    else:
        print_measured(lambda: process(Path(sys.argv[1]), sys.argv[2], settings))


if __name__ == "__main__":
    main()
