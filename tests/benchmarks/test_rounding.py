"""Benchmark: what rounding to 9 decimals costs the processing (parse, validate, items; no AWS), in the same run:
one JSON Lines file whose values have 3 decimals (nothing to round) and one whose values are floats as a
float-computing producer writes them (up to 17 significant digits: every value rounded), each in a child
process (tests/benchmarks/processing.py). Asserted: every reading of both is stored. CPU seconds per reading
and their ratio are printed and written (build/benchmarks/rounding.json), never asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.benchmarks import results
from tests.benchmarks.sizes import size
from tests.conftest import REPO

pytestmark = pytest.mark.benchmark
READINGS = size(20_000, 500_000)
SITES = 100
START_EPOCH = 1_749_600_000  # 2025-06-11T00:00:00Z


def values(number: int, floats: bool) -> tuple[str, str]:
    """The reading's generated and consumed energy: 3 decimals, or the same energy computed in floats (a third of
    three times it), which Python's json writes with up to 17 significant digits."""
    generated, consumed = (number * 7919) % 250_000 / 1000, (number * 104_729) % 90_000 / 1000
    if floats:
        return repr(generated * 3 / 3 + 1 / 3), repr(consumed + 1 / 7)
    return f"{generated:.3f}", f"{consumed:.3f}"


def write(path: Path, floats: bool) -> None:
    with path.open("w") as out:
        for number in range(READINGS):
            generated, consumed = values(number, floats)
            out.write(
                f'{{"site_id": "SITE_{number % SITES:03d}", "timestamp": {START_EPOCH + 300 * (number // SITES)}, '
                f'"energy_generated_kwh": {generated}, "energy_consumed_kwh": {consumed}}}\n'
            )


def measure(path: Path) -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, "-m", "tests.benchmarks.processing", str(path), f"raw/{path.name}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1800,
        check=True,
    )
    return json.loads(result.stdout.splitlines()[-1])


def test_rounding_every_value_costs_the_processing_little(tmp_path: Path) -> None:
    measured = {}
    for name, floats in (("3 decimals", False), ("floats, all rounded", True)):
        path = tmp_path / f"{'floats' if floats else 'decimals'}.jsonl"
        write(path, floats)
        measured[name] = measure(path)
        path.unlink()
        counts = (measured[name]["read"], measured[name]["stored"], measured[name]["rounded"])
        assert counts == (READINGS, READINGS, READINGS if floats else 0), name
    plain, rounded = measured["3 decimals"], measured["floats, all rounded"]
    figures = {
        "readings": READINGS,
        "cpu_us_per_reading": {name: m["cpu_s"] / READINGS * 1e6 for name, m in measured.items()},
        "cpu_ratio_rounded_to_plain": rounded["cpu_s"] / plain["cpu_s"],
        "peak_mib": {name: m["peak_kib"] / 1024 for name, m in measured.items()},
    }
    results.write("rounding", figures)
    print(f"\nProcessing {READINGS:,} readings (JSON Lines), CPU per reading:")
    for name, m in measured.items():
        print(f"  {name:<22}{m['cpu_s'] / READINGS * 1e6:>8.1f} µs   peak {m['peak_kib'] / 1024:.0f} MiB")
    print(f"  rounded / plain: {figures['cpu_ratio_rounded_to_plain']:.2f}")
