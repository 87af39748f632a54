"""What the fleet-performance tests share: a small simulated fleet in a lake folder, with its truth, analysed
once against its weather stations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from energy_lib.config import Settings
from energy_lib.workbook.fleet import analysis
from energy_lib.workbook.simulator import fleet

START = datetime(2024, 4, 1, tzinfo=UTC)
DAYS = 45


@pytest.fixture(scope="package")
def small_fleet(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Three sites over 45 days at 30-minute readings: the run, its lake folder, sites, truth and results."""
    lake_dir: Path = tmp_path_factory.mktemp("fleet-lake")
    run = fleet.simulate_fleet(3, START, DAYS, 30, seed=11, workers=1)
    fleet.write_fleet(Settings(), run, lake_dir)
    sites = fleet.registry_entries(run.plants, 30)
    weather = analysis.site_weather(Settings(), sites, lake_dir)
    end = START + timedelta(days=DAYS)
    results = analysis.assess_fleet(Settings(), sites, START, end, lake_dir, weather, workers=1)
    return {
        "run": run,
        "lake_dir": lake_dir,
        "sites": sites,
        "truth": fleet.truth_document(run)["sites"],
        "results": results,
        "end": end,
    }
