"""The demo's data, then the simulation panel run with its defaults, on a real local stack: the demo's readings,
registry and injected faults are still there (issue 21: the panel's defaults replaced the demo's 2025-06-11
with 5-minute readings and re-registered every site at 5 minutes, and the site-health report lost its faults)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest

from energy_lib import query
from energy_lib.clients import client
from energy_lib.config import Settings
from energy_lib.workbook.aws import ops
from energy_lib.workbook.cli.reports import NOTEBOOKS
from energy_lib.workbook.local import stack as local_stack
from energy_lib.workbook.notebook import simulation_panel
from energy_lib.workbook.reports.parameters import declared_parameters
from energy_lib.workbook.simulator import runs
from energy_lib.workbook.sites import registry
from tests.conftest import free_port

pytestmark = pytest.mark.stack
SITES = [f"SITE_{n:03d}" for n in range(1, 6)]


def notebook_default(notebook: str, name: str) -> str:
    """A parameter's default in a notebook's parameters cell, as text."""
    return declared_parameters(NOTEBOOKS / f"{notebook}.ipynb")[name].default.strip("\"'")


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A local stack of its own holding the demo's data: notebook 02 run as `make demo` runs it."""
    environment = {
        **os.environ,
        "ENERGY_LOCAL_PORT": str(free_port()),
        "ENERGY_STATE_DIR": str(tmp_path_factory.mktemp("stack")),
        "ENERGY_REPORTS_DIR": str(tmp_path_factory.mktemp("reports")),
    }
    environment.pop("ENERGY_ENDPOINT_URL", None)
    settings = Settings.from_env(environment)
    local_stack.up(settings)
    assert cli(environment, "report", "run", "02-run-simulation").returncode == 0
    yield environment
    local_stack.down(settings)


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "energy_lib.workbook.cli", *args], capture_output=True, text=True, env=env, timeout=1200
    )


def demo_state(env: dict[str, str], settings: Settings) -> dict[str, Any]:
    """What the demo's period holds: each site's readings, the registry and the site-health report of notebook
    06's default period (every event with its site, start and duration)."""
    start, end = (
        notebook_default("06-assess-site-health", "start_utc"),
        notebook_default("06-assess-site-health", "end_utc"),
    )
    as_of = notebook_default("06-assess-site-health", "as_of_utc")
    first = notebook_default("02-run-simulation", "start_utc")
    dynamodb = client("dynamodb", settings)
    readings = {
        site: [
            (r["timestamp"], r["energy_generated_kwh"], r["energy_consumed_kwh"])
            for r in query.readings(settings, dynamodb, site, first, end)
        ]
        for site in SITES
    }
    assessed = cli(env, "sites", "assess", "--start", start[:10], "--end", end[:10], "--as-of", as_of, "--json")
    assert assessed.returncode == 0, assessed.stderr
    return {
        "readings": readings,
        "registry": [site.row() for site in registry.list_sites(settings, dynamodb)],
        "health": json.loads(assessed.stdout),
    }


def test_a_default_panel_run_after_the_demo_keeps_the_demo_s_readings_and_faults(env: dict[str, str]) -> None:
    settings = Settings.from_env(env)
    before = demo_state(env, settings)
    # the demo as the README tells it: 5 sites of half-hourly readings, its four faults found
    assert {len(rows) for site, rows in before["readings"].items() if site != "SITE_005"} == {8 * 48}
    assert {site["interval_minutes"] for site in before["registry"]} == {30}
    found = {(event["kind"], event["site_id"]) for event in before["health"]}
    assert {("site_silent", "SITE_005"), ("frozen_values", "SITE_002"), ("daytime_outage", "SITE_004")} <= found
    assert ("underperformance", "SITE_003") in found
    # WHEN the simulation panel (notebook 09, its default start) runs once with every default
    start = notebook_default("09-control-simulator", "start_utc")
    panel = simulation_panel.panel(
        partial(runs.plan, settings), partial(runs.run_once, settings), partial(runs.run_batches, settings), start
    )
    panel.run_button.click()
    assert panel.wait(600) and panel.result is not None, panel.status.value
    ops.wait(settings, timeout_s=600)
    # THEN it said what it would have replaced, and appended after the demo's last reading instead
    assert "holds 228 stored readings of 5 sites that this run would replace" in panel.status.value
    assert "appends after the latest stored reading (2025-06-11 23:30 UTC) instead, from 2025-06-12 00:00 UTC" in (
        panel.status.value
    )
    assert "5 registered sites keep their entries" in panel.status.value
    assert panel.result["appended"] and panel.result["start"] == "2025-06-12T00:00:00Z"
    assert panel.result["readings"] == 5 * 288 and panel.result["registered"] == 0
    # and the demo's readings, registry and site-health report (its faults) are as they were
    after = demo_state(env, settings)
    assert after["readings"] == before["readings"]
    assert after["registry"] == before["registry"]
    assert after["health"] == before["health"]
    appended = query.readings(settings, client("dynamodb", settings), "SITE_003", "2025-06-12", "2025-06-13")
    assert len(appended) == 288
