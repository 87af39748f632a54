"""Reports: real papermill runs of the fixture notebooks in tests/notebooks, HTML export, index, schedule.

Two notebook executions in all (one scheduled run that succeeds, one run that fails), shared by the tests
through module-scoped fixtures; everything else reads what they wrote or needs no kernel.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import socket
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import nbformat
import pytest

from energy_lib.workbook import reports
from tests.conftest import REPO

NOTEBOOKS = REPO / "tests" / "notebooks"
NOW = datetime(2025, 6, 11, 10, 20, tzinfo=timezone.utc)  # a Wednesday

SCHEDULE = """
[[report]]
notebook = "report-ok"
every = "hourly"
[report.parameters]
hours = "3"                        # a string, as from the command line: becomes the int 3
label = "{previous_hour_start}"    # filled when due
"""


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("reports-workspace")


@pytest.fixture(scope="module")
def scheduled(workspace):
    """GIVEN a schedule with one hourly entry, WHEN what is due at NOW runs: one real papermill run."""
    schedule = workspace / "schedule.toml"
    schedule.write_text(SCHEDULE)
    runs = reports.run_due(schedule, workspace / "reports", NOTEBOOKS, now=NOW, target="aws")
    assert len(runs) == 1
    return schedule, runs[0]


@pytest.fixture(scope="module")
def failed(workspace, scheduled):
    """WHEN a notebook whose third cell raises runs: the second real papermill run."""
    with pytest.raises(reports.ReportFailed) as caught:
        reports.run_report("report-fails", {"label": "x"}, workspace / "reports", NOTEBOOKS)
    return caught.value


# --------------------------------------------------------------------------------------------- a good run


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


def test_parameters_are_injected_into_the_executed_notebook(scheduled):
    _, record = scheduled
    notebook = nbformat.read(record.ipynb, as_version=4)

    injected = [cell for cell in notebook.cells if "injected-parameters" in cell.metadata.get("tags", [])]
    assert len(injected) == 1
    assert "hours = 3\n" in injected[0].source and 'target = "aws"\n' in injected[0].source
    printed = "".join(out.get("text", "") for cell in notebook.cells for out in cell.get("outputs", []))
    assert "PARAMS target='aws' hours=3 label='2025-06-11T09:00:00Z' ratio=0.5 first_site=None" in printed


def test_html_has_no_code_and_every_chart_with_plotlyjs_once(scheduled):
    _, record = scheduled
    html = record.html.read_text()
    executed = record.ipynb.read_text()

    assert "CODE-MARKER-setup" in executed
    assert "CODE-MARKER-setup" not in html
    assert "fixture_data.site_summary()" not in html
    assert "PARAMS target=&#x27;aws&#x27; hours=3" in html or "PARAMS target='aws' hours=3" in html
    # a cell tagged report-hide ran (its output is in the notebook) but is left out of the HTML
    assert "HIDDEN-MARKER" in executed and "HIDDEN-MARKER" not in html
    # a progress bar (a widget with no HTML copy) would show its first frame forever: it is left out
    assert "PROGRESS-MARKER" in executed and "PROGRESS-MARKER" not in html
    # two charts, the explorer's static copy of its chart; plotly.js itself once
    assert html.count('class="plotly-graph-div"') == 3
    assert html.count("plotly.js v") == 1
    assert "Energy of site-a" in html and "Anomalies of site-a" in html
    # nothing loaded from the network: no remote script, no widget manager from a CDN
    assert not re.search(r"<script[^>]+src=\"https?:", html)
    assert "html-manager" not in html
    # the summary heading the page
    assert "energy-run-summary" in html and "succeeded" in html


def test_the_exported_report_draws_its_charts_in_a_browser_with_no_network(scheduled, tmp_path):
    _, record = scheduled
    # every request but file:// goes to a closed port: nothing can come from the network
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    assert browser, "make test installs Chromium; install it (Debian: apt-get install chromium) to run this test"
    command = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--proxy-server=http://127.0.0.1:9",
        f"--user-data-dir={tmp_path}",
        "--virtual-time-budget=5000",
        "--dump-dom",
        record.html.as_uri(),
    ]
    dom = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True).stdout

    assert dom.count("plotly-graph-div js-plotly-plot") == 3  # plotly marks each div it has drawn
    assert dom.count('class="main-svg"') >= 3
    assert "Energy of site-a" in dom


# --------------------------------------------------------------------------------------------- a failed run


def test_a_failed_run_is_recorded_with_its_error(failed):
    record = failed.record
    document = json.loads((record.run_dir / "run.json").read_text())

    assert failed.failed == [record]
    assert document["status"] == "failed"
    assert "ValueError: boom from fixture x" in document["error"]
    assert document["parameters"] == {"label": "x"} and document["overrides"] == ["label"]
    assert record.ipynb.is_file() and record.html.is_file()


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


def test_the_index_lists_every_run_and_marks_the_failed_one(workspace, scheduled, failed):
    index = (workspace / "reports" / "index.html").read_text()
    rows = re.findall(r"<tr class=\"(\w+)\">(.*?)</tr>", index, flags=re.S)

    assert [status for status, _ in rows] == ["failed", "succeeded"]  # newest first
    failed_row = rows[0][1]
    assert "report-fails" in failed_row and "FAILED" in failed_row and "boom from fixture x" in failed_row
    assert "hours=<code>3</code>" in rows[1][1]
    for target in re.findall(r'href="([^"]+)"', index):
        assert (workspace / "reports" / target).is_file(), target
    assert len(re.findall(r'href="', index)) == 4
    assert "<script" not in index and "http" not in index


# --------------------------------------------------------------------------------------------- due


def test_due_is_idempotent_within_the_period_and_due_again_in_the_next(workspace, scheduled):
    schedule, _ = scheduled
    reports_dir = workspace / "reports"

    assert reports.due(schedule, reports_dir, NOW) == []
    assert reports.due(schedule, reports_dir, NOW.replace(minute=59, second=59)) == []
    assert reports.run_due(schedule, reports_dir, NOTEBOOKS, now=NOW + timedelta(minutes=30)) == []

    (later,) = reports.due(schedule, reports_dir, NOW + timedelta(hours=1))
    assert later.period_start == datetime(2025, 6, 11, 11, tzinfo=timezone.utc)
    assert later.parameters == {"hours": "3", "label": "2025-06-11T10:00:00Z"}
    (earlier,) = reports.due(schedule, reports_dir, NOW - timedelta(hours=1))
    assert earlier.parameters["label"] == "2025-06-11T08:00:00Z"


def test_a_failed_or_running_run_also_counts_for_its_period(tmp_path):
    schedule = tmp_path / "schedule.toml"
    schedule.write_text('[[report]]\nnotebook = "report-fails"\nevery = "daily"\n')
    for status in ("failed", "running"):
        shutil.rmtree(tmp_path / "reports", ignore_errors=True)
        assert len(reports.due(schedule, tmp_path / "reports", NOW)) == 1
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
        assert reports.due(schedule, tmp_path / "reports", NOW) == []
        assert len(reports.due(schedule, tmp_path / "reports", NOW + timedelta(days=1))) == 1


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
    assert reports.due(schedule, tmp_path / "reports", NOW) == []
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


# --------------------------------------------------------------------------------------------- no kernel


def test_a_taken_run_id_is_refused_before_anything_runs(tmp_path):
    (tmp_path / "report-ok" / "mine").mkdir(parents=True)
    with pytest.raises(reports.ReportError, match="exists already"):
        reports.run_report("report-ok", {}, tmp_path, NOTEBOOKS, run_id="mine")
    assert list((tmp_path / "report-ok").iterdir()) == [tmp_path / "report-ok" / "mine"]


def test_an_unknown_notebook_names_the_available_ones(tmp_path):
    with pytest.raises(reports.ReportError, match="report-ok"):
        reports.run_report("no-such-notebook", {}, tmp_path, NOTEBOOKS)


def test_string_parameters_take_the_types_the_notebook_declares():
    values = reports.coerce_parameters(
        NOTEBOOKS / "report-ok.ipynb", {"hours": "6", "ratio": "2", "label": "007", "first_site": "None"}
    )
    assert values == {"hours": 6, "ratio": 2.0, "label": "007", "first_site": None}
    assert type(values["hours"]) is int and type(values["ratio"]) is float
    assert reports.coerce_parameters(NOTEBOOKS / "report-ok.ipynb", {"first_site": "site-b"}) == {
        "first_site": "site-b"
    }


def test_bad_or_unknown_parameters_are_refused():
    with pytest.raises(reports.ReportError, match="hours"):
        reports.coerce_parameters(NOTEBOOKS / "report-ok.ipynb", {"hours": "six"})
    with pytest.raises(reports.ReportError, match="no parameter \\['hourz'\\]"):
        reports.coerce_parameters(NOTEBOOKS / "report-ok.ipynb", {"hourz": "6"})


def test_bool_list_and_dict_parameters(tmp_path):
    cell = nbformat.v4.new_code_cell(
        'dry_run: bool = False  # flag\nsites: list[str] = ["a"]  # sites\nlimits = {"a": 1}  # untyped dict\n',
        metadata={"tags": ["parameters"]},
    )
    path = tmp_path / "typed.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), path)

    assert reports.coerce_parameters(path, {"dry_run": "yes", "sites": "a, b", "limits": '{"b": 2}'}) == {
        "dry_run": True,
        "sites": ["a", "b"],
        "limits": {"b": 2},
    }
    assert reports.coerce_parameters(path, {"sites": '["x"]', "dry_run": False}) == {"sites": ["x"], "dry_run": False}
    with pytest.raises(reports.ReportError, match="dry_run"):
        reports.coerce_parameters(path, {"dry_run": "maybe"})


@pytest.mark.parametrize(
    ("every", "now", "start", "end"),
    [
        ("hourly", NOW, "2025-06-11T10:00:00Z", "2025-06-11T11:00:00Z"),
        ("daily", NOW, "2025-06-11T00:00:00Z", "2025-06-12T00:00:00Z"),
        ("weekly", NOW, "2025-06-09T00:00:00Z", "2025-06-16T00:00:00Z"),
        ("weekly", datetime(2025, 6, 9, tzinfo=timezone.utc), "2025-06-09T00:00:00Z", "2025-06-16T00:00:00Z"),
        ("daily", datetime(2025, 6, 11, 23, 59, 59, 999999, tzinfo=timezone.utc), "2025-06-11T00:00:00Z", None),
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


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[report]]\nnotebook = "x"\nevery = "monthly"\n', "every must be one of"),
        ('[[report]]\nnotebook = "x"\nevery = "daily"\nparameters = { a = "{yesterday}" }\n', "unknown placeholder"),
        ('[[report]]\nnotebook = "x"\nevery = "daily"\nparameters = { a = "{now.year}" }\n', "unknown placeholder"),
        ('[[report]]\nnotebook = "x"\nevery = "daily"\nwhen = "x"\n', "unknown keys"),
        ('[[report]]\nnotebook = "x"\nevery = "daily"\n[[report]]\nnotebook = "x"\nevery = "daily"\n', "distinct"),
        ("[[report]\n", "schedule.toml"),
    ],
)
def test_bad_schedule_files_are_refused_with_the_reason(tmp_path, text, message):
    path = tmp_path / "schedule.toml"
    path.write_text(text)
    with pytest.raises(reports.ReportError, match=message):
        reports.load_schedule(path)


def test_the_repository_schedule_is_valid_and_names_workbook_notebooks():
    entries = reports.load_schedule(REPO / "schedule.toml")

    assert entries
    assert {entry.notebook for entry in entries} <= set(reports.NOTEBOOKS)
    daily = next(entry for entry in entries if entry.notebook == "04-report-business" and entry.every == "daily")
    resolved = reports.resolve_parameters(daily.parameters, NOW, daily.every)
    assert resolved == {"start_utc": "2025-06-10T00:00:00Z", "end_utc": "2025-06-11T00:00:00Z"}
