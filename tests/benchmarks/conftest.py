"""The write-unit measurements of the three file shapes, made once per session (test_write_units prints them,
test_cost_model prices them)."""

from __future__ import annotations

import pytest

from tests.benchmarks.shapes import MODES, SHAPES, Measured, run_shape
from tests.conftest import fresh_stack


@pytest.fixture(scope="session")
def measured(moto_port: int, tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Measured]:
    results = {}
    for shape in SHAPES:
        for mode in MODES:
            settings = fresh_stack(moto_port, tmp_path_factory.mktemp("shape"))
            results[(shape, mode)] = run_shape(settings, shape, mode)
    return results
