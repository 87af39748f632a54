"""Runs: real papermill runs into reports/<notebook>/<run-id>/ with run.json; refusals before a kernel
starts."""

from __future__ import annotations

import json
import os
import re

import nbformat
import pytest

from energy_lib.workbook import reports
from tests.reports.conftest import NOTEBOOKS

# --------------------------------------------------------------------------------------------- a good run


@pytest.mark.notebook
def test_run_json_records_every_parameter_the_run_used_and_the_schedule(workspace, scheduled):
    _, record = scheduled
    document = json.loads((record.run_dir / "run.json").read_text())

    assert document["notebook"] == "report-ok"
    assert document["status"] == "succeeded"
    assert document["error"] is None
    # the schedule's values, coerced; the runner's target; the notebook's defaults for the rest
    assert document["parameters"] == {
        "target": "aws",
        "hours": 3,
        "label": "2025-06-11T09:00:00Z",
        "ratio": 0.5,
        "first_site": None,
    }
    assert sorted(document["overrides"]) == ["hours", "label", "target"]
    assert 0 < document["duration_s"] < 600
    assert document["pid"] == os.getpid() and document["host"]
    assert document["schedule"] == {
        "entry": "report-ok:hourly",
        "every": "hourly",
        "period_start": "2025-06-11T10:00:00Z",
        "period_end": "2025-06-11T11:00:00Z",
    }
    assert document["started_utc"] <= document["finished_utc"]
    assert document["paths"]["ipynb"] == f"report-ok/{record.run_id}/report-ok.ipynb"
    assert document["paths"]["html"] == f"report-ok/{record.run_id}/report-ok.html"
    assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{8}", record.run_id)
    assert record.run_dir.parent == (workspace / "reports" / "report-ok").resolve()


@pytest.mark.notebook
def test_parameters_are_injected_into_the_executed_notebook(scheduled):
    _, record = scheduled
    notebook = nbformat.read(record.ipynb, as_version=4)

    injected = [cell for cell in notebook.cells if "injected-parameters" in cell.metadata.get("tags", [])]
    assert len(injected) == 1
    assert "hours = 3\n" in injected[0].source and 'target = "aws"\n' in injected[0].source
    printed = "".join(out.get("text", "") for cell in notebook.cells for out in cell.get("outputs", []))
    assert "PARAMS target='aws' hours=3 label='2025-06-11T09:00:00Z' ratio=0.5 first_site=None" in printed


# --------------------------------------------------------------------------------------------- a failed run


@pytest.mark.notebook
def test_a_failed_run_is_recorded_with_its_error(failed):
    record = failed.record
    document = json.loads((record.run_dir / "run.json").read_text())

    assert failed.failed == [record]
    assert document["status"] == "failed"
    assert "ValueError: boom from fixture x" in document["error"]
    assert document["parameters"] == {"label": "x"} and document["overrides"] == ["label"]
    assert record.ipynb.is_file() and record.html.is_file()


@pytest.mark.notebook
def test_a_failed_run_keeps_its_notebook_and_html_with_the_traceback(failed):
    record = failed.record
    executed = nbformat.read(record.ipynb, as_version=4)
    outputs = [out for cell in executed.cells for out in cell.get("outputs", [])]

    assert any(out.get("ename") == "ValueError" for out in outputs)
    assert any("BEFORE-FAILURE label=x" in out.get("text", "") for out in outputs)
    assert not any("NEVER-REACHED" in out.get("text", "") for out in outputs)
    html = record.html.read_text()
    assert "Traceback" in html
    assert "boom from fixture x" in html
    assert "raise ValueError(" in re.sub(r"<[^>]+>", "", html)  # the traceback quotes the line; no code cells


def test_a_taken_run_id_is_refused_before_anything_runs(tmp_path):
    (tmp_path / "report-ok" / "mine").mkdir(parents=True)
    with pytest.raises(reports.ReportError, match="exists already"):
        reports.run_report("report-ok", {}, tmp_path, NOTEBOOKS, run_id="mine")
    assert list((tmp_path / "report-ok").iterdir()) == [tmp_path / "report-ok" / "mine"]


def test_an_unknown_notebook_names_the_available_ones(tmp_path):
    with pytest.raises(reports.ReportError, match="report-ok"):
        reports.run_report("no-such-notebook", {}, tmp_path, NOTEBOOKS)
