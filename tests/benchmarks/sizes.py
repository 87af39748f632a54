"""How big a benchmark runs: small in `make test` (every benchmark, the same assertions, a run that fits in 20
minutes), full in `make bench` (``ENERGY_BENCHMARK_SIZE=full``: the sizes users have, for docs/benchmarks.md)."""

from __future__ import annotations

import os

FULL = os.environ.get("ENERGY_BENCHMARK_SIZE", "small") == "full"
SIZE = "full" if FULL else "small"


def size(small: int, full: int) -> int:
    """``full`` under `make bench`, ``small`` otherwise."""
    return full if FULL else small
