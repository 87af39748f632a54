"""A bad parameter value of every kind, from the command line and from the schedule file: one line on stderr,
exit 2, no kernel started and no run recorded (no local stack: nothing would reach it)."""

from __future__ import annotations

import json

import pytest

from energy_lib.workbook.cli import main
from tests.reports.bad_parameters import BAD


@pytest.fixture
def reports_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("ENERGY_REPORTS_DIR", str(tmp_path / "reports"))
    return tmp_path / "reports"


def refused_in_one_line(capsys: pytest.CaptureFixture[str]) -> str:
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("energy-workbook: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err.removeprefix("energy-workbook: error: ").rstrip("\n")


@pytest.mark.parametrize("bad", BAD, ids=lambda bad: f"{bad.kind}-{bad.name}={bad.value}")
def test_report_run_refuses_a_bad_value_and_records_no_run(bad, reports_dir, capsys):
    # WHEN a report is asked for with the bad value
    code = main(["report", "run", bad.notebook, "-p", bad.name, bad.value])
    # THEN exit 2, the message in one line, and nothing ran or was written (no run, no index)
    assert code == 2
    assert refused_in_one_line(capsys) == bad.message
    assert not reports_dir.exists()


@pytest.mark.parametrize("bad", BAD, ids=lambda bad: f"{bad.kind}-{bad.name}={bad.value}")
def test_report_due_refuses_a_schedule_with_a_bad_value_and_runs_nothing(bad, reports_dir, tmp_path, capsys):
    # GIVEN a schedule whose second entry has the bad value (the first one is good and due)
    schedule = tmp_path / "schedule.toml"
    schedule.write_text(
        '[[report]]\nnotebook = "01-check-provisioning"\nevery = "hourly"\n\n'
        f'[[report]]\nnotebook = "{bad.notebook}"\nevery = "daily"\n'
        f"[report.parameters]\n{bad.name} = {json.dumps(bad.value)}\n"
    )
    # WHEN what is due runs, or is only listed
    for listing in ([], ["--list"]):
        code = main(["report", "due", "--schedule", str(schedule), "--now", "2025-06-12T08:30:00Z", *listing])
        # THEN the file is refused as loaded: exit 2, one line naming the entry, and nothing ran
        assert code == 2
        assert refused_in_one_line(capsys) == f"{schedule} [[report]] #2 ({bad.notebook}:daily): {bad.message}"
    assert not list(reports_dir.glob("*/*/run.json"))
