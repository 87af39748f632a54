"""The schedule: what is due, placeholders, periods, the schedule file."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
import subprocess
from datetime import datetime, timedelta, timezone

import pytest

from energy_lib.workbook import reports
from tests.conftest import REPO
from tests.reports.conftest import NOTEBOOKS, NOW

# --------------------------------------------------------------------------------------------- due


@pytest.mark.notebook
def test_due_is_idempotent_within_the_period_and_due_again_in_the_next(workspace, scheduled):
    schedule, _ = scheduled
    reports_dir = workspace / "reports"

    assert reports.due(schedule, reports_dir, NOW, NOTEBOOKS) == []
    assert reports.due(schedule, reports_dir, NOW.replace(minute=59, second=59), NOTEBOOKS) == []
    assert reports.run_due(schedule, reports_dir, NOTEBOOKS, now=NOW + timedelta(minutes=30)) == []

    (later,) = reports.due(schedule, reports_dir, NOW + timedelta(hours=1), NOTEBOOKS)
    assert later.period_start == datetime(2025, 6, 11, 11, tzinfo=timezone.utc)
    assert later.parameters == {"hours": "3", "label": "2025-06-11T10:00:00Z"}
    (earlier,) = reports.due(schedule, reports_dir, NOW - timedelta(hours=1), NOTEBOOKS)
    assert earlier.parameters["label"] == "2025-06-11T08:00:00Z"


def test_a_failed_or_running_run_also_counts_for_its_period(tmp_path):
    schedule = tmp_path / "schedule.toml"
    schedule.write_text('[[report]]\nnotebook = "report-fails"\nevery = "daily"\n')
    for status in ("failed", "running"):
        shutil.rmtree(tmp_path / "reports", ignore_errors=True)
        assert len(reports.due(schedule, tmp_path / "reports", NOW, NOTEBOOKS)) == 1
        run_dir = tmp_path / "reports" / "report-fails" / "run-1"
        run_dir.mkdir(parents=True)
        document = {
            "run_id": "run-1",
            "notebook": "report-fails",
            "parameters": {},
            "status": status,
            "error": None,
            "started_utc": "2025-06-11T00:01:00Z",
            "finished_utc": None,
            "paths": {"run_dir": "report-fails/run-1", "ipynb": "report-fails/run-1/report-fails.ipynb", "html": None},
            "schedule": {"entry": "report-fails:daily", "every": "daily", "period_start": "2025-06-11T00:00:00Z"},
        }
        (run_dir / "run.json").write_text(json.dumps(document))
        assert reports.due(schedule, tmp_path / "reports", NOW, NOTEBOOKS) == []
        assert len(reports.due(schedule, tmp_path / "reports", NOW + timedelta(days=1), NOTEBOOKS)) == 1


def test_a_run_whose_process_died_is_listed_as_failed_and_still_holds_its_period(tmp_path):
    # GIVEN a run.json left "running" by a process of this host that has ended (killed, say)
    schedule = tmp_path / "schedule.toml"
    schedule.write_text('[[report]]\nnotebook = "report-ok"\nevery = "daily"\n')
    ended = subprocess.Popen(["true"])
    ended.wait()
    run_dir = tmp_path / "reports" / "report-ok" / "run-1"
    run_dir.mkdir(parents=True)
    document = {
        "run_id": "run-1",
        "notebook": "report-ok",
        "status": "running",
        "started_utc": "2025-06-11T00:01:00Z",
        "paths": {"run_dir": "report-ok/run-1", "ipynb": "report-ok/run-1/report-ok.ipynb", "html": None},
        "schedule": {"entry": "report-ok:daily", "every": "daily", "period_start": "2025-06-11T00:00:00Z"},
        "host": socket.gethostname(),
        "pid": ended.pid,
    }
    (run_dir / "run.json").write_text(json.dumps(document))
    # WHEN the runs are listed and the index is written
    [record] = reports.list_runs(tmp_path / "reports")
    index = reports.write_index(tmp_path / "reports").read_text()
    # THEN it is failed, says why, and its period is not run again
    assert record.status == "failed" and f"pid {ended.pid}" in record.error
    assert "FAILED" in index and "ended before it finished" in index
    assert reports.due(schedule, tmp_path / "reports", NOW, NOTEBOOKS) == []
    # while a run of a live process (this one) stays running
    document["pid"] = os.getpid()
    (run_dir / "run.json").write_text(json.dumps(document))
    assert reports.list_runs(tmp_path / "reports")[0].status == "running"


def test_run_due_refuses_to_overlap_another_on_the_same_reports(tmp_path):
    schedule = tmp_path / "schedule.toml"
    schedule.write_text('[[report]]\nnotebook = "report-ok"\nevery = "hourly"\n')
    (tmp_path / "reports").mkdir()
    with open(tmp_path / "reports" / ".run_due.lock", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(reports.ReportBusy):
            reports.run_due(schedule, tmp_path / "reports", NOTEBOOKS, now=NOW)
    assert list((tmp_path / "reports").iterdir()) == [tmp_path / "reports" / ".run_due.lock"]


@pytest.mark.parametrize(
    ("every", "now", "start", "end"),
    [
        ("hourly", NOW, "2025-06-11T10:00:00Z", "2025-06-11T11:00:00Z"),
        ("daily", NOW, "2025-06-11T00:00:00Z", "2025-06-12T00:00:00Z"),
        ("weekly", NOW, "2025-06-09T00:00:00Z", "2025-06-16T00:00:00Z"),
        ("weekly", datetime(2025, 6, 9, tzinfo=timezone.utc), "2025-06-09T00:00:00Z", "2025-06-16T00:00:00Z"),
        ("daily", datetime(2025, 6, 11, 23, 59, 59, 999999, tzinfo=timezone.utc), "2025-06-11T00:00:00Z", None),
        ("monthly", NOW, "2025-06-01T00:00:00Z", "2025-07-01T00:00:00Z"),
        ("monthly", datetime(2024, 12, 31, 23, tzinfo=timezone.utc), "2024-12-01T00:00:00Z", "2025-01-01T00:00:00Z"),
        ("monthly", datetime(2024, 2, 29, tzinfo=timezone.utc), "2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z"),
    ],
)
def test_period_bounds(every, now, start, end):
    first, last = reports.period_bounds(every, now)
    assert first.strftime("%Y-%m-%dT%H:%M:%SZ") == start
    if end:
        assert last.strftime("%Y-%m-%dT%H:%M:%SZ") == end


def test_relative_date_templates_resolve_at_due_time():
    just_after_midnight = datetime(2025, 6, 11, 0, 5, tzinfo=timezone.utc)
    parameters = {
        "start_utc": "{previous_day_start}",
        "end_utc": "{previous_day_end}",
        "title": "Report of {previous_day_start:%Y-%m-%d} {{literal}}",
        "week": ["{previous_week_start}", "{week_start}"],
        "period": "{previous_period_start}/{period_end}",
        "hours": 6,
    }

    resolved = reports.resolve_parameters(parameters, just_after_midnight, every="daily")

    assert resolved == {
        "start_utc": "2025-06-10T00:00:00Z",
        "end_utc": "2025-06-11T00:00:00Z",
        "title": "Report of 2025-06-10 {literal}",
        "week": ["2025-06-02T00:00:00Z", "2025-06-09T00:00:00Z"],
        "period": "2025-06-10T00:00:00Z/2025-06-12T00:00:00Z",
        "hours": 6,
    }
    month_edge = reports.resolve_parameters(parameters, datetime(2025, 3, 1, 7, tzinfo=timezone.utc), "daily")
    assert month_edge["start_utc"] == "2025-02-28T00:00:00Z"
    months = {"last": "{previous_month_start}/{previous_month_end}", "this": "{month_start}", "own": "{period_start}"}
    assert reports.resolve_parameters(months, datetime(2025, 3, 1, 7, tzinfo=timezone.utc), "monthly") == {
        "last": "2025-02-01T00:00:00Z/2025-03-01T00:00:00Z",
        "this": "2025-03-01T00:00:00Z",
        "own": "2025-03-01T00:00:00Z",
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[report]]\nnotebook = "x"\nevery = "yearly"\n', "every must be one of"),
        ('[[report]]\nnotebook = "x"\nevery = "daily"\nparameters = { a = "{yesterday}" }\n', "unknown placeholder"),
        ('[[report]]\nnotebook = "x"\nevery = "daily"\nparameters = { a = "{now.year}" }\n', "unknown placeholder"),
        ('[[report]]\nnotebook = "x"\nevery = "daily"\nwhen = "x"\n', "unknown keys"),
        ('[[report]]\nnotebook = "x"\nevery = "daily"\n[[report]]\nnotebook = "x"\nevery = "daily"\n', "distinct"),
        ("[[report]\n", "schedule.toml"),
        ('[[report]]\nnotebook = "x"\nevery = "daily"\n', "#1 \\(x:daily\\): no notebook"),
        ('[[report]]\nnotebook = "report-ok"\nevery = "daily"\nparameters = { hours = 2.5 }\n', "hours: 2.5 is not"),
        ('[[report]]\nnotebook = "report-ok"\nevery = "daily"\nparameters = { hourz = 2 }\n', "no parameter"),
    ],
)
def test_bad_schedule_files_are_refused_with_the_reason(tmp_path, text, message):
    path = tmp_path / "schedule.toml"
    path.write_text(text)
    with pytest.raises(reports.ReportError, match=message):
        reports.load_schedule(path, NOTEBOOKS)


def test_the_repository_schedule_is_valid_and_names_workbook_notebooks():
    entries = reports.load_schedule(REPO / "schedule.toml", REPO / "notebooks")

    assert entries
    assert {entry.notebook for entry in entries} <= {path.stem for path in (REPO / "notebooks").glob("*.ipynb")}
    daily = next(entry for entry in entries if entry.notebook == "04-report-business" and entry.every == "daily")
    resolved = reports.resolve_parameters(daily.parameters, NOW, daily.every)
    assert resolved == {"start_utc": "2025-06-10T00:00:00Z", "end_utc": "2025-06-11T00:00:00Z"}
    monthly = next(entry for entry in entries if entry.notebook == "10-assess-fleet-performance")
    resolved = reports.resolve_parameters(monthly.parameters, NOW, monthly.every)
    assert (monthly.every, resolved["end_utc"], resolved["simulate_sites"]) == ("monthly", "2025-06-01T00:00:00Z", 0)
