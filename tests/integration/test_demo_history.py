"""`energy-workbook demo` (the main job) on a private local stack, then `report history --json`: every notebook's
run is there with its figures, and the business and site-health reports' figures are their own KPIs to the last
digit (and the business figures those of `query summary`); the index shows the history; the demo's error
stream holds its own progress lines and nothing else (no kernel's warning)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import nbformat
import pytest

from energy_lib.config import Settings
from energy_lib.workbook.cli.reports import NOTEBOOKS
from energy_lib.workbook.local import stack as local_stack
from tests.conftest import free_port

pytestmark = [pytest.mark.stack, pytest.mark.notebook]
KPI_VALUE = re.compile(r'<data value="([^"]*)">')
PROGRESS = re.compile(r"local stack: http://127\.0\.0\.1:\d+$|running \d\d-[a-z-]+ \.\.\.$|  succeeded: /\S+\.html$")


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "energy_lib.workbook.cli", *args], capture_output=True, text=True, env=env, timeout=3600
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str], subprocess.CompletedProcess]]:
    env = {
        **os.environ,
        "ENERGY_LOCAL_PORT": str(free_port()),
        "ENERGY_STATE_DIR": str(tmp_path_factory.mktemp("demo-stack")),
        "ENERGY_REPORTS_DIR": str(tmp_path_factory.mktemp("demo-reports")),
    }
    result = cli(env, "demo")
    yield env, result
    local_stack.down(Settings.from_env(env))


def history_of(env: dict[str, str]) -> dict[str, dict]:
    result = cli(env, "report", "history", "--json")
    assert result.returncode == 0, result.stderr
    return {row["notebook"]: row for row in json.loads(result.stdout)}


def kpi_values(env: dict[str, str], row: dict) -> list[str]:
    """The machine values of the KPI strip in the run's executed notebook, in the strip's order."""
    executed = nbformat.read(Path(env["ENERGY_REPORTS_DIR"]) / row["ipynb"], as_version=4)
    [cell] = [c for c in executed.cells if c.cell_type == "code" and "\nkpis = " in f"\n{c.source}"]
    strips = [output["data"]["text/html"] for output in cell.outputs if "energy-kpis" in output["data"]["text/html"]]
    return KPI_VALUE.findall(strips[-1])


def test_the_demo_runs_every_notebook_into_the_history_with_quiet_kernels(demo) -> None:
    env, result = demo
    assert result.returncode == 0, result.stderr[-3000:]
    assert [line for line in result.stderr.splitlines() if not PROGRESS.match(line)] == []
    history = history_of(env)
    notebooks = sorted(path.stem for path in NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))
    assert sorted(history) == notebooks
    assert {row["status"] for row in history.values()} == {"succeeded"}
    assert all(row["entry"] is None and row["attempts"] == 1 and row["reason"] is None for row in history.values())


def test_the_business_figures_are_its_kpis_and_the_fleet_summary_to_the_last_digit(demo) -> None:
    env, _ = demo
    row = history_of(env)["04-report-business"]
    figures = row["figures"]
    kinds = "sites readings energy_generated_kwh energy_consumed_kwh net_energy_kwh efficiency_pct"
    assert list(figures) == [
        f"fleet_{name}" for name in f"{kinds} flagged_energy_generated_kwh anomaly_rate_pct".split()
    ]
    # the KPI strip's values for machines are the recorded figures, digit for digit
    assert [Decimal(value) for value in kpi_values(env, row)] == [Decimal(repr(v)) for v in figures.values()]
    # and they are the exact fleet summary of the report's period
    period = row["parameters"]
    summary = cli(env, "query", "summary", "--start", period["start_utc"], "--end", period["end_utc"], "--json")
    fleet = json.loads(summary.stdout, parse_float=Decimal)["fleet"]
    for name in ("energy_generated_kwh", "energy_consumed_kwh", "net_energy_kwh", "efficiency_pct", "anomaly_rate_pct"):
        assert Decimal(repr(figures[f"fleet_{name}"])) == Decimal(fleet[name]), name
    assert figures["fleet_readings"] == fleet["readings"] > 0


def test_the_site_health_figures_are_its_kpis_to_the_last_digit(demo) -> None:
    env, _ = demo
    row = history_of(env)["06-assess-site-health"]
    figures = row["figures"]
    checks = "registered_sites silent_sites fleet_completeness_pct quality_events underperforming_sites"
    assert list(figures) == checks.split()  # all checks ran: every KPI of the strip
    assert [Decimal(value) for value in kpi_values(env, row)] == [Decimal(repr(v)) for v in figures.values()]
    assert 0 < figures["fleet_completeness_pct"] <= 100


def test_the_index_and_the_history_page_show_the_history(demo) -> None:
    env, _ = demo
    reports = Path(env["ENERGY_REPORTS_DIR"])
    index = (reports / "index.html").read_text()
    entries = re.findall(r'<tr class="entry (\w+)"><td><b>([^<]+)</b>(.*?)</tr>', index, flags=re.S)
    assert {key for _, key, _ in entries} == set(history_of(env)) and {status for status, _, _ in entries} == {
        "succeeded"
    }
    business = next(row for _, key, row in entries if key == "04-report-business")
    assert "fleet_efficiency_pct" in business and "<polyline points=" in business
    page = history_of(env)["11-review-report-history"]
    html = (reports / page["html"]).read_text()
    assert "fleet_efficiency_pct over 1 run" in html and 'class="plotly-graph-div"' in html
