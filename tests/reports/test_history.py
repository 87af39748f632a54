"""The run history table: rows of runs in Parquet, next to the reports or in S3 (a real moto server), and runs that
end at the same time all kept."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from energy_lib.clients import client
from energy_lib.config import Settings
from energy_lib.workbook.reports.history import HISTORY_FILE, HistoryStore, as_json, row_of
from energy_lib.workbook.reports.records import RunRecord

START = datetime(2025, 6, 12, 6, 15, tzinfo=timezone.utc)
COMMANDS = 40  # short `report history` processes, four at a time: with pq.read_table about one in five aborted


def record(reports: Path, n: int, status: str = "succeeded", **changes: object) -> RunRecord:
    run_dir = reports / "04-report-business" / f"run-{n:04d}"
    return RunRecord(
        run_id=f"run-{n:04d}",
        notebook="04-report-business",
        parameters={"start_utc": "2025-06-11T00:00:00Z", "hours": n},
        status=status,
        started_utc=START + timedelta(hours=n),
        finished_utc=START + timedelta(hours=n, seconds=42),
        error=None if status == "succeeded" else "ValueError: x",
        run_dir=run_dir,
        ipynb=run_dir / "04-report-business.ipynb",
        html=run_dir / "04-report-business.html",
        schedule={
            "entry": "business-daily",
            "every": "daily",
            "period_start": "2025-06-11T00:00:00Z",
            "period_end": "2025-06-12T00:00:00Z",
        },
        duration_s=42.125,
        timeout_s=900.0,
        reason=None if status == "succeeded" else "cell_error",
        failed_cell=None if status == "succeeded" else 7,
        figures={"fleet_energy_generated_kwh": 17592.934 + n, "fleet_efficiency_pct": None},
        **changes,
    )


def test_a_row_round_trips_through_parquet_with_every_field(tmp_path: Path) -> None:
    # GIVEN a failed scheduled run with figures, one of them undefined
    reports = tmp_path / "reports"
    run = record(reports, 1, "failed", alert={"kind": "report_failed", "message_id": "m-1"})
    store = HistoryStore.of(None, reports)
    # WHEN its row is added and read back
    store.add([row_of(run, reports)])
    [row] = store.rows()
    # THEN nothing is lost or rounded, times are UTC, paths relative to the reports
    assert (reports / HISTORY_FILE).is_file() and store.where == str(reports / HISTORY_FILE)
    assert row["figures"] == {"fleet_energy_generated_kwh": 17593.934, "fleet_efficiency_pct": None}
    assert row["started_utc"] == run.started_utc and row["period_start"] == datetime(2025, 6, 11, tzinfo=timezone.utc)
    assert (row["reason"], row["failed_cell"], row["alert"], row["attempts"]) == ("cell_error", 7, "report_failed", 1)
    assert row["ipynb"] == "04-report-business/run-0001/04-report-business.ipynb"
    document = as_json(row)
    assert document["parameters"] == {"hours": 1, "start_utc": "2025-06-11T00:00:00Z"}
    assert document["started_utc"] == "2025-06-12T07:15:00Z" and document["entry"] == "business-daily"


def test_adding_a_run_again_replaces_its_row_and_filters_pick_by_notebook_entry_and_start(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    store = HistoryStore.of(None, reports)
    store.add([row_of(record(reports, n), reports) for n in range(3)])
    store.add([row_of(record(reports, 1, "failed"), reports)])

    rows = store.rows()
    assert [(row["run_id"], row["status"]) for row in rows] == [
        ("run-0000", "succeeded"),
        ("run-0001", "failed"),
        ("run-0002", "succeeded"),
    ]
    assert len(store.rows("business-daily")) == len(store.rows("04-report-business")) == 3
    assert store.rows("05-operate-pipeline") == []
    assert [row["run_id"] for row in store.rows(since=START + timedelta(hours=1))] == ["run-0001", "run-0002"]


def writers(store: HistoryStore, reports: Path, count: int) -> None:
    """``count`` runs ending at the same moment, each adding its row from its own thread."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def add(n: int) -> None:
        try:
            barrier.wait()
            store.add([row_of(record(reports, n), reports)])
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=add, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_runs_ending_together_all_reach_the_local_history(tmp_path: Path) -> None:
    # GIVEN 12 runs that end at the same moment  WHEN each adds its row  THEN the table has all 12 (the lock works)
    reports = tmp_path / "reports"
    store = HistoryStore.of(None, reports)
    writers(store, reports, 12)
    assert sorted(row["run_id"] for row in store.rows()) == [f"run-{n:04d}" for n in range(12)]


def test_short_history_commands_at_once_all_exit_cleanly_with_the_whole_history(tmp_path: Path) -> None:
    # GIVEN a history of 30 runs
    reports = tmp_path / "reports"
    HistoryStore.of(None, reports).add([row_of(record(reports, n), reports) for n in range(30)])
    env = {**os.environ, "ENERGY_TARGET": "local", "ENERGY_REPORTS_DIR": str(reports)}
    command = [sys.executable, "-m", "energy_lib.workbook.cli", "report", "history", "--json"]
    # WHEN 40 processes read it, four at a time, each exiting as soon as it printed
    with ThreadPoolExecutor(4) as pool:
        results = list(
            pool.map(lambda _: subprocess.run(command, env=env, capture_output=True, text=True), range(COMMANDS))
        )
    # THEN every one exits 0 with all 30 runs: none aborts as it exits ("terminate called without an active
    # exception", when an Arrow thread let go of the bytes after the interpreter began to finalize)
    assert [(result.returncode, result.stderr) for result in results if result.returncode] == []
    assert {len(json.loads(result.stdout)) for result in results} == {30}


@pytest.mark.stack
def test_on_aws_the_history_is_in_s3_under_the_reports_prefix_and_concurrent_runs_all_reach_it(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the aws target (the moto server standing in for AWS)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "moto")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "moto")  # pragma: allowlist secret (moto takes any key)
    aws = Settings(
        target="aws", endpoint_url=settings.endpoint, bucket=settings.bucket, alerts_topic_arn=settings.topic_arn
    )
    store = HistoryStore.of(aws, tmp_path / "reports")
    assert store.where == f"s3://{settings.bucket}/reports/history.parquet"
    assert store.rows() == []  # no history yet: nothing, not an error
    # WHEN 12 runs end at the same moment, each writing the table with a conditional put
    writers(store, tmp_path / "reports", 12)
    # THEN every run is in it: a writer that lost the race read the winner's table and added its row again
    assert sorted(row["run_id"] for row in store.rows()) == [f"run-{n:04d}" for n in range(12)]
    objects = client("s3", settings).list_objects_v2(Bucket=settings.bucket, Prefix="reports/")["Contents"]
    assert [item["Key"] for item in objects] == ["reports/history.parquet"]
    assert not (tmp_path / "reports" / HISTORY_FILE).exists()
