"""Every benchmark writes its figures as JSON under build/benchmarks/<name>.json, with the size it ran at, when,
where and with which versions; ``python -m tests.benchmarks.report`` turns them into docs/benchmarks.md."""

from __future__ import annotations

import json
import os
import platform
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path
from typing import Any

from tests.benchmarks.sizes import SIZE

OUT = Path(os.environ.get("ENERGY_BENCHMARKS_DIR", Path(__file__).resolve().parents[2] / "build" / "benchmarks"))
VERSIONS = ("boto3", "botocore", "moto", "pandas", "pyarrow", "duckdb", "pvlib")


def machine() -> dict[str, Any]:
    """Where a figure was measured: cores, memory, Python and the versions that move the figures."""
    memory_kb = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")
    )
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(memory_kb / 2**20, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": {name: version(name) for name in VERSIONS},
    }


def write(name: str, figures: dict[str, Any] | list[Any], **about: Any) -> Path:
    """Write ``figures`` of benchmark ``name`` to build/benchmarks/<name>.json (replacing an earlier run's)."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.json"
    record = {
        "benchmark": name,
        "size": SIZE,
        "measured_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": machine(),
        **about,
        "figures": figures,
    }
    path.write_text(json.dumps(record, indent=2, default=str) + "\n")
    return path
