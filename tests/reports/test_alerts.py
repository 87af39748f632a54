"""Report alerts: which run of a streak tells the alerts topic, and what its message says."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from energy_lib.workbook.reports import alerts
from tests.reports.test_history import START, record

KEPT = {"ipynb": "/srv/reports/04/run/04.ipynb", "html": "/srv/reports/04/run/04.html"}


def row(n: int, status: str, alert: str | None = None, entry: str = "business-daily") -> dict:
    return {"run_id": f"r{n}", "notebook": "04-report-business", "entry": entry, "status": status, "alert": alert,
            "started_utc": START}  # fmt: skip


@pytest.mark.parametrize(
    ("history", "status", "kind"),
    [
        ([], "failed", "report_failed"),  # the first failure ever
        ([row(1, "succeeded")], "failed", "report_failed"),
        ([row(1, "failed", "report_failed")], "failed", None),  # the streak was told: quiet
        ([row(1, "failed", "report_failed"), row(2, "failed")], "failed", None),
        ([row(1, "failed")], "failed", "report_failed"),  # its alert could not be sent: try again
        ([row(1, "failed", "report_failed"), row(2, "failed")], "succeeded", "report_recovered"),
        ([row(1, "failed", "report_failed"), row(2, "succeeded", "report_recovered")], "succeeded", None),
        ([row(1, "failed", "report_failed"), row(2, "succeeded")], "failed", "report_failed"),  # a new streak
        ([row(1, "failed")], "succeeded", None),  # nobody was told it failed
        ([], "succeeded", None),
        ([row(1, "failed", "report_failed", entry="other")], "failed", "report_failed"),  # another entry's streak
    ],
)
def test_one_alert_per_failing_streak_and_one_when_it_ends(tmp_path: Path, history, status, kind) -> None:
    run = record(tmp_path, 9, status)
    assert alerts.kind_to_publish(history, run) == kind


def test_a_run_on_demand_counts_toward_its_notebook() -> None:
    run = replace(record(Path("/r"), 9, "failed"), schedule=None)
    assert run.streak_key == "04-report-business"
    on_demand = [{**row(1, "failed", "report_failed"), "entry": None}]
    assert alerts.kind_to_publish(on_demand, run) is None


def test_the_failure_message_says_what_where_why_and_where_the_notebook_is(tmp_path: Path) -> None:
    run = replace(
        record(tmp_path, 9, "failed"),
        error_lines=("ValueError                                Traceback (most recent call last)", "ValueError: x"),
    )
    request = alerts.message("report_failed", run, KEPT)

    assert request["Subject"] == "[HIGH] Report failed: 04-report-business (cell_error)"
    text = request["Message"]
    assert "reason cell_error; failing cell: index 7" in text
    assert "Schedule entry: business-daily (daily, period 2025-06-11T00:00:00Z to 2025-06-12T00:00:00Z" in text
    assert "  ValueError: x" in text and "/srv/reports/04/run/04.ipynb" in text
    assert {name: value["StringValue"] for name, value in request["MessageAttributes"].items()} == {
        "kind": "report_failed",
        "severity": "HIGH",
        "notebook": "04-report-business",
        "entry": "business-daily",
    }


def test_the_recovery_message_counts_the_failed_runs_before_it(tmp_path: Path) -> None:
    streak = [row(1, "failed", "report_failed"), row(2, "failed")]
    request = alerts.message("report_recovered", record(tmp_path, 9), KEPT, streak)
    assert request["Subject"] == "[LOW] Report recovered: 04-report-business"
    assert "succeeded again after 2 failed run(s) since 2025-06-12T06:15:00Z" in request["Message"]
    assert request["MessageAttributes"]["severity"]["StringValue"] == "LOW"
