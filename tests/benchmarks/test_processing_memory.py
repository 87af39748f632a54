"""Benchmark: memory and CPU of the processing itself (parse, validate, items; no AWS) for files of 10k,
100k and 1M readings (`make bench`; 10k and 200k in `make test`) in each shape, plain and gzip, each in a child
process (tests/benchmarks/processing.py) whose peak resident memory (VmHWM) is compared with the function's
configured memory.

Asserted: every reading is stored, and the peak is flat in the file's size (the largest file within
``FLAT_MARGIN_MIB`` of the 10k one) and below the function's memory. Times are only recorded
(build/benchmarks/processing_memory.json). Files are generated on the fly into a temporary folder, one shape at a
time, and deleted after their run.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from energy_lib.workbook.infra.spec import FUNCTION
from tests.benchmarks import results
from tests.benchmarks.sizes import FULL, size
from tests.conftest import REPO

pytestmark = pytest.mark.benchmark
SIZES = (10_000, 100_000, 1_000_000) if FULL else (10_000, 200_000)
SEEN_READINGS = size(300_000, 1_000_000)  # duplicate detection: sqlite on disk against the set it replaced
SHAPES = ("json", "jsonl", "csv")
SITES = 100  # 1M readings: 100 sites x 10,000 five-minute intervals, as in the issue
START_EPOCH = 1_749_600_000  # 2025-06-11T00:00:00Z
FLAT_MARGIN_MIB = 24  # the seen-readings page cache (8 MiB) fills as the file grows; the rest must not grow
BLOCK = 10_000  # readings formatted and written at a time
CSV_HEADER = "site_id,timestamp,energy_generated_kwh,energy_consumed_kwh"


def kwh(thousandths: int) -> str:
    return f"{'-' if thousandths < 0 else ''}{abs(thousandths) // 1000}.{abs(thousandths) % 1000:03d}"


def readings(count: int) -> Iterator[tuple[str, str, str, str]]:
    """``count`` valid readings, one per site and five-minute interval; every 97th has a negative generation."""
    for interval in range(0, (count + SITES - 1) // SITES):
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(START_EPOCH + 300 * interval))
        for site in range(min(SITES, count - interval * SITES)):
            number = interval * SITES + site
            generated = (number * 7919) % 250_000 * (-1 if number % 97 == 0 else 1) - (number % 97 == 0)
            yield f"SITE_{site:03d}", stamp, kwh(generated), kwh((number * 104_729) % 90_000)


def lines(shape: str, count: int) -> Iterator[str]:
    if shape == "csv":
        yield CSV_HEADER
        for site, stamp, generated, consumed in readings(count):
            yield f"{site},{stamp},{generated},{consumed}"
        return
    for site, stamp, generated, consumed in readings(count):
        yield (
            f'{{"site_id": "{site}", "timestamp": "{stamp}", '
            f'"energy_generated_kwh": {generated}, "energy_consumed_kwh": {consumed}}}'
        )


def write(path: Path, shape: str, count: int, compress: bool) -> None:
    """The file, written a block at a time (never whole in memory); gzip level 1 when ``compress``."""
    separator = ",\n" if shape == "json" else "\n"
    with gzip.open(path, "wb", compresslevel=1) if compress else path.open("wb") as out:
        out.write(b"[\n" if shape == "json" else b"")
        block: list[str] = []
        first = True
        for line in lines(shape, count):
            block.append(line)
            if len(block) == BLOCK:
                out.write(((separator if not first else "") + separator.join(block)).encode())
                block, first = [], False
        if block:
            out.write(((separator if not first else "") + separator.join(block)).encode())
        out.write(b"\n]\n" if shape == "json" else b"\n")


def run_child(*arguments: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.benchmarks.processing", *arguments],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def measure(folder: Path, shape: str, count: int, compress: bool) -> dict[str, Any]:
    name = f"{shape}-{count}.{shape}" + (".gz" if compress else "")
    path = folder / name
    write(path, shape, count, compress)
    try:
        result = run_child(str(path), f"raw/2025/06/11/{name}")
        return {**result, "shape": shape + (".gz" if compress else ""), "readings": count, "bytes": path.stat().st_size}
    finally:
        path.unlink()


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("processing")
    runs = [(shape, count, compress) for count in reversed(SIZES) for shape in SHAPES for compress in (False, True)]
    with ThreadPoolExecutor(max_workers=2) as pool:  # two children at a time; CPU time is per process
        runs_measured = list(pool.map(lambda run: measure(folder, *run), runs))
    report(runs_measured)
    results.write("processing_memory", sorted(runs_measured, key=lambda r: (r["shape"], r["readings"])))
    return runs_measured


def report(runs: list[dict[str, Any]]) -> None:
    print(f"\nProcessing itself (parse, validate, items), function memory {FUNCTION.memory_mb} MB")
    print(
        f"{'shape':<10}{'readings':>10}{'file MB':>9}{'peak MiB':>10}{'base MiB':>10}{'CPU s':>8}"
        f"{'readings/s/core':>17}{'seen db MB':>12}"
    )
    for r in sorted(runs, key=lambda r: (r["shape"], r["readings"])):
        print(
            f"{r['shape']:<10}{r['readings']:>10}{r['bytes'] / 1e6:>9.1f}{r['peak_kib'] / 1024:>10.1f}"
            f"{r['baseline_kib'] / 1024:>10.1f}{r['cpu_s']:>8.1f}{r['readings'] / r['cpu_s']:>17.0f}"
            f"{r['seen_db_bytes'] / 1e6:>12.1f}"
        )


def test_every_reading_is_read_and_stored(measured: list[dict[str, Any]]) -> None:
    for r in measured:
        assert (r["rejected"], r["read"], r["stored"], r["quarantined"]) == (None, r["readings"], r["readings"], 0)
        assert r["anomalies"] == len(range(0, r["readings"], 97))


@pytest.mark.parametrize("shape", [f"{shape}{gz}" for shape in SHAPES for gz in ("", ".gz")])
def test_peak_memory_is_flat_in_the_file_size_and_below_the_function_memory(
    measured: list[dict[str, Any]], shape: str
) -> None:
    peaks = {r["readings"]: r["peak_kib"] / 1024 for r in measured if r["shape"] == shape}

    assert peaks[max(SIZES)] <= peaks[min(SIZES)] + FLAT_MARGIN_MIB
    assert max(peaks.values()) < FUNCTION.memory_mb


def test_a_gzip_of_1_mb_that_expands_to_1_gb_stops_at_the_limit_in_flat_memory(
    tmp_path: Path, measured: list[dict[str, Any]]
) -> None:
    # GIVEN a 1.1 MB gzip of a JSON array holding 1.1 GB of whitespace (1,100 members of 1 MiB)
    path = tmp_path / "bomb.json.gz"
    spaces = gzip.compress(b" " * 2**20, 9)
    path.write_bytes(gzip.compress(b"[", 9) + spaces * 1_100 + gzip.compress(b"]", 9))
    assert path.stat().st_size < 1.2e6

    # WHEN the worker's processing reads it with the default limits
    result = run_child(str(path), "raw/2025/06/11/bomb.json.gz")
    print(
        f"\n1.1 GB gzip bomb: {result['rejected']} after {result['cpu_s']:.1f} s CPU, "
        f"peak {result['peak_kib'] / 1024:.1f} MiB"
    )

    # THEN it is quarantined as too large, in the memory a 10k-reading file needs
    assert (result["rejected"], result["read"]) == ("too_large", 0)
    small = min(r["peak_kib"] for r in measured if r["readings"] == 10_000)
    assert result["peak_kib"] <= small + FLAT_MARGIN_MIB * 1024


def test_duplicate_detection_in_bounded_memory_against_the_set_it_replaces() -> None:
    runs = {kind: run_child("--seen", kind, str(SEEN_READINGS)) for kind in ("sqlite", "set")}
    growth_mib = {kind: (r["peak_kib"] - r["baseline_kib"]) / 1024 for kind, r in runs.items()}
    results.write("duplicate_detection", {"readings": SEEN_READINGS, "memory_growth_mib": growth_mib, "runs": runs})
    print(
        f"\nDuplicate detection, {SEEN_READINGS:,} readings of 100 sites (every 10th a duplicate)\n"
        f"{'':<28}{'sqlite':>10}{'set':>10}"
    )
    print(f"{'memory growth MiB':<28}{growth_mib['sqlite']:>10.1f}{growth_mib['set']:>10.1f}")
    print(f"{'CPU s':<28}{runs['sqlite']['cpu_s']:>10.1f}{runs['set']['cpu_s']:>10.1f}")
    per_s = {kind: SEEN_READINGS / r["cpu_s"] for kind, r in runs.items()}
    print(f"{'readings/s/core':<28}{per_s['sqlite']:>10.0f}{per_s['set']:>10.0f}")
    print(f"{'database file MB':<28}{runs['sqlite']['seen_db_bytes'] / 1e6:>10.1f}{'-':>10}")

    assert runs["sqlite"]["duplicates"] == runs["set"]["duplicates"] == SEEN_READINGS // 10
    assert growth_mib["sqlite"] <= 16  # its page cache (8 MiB) and sqlite itself
    assert growth_mib["set"] >= 4 * growth_mib["sqlite"]
