"""Benchmark: the whole object path through the real handler (S3 body -> parse -> validate -> BatchWriteItem ->
quarantine -> ledger, checkpoints and continuations included) against moto, in a child process whose peak
resident memory (VmHWM) is compared with the function's configured memory: files of 10k readings in every shape, of
100k in JSON Lines and gzip CSV (`make bench`; 2k and 10k in `make test`); with ENERGY_BENCHMARK_MILLION=1 also 1M
in gzip JSON Lines, a plain JSON array and
plain CSV (or some of them: ENERGY_BENCHMARK_MILLION=csv,jsonl.gz). moto stores about 400-850 readings/s here, so
a 1M file takes about 45 minutes: run by hand, figures in docs/ingest-function.md; the processing alone runs at 1M
in every shape in test_processing_memory, in CI.

Asserted: every reading is stored and counted, the peak is flat in the file's size and below the function's
memory. Printed, never asserted: wall and CPU time, invocations (continuations), end-to-end readings/s on the
local stack (moto is the bottleneck: its BatchWriteItem costs far more than DynamoDB's round trip).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from energy_lib import raw_objects
from energy_lib.clients import client
from energy_lib.config import Settings
from energy_lib.workbook.infra.spec import FUNCTION
from tests.benchmarks import results
from tests.benchmarks.sizes import size
from tests.benchmarks.test_processing_memory import FLAT_MARGIN_MIB, write
from tests.conftest import REPO, fresh_stack

pytestmark = pytest.mark.benchmark
SHAPES = ("json", "jsonl", "csv")
SMALL, LARGE = size(2_000, 10_000), size(10_000, 100_000)
RUNS = [(shape, SMALL, gz) for shape in SHAPES for gz in (False, True)]
RUNS += [("jsonl", LARGE, False), ("csv", LARGE, True)]
MILLION = {"jsonl.gz": ("jsonl", 1_000_000, True), "json": ("json", 1_000_000, False), "csv": ("csv", 1_000_000, False)}
CHOSEN = os.environ.get("ENERGY_BENCHMARK_MILLION", "")  # by hand: about 45 minutes a file on moto here
RUNS += [run for label, run in MILLION.items() if CHOSEN == "1" or label in CHOSEN.split(",")]


def handler_run(settings: Settings, folder: Path, shape: str, count: int, compress: bool) -> dict[str, Any]:
    """Upload the file, let a child process run the handler until the queue is empty; the child's figures and
    the ledger's counts."""
    name = f"{shape}-{count}.{shape}" + (".gz" if compress else "")
    path, key = folder / name, f"raw/2025/06/11/{name}"
    write(path, shape, count, compress)
    size = path.stat().st_size
    s3 = client("s3", settings)
    with path.open("rb") as body:  # one PutObject (moto notifies a multipart upload twice; see test_versions.py)
        s3.put_object(Bucket=settings.bucket, Key=key, Body=body)
    path.unlink()
    environment = {**os.environ, **settings.environment(), "ENERGY_ENDPOINT_URL": settings.endpoint}
    done = subprocess.run(
        [sys.executable, "-m", "tests.benchmarks.handler"],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    [row] = [r for r in raw_objects.ingest_status(settings, s3, client("dynamodb", settings)) if r["key"] == key]
    return {**result, **row, "shape": shape + (".gz" if compress else ""), "readings": count, "bytes": size}


def report(runs: list[dict[str, Any]]) -> None:
    print(f"\nThe handler end to end on moto (one warm container), function memory {FUNCTION.memory_mb} MB")
    print(
        f"{'shape':<10}{'readings':>10}{'file MB':>9}{'peak MiB':>10}{'base MiB':>10}{'invocations':>13}"
        f"{'wall s':>9}{'CPU s':>8}{'readings/s':>12}"
    )
    for r in sorted(runs, key=lambda r: (r["shape"], r["readings"])):
        print(
            f"{r['shape']:<10}{r['readings']:>10}{r['bytes'] / 1e6:>9.1f}{r['peak_kib'] / 1024:>10.1f}"
            f"{r['baseline_kib'] / 1024:>10.1f}{r['invocations']:>13}{r['wall_s']:>9.1f}{r['cpu_s']:>8.1f}"
            f"{r['readings'] / r['wall_s']:>12.0f}"
        )


@pytest.fixture(scope="module")
def measured(moto_port: int, tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    runs = []
    for shape, count, compress in RUNS:
        settings = fresh_stack(moto_port, tmp_path_factory.mktemp("handler"))  # moto emptied for every file
        runs.append(handler_run(settings, tmp_path_factory.mktemp("files"), shape, count, compress))
    fresh_stack(moto_port, tmp_path_factory.mktemp("handler"))  # let moto forget the last million
    report(runs)
    fields = ("shape", "readings", "bytes", "peak_kib", "baseline_kib", "invocations", "wall_s", "cpu_s")
    results.write("handler_memory", [{field: r[field] for field in fields} for r in runs])
    return runs


def test_every_reading_is_stored_and_counted(measured: list[dict[str, Any]]) -> None:
    for r in measured:
        counts = (r["status"], r["read"], r["stored"], r["quarantined"], r["anomalies"])
        assert counts == ("processed", r["readings"], r["readings"], 0, len(range(0, r["readings"], 97))), r


def test_peak_memory_is_flat_in_the_file_size_and_below_the_function_memory(measured: list[dict[str, Any]]) -> None:
    smallest = min(r["peak_kib"] for r in measured if r["readings"] == SMALL) / 1024
    for r in measured:
        peak = r["peak_kib"] / 1024
        assert peak <= smallest + FLAT_MARGIN_MIB, r
        assert peak < FUNCTION.memory_mb, r
