"""The site-health checks from the repository's schedule, through the real report runner on a real local stack:
each run publishes at most one alert, and never a second for the same checks and period."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from energy_lib.config import Settings
from energy_lib.workbook.aws import ops
from energy_lib.workbook.local import stack as local_stack
from tests.conftest import REPO, free_port

pytestmark = pytest.mark.stack
NOTEBOOK = "06-assess-site-health"


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "energy_lib.workbook.cli", *args], capture_output=True, text=True, env=env, timeout=900
    )
    assert result.returncode == 0, f"{args}: {result.stderr[-2000:]}"
    return result


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A local stack with 3 simulated sites over 2 days (SITE_003 silent from noon on the second) and a
    registered site that never reported."""
    env = {
        **os.environ,
        "ENERGY_LOCAL_PORT": str(free_port()),
        "ENERGY_STATE_DIR": str(tmp_path_factory.mktemp("stack")),
        "ENERGY_REPORTS_DIR": str(tmp_path_factory.mktemp("reports")),
    }
    cli(env, "local", "up")
    cli(env, "simulate", "--sites", "3", "--start", "2025-06-10", "--hours", "48", "--interval-minutes", "60",
        "--silent", "SITE_003", "2025-06-11T12:00:00Z", "--json")  # fmt: skip
    cli(env, "wait", "--timeout", "600", "--json")
    sites = tmp_path_factory.mktemp("registry") / "sites.csv"
    sites.write_text(
        "site_id,latitude,longitude,timezone,site_type,capacity_kw,interval_minutes\n"
        "QUIET,40.4,-3.7,Europe/Madrid,solar,50,15\n"
    )
    cli(env, "sites", "import", str(sites))
    yield env
    local_stack.down(Settings.from_env(env))


def health_alerts(env: dict[str, str]) -> list[dict]:
    return [row for row in ops.alerts(Settings.from_env(env)) if row["events"] is not None]


def test_the_scheduled_checks_alert_once_per_period(stack: dict[str, str], tmp_path: Path) -> None:
    # GIVEN the repository's schedule, reduced to its site-health entries (as written, placeholders and all)
    entries = [e for e in tomllib.loads((REPO / "schedule.toml").read_text())["report"] if e["notebook"] == NOTEBOOK]
    assert sorted(e["every"] for e in entries) == ["daily", "hourly"]
    text = ""
    for entry in entries:
        text += f'[[report]]\nnotebook = "{NOTEBOOK}"\nevery = "{entry["every"]}"\nname = "{entry["name"]}"\n'
        text += "[report.parameters]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in entry["parameters"].items())
    schedule = tmp_path / "schedule.toml"
    schedule.write_text(text)
    due = ["report", "due", "--schedule", str(schedule), "--json", "--now"]
    # WHEN cron runs what is due at 09:10, then again at 09:40 the same hour
    first = json.loads(cli(stack, *due, "2025-06-12T09:10:00Z").stdout)
    again = json.loads(cli(stack, *due, "2025-06-12T09:40:00Z").stdout)
    # THEN both checks ran once, each published one alert, and the second call ran and sent nothing
    assert sorted(run["parameters"]["checks"] for run in first) == ["freshness", "quality,performance"]
    assert all(run["status"] == "succeeded" for run in first) and again == []
    alerts = {row["kind"]: row for row in health_alerts(stack)}
    assert set(alerts) == {"site_silent", "data_quality"}
    assert "QUIET" in alerts["site_silent"]["sites"]  # registered, never reported
    assert set(alerts["data_quality"]["sites"].split(", ")) == {"QUIET", "SITE_003"}  # gaps on 2025-06-11
    assert alerts["data_quality"]["severity"] == "MEDIUM"
    # WHEN someone runs the hourly check again by hand in the same hour THEN it publishes nothing more
    cli(stack, "report", "run", NOTEBOOK, "-p", "checks", "freshness", "-p", "as_of_utc", "2025-06-12T09:55:00Z",
        "-p", "publish_alerts", "true")  # fmt: skip
    assert len(health_alerts(stack)) == 2
