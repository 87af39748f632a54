"""The write-unit measurements of the three file shapes, made once per session (test_write_units prints them,
test_cost_model prices them)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.benchmarks.shapes import MODES, SHAPES, Measured, fold_cpu_s, run_shape
from tests.conftest import fresh_stack

READINGS_PER_DAY = 1000 * 12 * 24  # the cost model's fleet


@pytest.fixture(scope="session")
def measured(moto_port: int, tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Measured]:
    results = {}
    fold = fold_cpu_s(READINGS_PER_DAY // 2)  # a compaction run at the fleet's size: the day file is half full
    for shape in SHAPES:
        for mode in MODES:
            settings = fresh_stack(moto_port, tmp_path_factory.mktemp("shape"))
            results[(shape, mode)] = replace(run_shape(settings, shape, mode), fold_cpu_s=fold)
    return results
