"""Reports run unattended, through the real command line and real kernels, against a real moto server: a run past
its time limit, a kernel that dies, transient AWS errors, a refused parameter, and the alerts each publishes
(read back from the alerts queue), the history they leave, locally and on the aws target (S3)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import nbformat
import pytest

from energy_lib.clients import client
from energy_lib.config import Settings
from energy_lib.workbook import reports
from energy_lib.workbook.aws import ops
from tests.conftest import REPO

pytestmark = [pytest.mark.stack, pytest.mark.notebook]

FIXTURES = REPO / "tests" / "notebooks"
SLEEPS, DIES, THROTTLED = (str(FIXTURES / f"report-{name}.ipynb") for name in ("sleeps", "dies", "throttled"))


def cli_env(settings: Settings, reports_dir: Path) -> dict[str, str]:
    return {**os.environ, **settings.environment(), "ENERGY_REPORTS_DIR": str(reports_dir)}


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "energy_lib.workbook.cli", *args], capture_output=True, text=True, env=env, timeout=900
    )


def report_alerts(settings: Settings) -> list[dict]:
    """The report alerts in the alerts queue, oldest first."""
    return sorted(
        (alert for alert in ops.alerts(settings) if alert["kind"].startswith("report_")),
        key=lambda alert: alert["sent_at"],
    )


def test_a_run_past_its_time_limit_fails_as_timeout_and_alerts_once_per_failing_streak(
    settings: Settings, tmp_path: Path
) -> None:
    env = cli_env(settings, tmp_path / "reports")
    hung = ["report", "run", SLEEPS, "-p", "seconds", "600", "--timeout", "1", "--json"]
    # WHEN a run that would sleep 10 minutes may take 1 second
    first = cli(env, *hung)
    # THEN it is stopped and recorded failed, reason timeout, the cell that was running named
    assert first.returncode == 1, first.stderr
    [run] = json.loads(first.stdout)
    assert (run["status"], run["reason"], run["timeout_s"]) == ("failed", "timeout", 1.0)
    assert "time limit of 1 s" in run["error"] and run["duration_s"] < 120
    executed = nbformat.read(tmp_path / "reports" / run["paths"]["ipynb"], as_version=4)
    stopped = executed.cells[run["failed_cell"]]
    assert [output.get("ename") for output in stopped.outputs if output.output_type == "error"] == ["Timeout"]
    # AND one report_failed reached the alerts queue, with its attributes and what happened
    [alert] = report_alerts(settings)
    assert (alert["kind"], alert["severity"], alert["notebook"]) == ("report_failed", "HIGH", "report-sleeps")
    assert "reason timeout" in alert["message"] and f"index {run['failed_cell']}" in alert["message"]
    assert str(tmp_path / "reports" / run["paths"]["ipynb"]) in alert["message"]
    assert "Run on demand" in alert["message"]

    # WHEN it fails again  THEN nothing more is published
    second = cli(env, *hung)
    assert second.returncode == 1 and json.loads(second.stdout)[0]["reason"] == "timeout"
    assert [alert["kind"] for alert in report_alerts(settings)] == ["report_failed"]

    # WHEN it succeeds  THEN report_recovered says so, once
    third = cli(env, "report", "run", SLEEPS, "-p", "seconds", "0", "--json")
    assert third.returncode == 0, third.stderr
    recovered = report_alerts(settings)[-1]
    assert [alert["kind"] for alert in report_alerts(settings)] == ["report_failed", "report_recovered"]
    assert recovered["severity"] == "LOW" and "after 2 failed run(s)" in recovered["message"]

    # AND the history lists the three runs with their reasons, alerts and the figure recorded before the sleep
    history = json.loads(cli(env, "report", "history", "--notebook", "report-sleeps", "--json").stdout)
    assert [(r["status"], r["reason"], r["alert"]) for r in history] == [
        ("failed", "timeout", "report_failed"),
        ("failed", "timeout", None),
        ("succeeded", None, "report_recovered"),
    ]
    assert history[-1]["figures"] == {"slept_s": 0.0}
    assert history[-1]["parameters"] == {"seconds": 0.0}


def test_a_killed_kernel_is_kernel_died_and_names_its_cell(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(reports.ReportFailed) as caught:
        reports.run_report(DIES, {}, tmp_path / "reports", settings=settings)
    run = caught.value.record
    assert (run.status, run.reason) == ("failed", "kernel_died")
    executed = nbformat.read(run.ipynb, as_version=4)
    assert "os.kill(" in executed.cells[run.failed_cell].source
    assert "BEFORE-DEATH" in json.dumps(executed.cells[run.failed_cell - 1].outputs)
    assert run.alert["kind"] == "report_failed"
    assert [alert["notebook"] for alert in report_alerts(settings)] == ["report-dies"]


def test_a_transient_aws_error_reruns_the_notebook_a_bounded_number_of_times(
    settings: Settings, tmp_path: Path
) -> None:
    once = replace(settings, report_retries=1)
    # GIVEN a notebook that is throttled once  WHEN it runs  THEN its second attempt succeeds, and nobody is alerted
    counter = tmp_path / "attempts-a.txt"
    run = reports.run_report(THROTTLED, {"attempts_file": str(counter), "failures": 1}, tmp_path / "r", settings=once)
    assert (run.status, run.attempts, len(counter.read_text().splitlines())) == ("succeeded", 2, 2)
    assert report_alerts(settings) == []
    # GIVEN one that stays throttled  WHEN it runs  THEN it fails after 1 + 1 attempts as aws_transient, and alerts
    counter = tmp_path / "attempts-b.txt"
    with pytest.raises(reports.ReportFailed) as caught:
        reports.run_report(THROTTLED, {"attempts_file": str(counter), "failures": 9}, tmp_path / "r", settings=once)
    failed = caught.value.record
    assert (failed.reason, failed.attempts, len(counter.read_text().splitlines())) == ("aws_transient", 2, 2)
    assert "ThrottlingException" in failed.error
    [alert] = report_alerts(settings)
    assert "reason aws_transient" in alert["message"] and "attempts 2" in alert["message"]
    # GIVEN an error botocore does not retry (access denied)  WHEN it runs  THEN it fails at once, as a cell error
    counter = tmp_path / "attempts-c.txt"
    denied = {"attempts_file": str(counter), "failures": 9, "code": "AccessDenied"}
    with pytest.raises(reports.ReportFailed) as caught:
        reports.run_report(THROTTLED, denied, tmp_path / "r", settings=once)
    assert (caught.value.record.reason, caught.value.record.attempts) == ("cell_error", 1)


def test_a_refused_parameter_runs_nothing_and_alerts_nobody(settings: Settings, tmp_path: Path) -> None:
    env = cli_env(settings, tmp_path / "reports")
    result = cli(env, "report", "run", SLEEPS, "-p", "no_such_parameter", "1")
    assert result.returncode == 2 and "no parameter" in result.stderr
    assert not (tmp_path / "reports" / reports.HISTORY_FILE).exists()
    assert not list((tmp_path / "reports").glob("*/*/run.json"))
    assert report_alerts(settings) == []


def test_a_schedule_entry_runs_within_its_own_time_limit(settings: Settings, tmp_path: Path) -> None:
    schedule = tmp_path / "schedule.toml"
    schedule.write_text(
        f'timeout_s = 600\n[[report]]\nnotebook = "{SLEEPS}"\nevery = "hourly"\nname = "sleepy"\ntimeout_s = 1\n'
        '[report.parameters]\nseconds = "600"\n'
    )
    env = cli_env(settings, tmp_path / "reports")
    result = cli(env, "report", "due", "--schedule", str(schedule), "--now", "2025-06-12T08:30:00Z", "--json")
    assert result.returncode == 1
    [run] = json.loads(result.stdout)
    assert (run["reason"], run["timeout_s"], run["schedule"]["entry"]) == ("timeout", 1.0, "sleepy")
    [alert] = report_alerts(settings)
    assert "Schedule entry: sleepy (hourly, period 2025-06-12T08:00:00Z to 2025-06-12T09:00:00Z" in alert["message"]


def test_on_aws_the_history_and_the_kept_files_are_in_s3(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the aws target (the moto server standing in for AWS, with moto's placeholder keys)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "moto")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "moto")  # pragma: allowlist secret (moto takes any key)
    aws = replace(settings, target="aws", alerts_topic_arn=settings.topic_arn)
    # WHEN a run fails there
    with pytest.raises(reports.ReportFailed) as caught:
        reports.run_report(SLEEPS, {"seconds": 600}, tmp_path / "reports", timeout_s=1, settings=aws)
    run = caught.value.record
    # THEN its files and the history are under reports/ in the bucket, and the alert points at them
    s3 = client("s3", settings)
    keys = {item["Key"] for item in s3.list_objects_v2(Bucket=settings.bucket, Prefix="reports/")["Contents"]}
    prefix = f"reports/report-sleeps/{run.run_id}/"
    assert keys == {
        "reports/history.parquet",
        "reports/index.html",
        f"{prefix}report-sleeps.ipynb",
        f"{prefix}report-sleeps.html",
        f"{prefix}run.json",
    }
    [alert] = report_alerts(settings)
    assert f"s3://{settings.bucket}/{prefix}report-sleeps.ipynb" in alert["message"]
    [row] = reports.HistoryStore.of(aws, tmp_path / "elsewhere").rows()
    assert (row["run_id"], row["reason"], row["ipynb"]) == (
        run.run_id,
        "timeout",
        f"s3://{settings.bucket}/{prefix}report-sleeps.ipynb",
    )
    assert not (tmp_path / "reports" / reports.HISTORY_FILE).exists()
