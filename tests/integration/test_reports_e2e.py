"""The business report and the schedule through the real report runner, on a real local stack."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from energy_lib import query
from energy_lib.clients import client
from energy_lib.config import Settings
from energy_lib.workbook import simulator
from energy_lib.workbook.aws import ops
from energy_lib.workbook.cli.reports import NOTEBOOKS
from energy_lib.workbook.local import stack as local_stack
from tests.conftest import free_port

pytestmark = pytest.mark.stack

START, END = "2025-06-11T06:00:00Z", "2025-06-11T12:00:00Z"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A local stack of its own, with 3 sites x 12 hours processed; yields the environment that selects it."""
    env = {
        **os.environ,
        "ENERGY_LOCAL_PORT": str(free_port()),
        "ENERGY_STATE_DIR": str(tmp_path_factory.mktemp("stack")),
        "ENERGY_REPORTS_DIR": str(tmp_path_factory.mktemp("reports")),
    }
    settings = Settings.from_env(env)
    local_stack.up(settings)
    run = simulator.simulate(simulator.default_fleet(3), query.utc("2025-06-11"), 12, 15, 0.05, seed=5)
    simulator.upload(simulator.to_files(run), settings.bucket, client("s3", settings), progress=False)
    ops.wait(settings, timeout_s=120)
    yield env
    local_stack.down(settings)


def cli(env: dict[str, str], *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "energy_lib.workbook.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        cwd=cwd,
    )


def cell_text(notebook: dict, marker: str) -> str:
    [cell] = [c for c in notebook["cells"] if c["cell_type"] == "code" and marker in "".join(c["source"])]
    return "".join("".join(o.get("text", "")) for o in cell["outputs"])


def test_business_report_with_non_default_parameters(stack: dict[str, str]) -> None:
    # WHEN the business report runs for six hours of one day with a heatmap in Berlin time
    result = cli(
        stack, "report", "run", "04-report-business",
        "-p", "start_utc", START, "-p", "end_utc", END, "-p", "heatmap_tz", "Europe/Berlin", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    [run] = json.loads(result.stdout)
    reports = Path(stack["ENERGY_REPORTS_DIR"])
    record = json.loads((reports / run["paths"]["run_dir"] / "run.json").read_text())
    # THEN the parameters are recorded, typed, and injected into the executed notebook
    assert record["status"] == "succeeded"
    assert record["parameters"] == {
        "target": "local",
        "start_utc": START,
        "end_utc": END,
        "heatmap_tz": "Europe/Berlin",
    }
    assert sorted(record["overrides"]) == ["end_utc", "heatmap_tz", "start_utc", "target"]
    executed = json.loads((reports / run["paths"]["ipynb"]).read_text())
    injected = [c for c in executed["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
    assert "Europe/Berlin" in "".join(injected[0]["source"])
    # AND the KPIs are those of `query summary` for the same range
    summary = json.loads(cli(stack, "query", "summary", "--start", START, "--end", END, "--json").stdout)["fleet"]
    assert summary["readings"] == 3 * 24
    expected = f"sites {summary['sites']} readings {summary['readings']} anomalies {summary['anomalies']}"
    assert cell_text(executed, "NBVAL_CHECK_OUTPUT").strip() == expected
    kpi_cell = next(c for c in executed["cells"] if "views.kpis" in "".join(c["source"]))
    kpi_html = kpi_cell["outputs"][0]["data"]["text/html"]
    kpi_html = "".join(kpi_html) if isinstance(kpi_html, list) else kpi_html
    exact = Decimal(str(summary["energy_generated_kwh"]))
    assert f'<data value="{exact}">{exact.quantize(Decimal("0.1")):,}</data>' in kpi_html  # every digit for machines
    # AND the HTML has no code, every chart, and plotly.js exactly once
    html = (reports / run["paths"]["html"]).read_text()
    assert "display.show(" not in html and "from energy_lib" not in html
    assert html.count('class="plotly-graph-div') >= 5
    assert html.count("plotly.js v") == 1
    assert "Europe/Berlin" in html
    index = (reports / "index.html").read_text()
    assert run["run_id"] in index


def test_a_failing_report_is_kept_and_marked_failed(stack: dict[str, str]) -> None:
    # a run that starts and then fails: the aws target, with none of the deployment's names to connect to
    result = cli(stack, "report", "run", "04-report-business", "-p", "target", "aws", "--json")
    assert result.returncode == 1
    assert "report run(s) failed" in result.stderr
    [run] = json.loads(result.stdout)
    reports = Path(stack["ENERGY_REPORTS_DIR"])
    assert run["status"] == "failed"
    html = (reports / run["paths"]["html"]).read_text()
    assert "ConfigError" in html and "needs the deployment" in html
    assert (reports / run["paths"]["ipynb"]).exists()
    index = (reports / "index.html").read_text()
    assert run["run_id"] in index and "FAILED" in index


def test_report_due_runs_each_entry_once_per_period(stack: dict[str, str], tmp_path: Path) -> None:
    schedule = tmp_path / "schedule.toml"
    schedule.write_text(
        '[[report]]\nnotebook = "01-check-provisioning"\nevery = "hourly"\n'
        '[[report]]\nnotebook = "04-report-business"\nevery = "daily"\n'
        '[report.parameters]\nstart_utc = "{previous_day_start}"\nend_utc = "{previous_day_end}"\n'
    )
    env = {**stack, "ENERGY_REPORTS_DIR": str(tmp_path / "reports")}
    args = ["report", "due", "--schedule", str(schedule), "--now", "2025-06-12T08:30:00Z", "--json"]
    first = cli(env, *args)
    assert first.returncode == 0, first.stderr
    runs = json.loads(first.stdout)
    assert sorted(r["notebook"] for r in runs) == ["01-check-provisioning", "04-report-business"]
    business = next(r for r in runs if r["notebook"] == "04-report-business")
    assert {k: business["parameters"][k] for k in ("start_utc", "end_utc")} == {
        "start_utc": "2025-06-11T00:00:00Z",
        "end_utc": "2025-06-12T00:00:00Z",
    }
    # the same hour again: nothing is due
    assert json.loads(cli(env, *args).stdout) == []
    # an hour later only the hourly entry is due
    later = json.loads(cli(env, *args[:-2], "2025-06-12T09:05:00Z", "--json").stdout)
    assert [r["notebook"] for r in later] == ["01-check-provisioning"]
    assert NOTEBOOKS.is_dir()


def test_publish_summary_reaches_the_alerts_queue_apart_from_anomaly_alerts(stack: dict[str, str]) -> None:
    result = cli(stack, "report", "publish-summary", "--start", "2025-06-11", "--end", "2025-06-12")
    assert result.returncode == 0, result.stderr
    assert "Energy summary 2025-06-11: 144 readings" in result.stdout  # 3 sites x 12 hours at 15 minutes
    alerts = json.loads(cli(stack, "ops", "alerts", "--json").stdout)
    [summary] = [a for a in alerts if a["kind"] == "summary"]
    assert summary["severity"] == "" and "Sites 3, readings 144" in summary["message"]
    assert all(a["severity"] for a in alerts if a["kind"] == "anomaly")


def test_a_report_configured_for_aws_by_a_relative_outputs_file_runs_on_that_target(
    stack: dict[str, str], tmp_path: Path
) -> None:
    # GIVEN a saved `terraform output -json` next to where the command runs, named by a relative path, and an
    # endpoint override standing in for AWS (the stack's moto server, with moto's placeholder keys)
    settings = Settings.from_env(stack)
    outputs = {name: {"value": value} for name, value in settings.public_view().items() if name != "endpoint_url"}
    (tmp_path / "terraform-outputs.json").write_text(json.dumps(outputs))
    env = {
        **{k: v for k, v in stack.items() if k != "ENERGY_TARGET"},
        "ENERGY_TERRAFORM_OUTPUTS": "terraform-outputs.json",
        "ENERGY_ENDPOINT_URL": settings.endpoint,
        "AWS_ACCESS_KEY_ID": "moto",
        "AWS_SECRET_ACCESS_KEY": "moto",  # pragma: allowlist secret (moto takes any key)
    }
    # WHEN the business report runs without naming a target (the kernel runs in notebooks/, not here)
    result = cli(env, "report", "run", "04-report-business", "--json", cwd=tmp_path)
    # THEN it ran on the aws target with the file's names (without them, connect("aws") refuses)
    assert result.returncode == 0, result.stderr
    [run] = json.loads(result.stdout)
    assert run["parameters"]["target"] == "aws" and run["status"] == "succeeded"


def test_bad_report_input_is_a_usage_error_and_runs_nothing(stack: dict[str, str], tmp_path: Path) -> None:
    env = {**stack, "ENERGY_REPORTS_DIR": str(tmp_path / "reports")}
    for args in (
        ["report", "run", "04-report-business", "-p", "no_such_parameter", "1"],
        ["report", "run", "02-run-simulation", "-p", "sites", "five"],
        ["report", "run", "no-such-notebook"],
        ["report", "due", "--now", "not-a-time"],
    ):
        result = cli(env, *args)
        assert result.returncode == 2, (args, result.stderr)
        assert result.stderr.startswith("energy-workbook") and ": error: " in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert not (tmp_path / "reports").exists() or not list((tmp_path / "reports").glob("*/*/run.json"))
