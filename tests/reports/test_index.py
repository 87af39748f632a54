"""The index page of every run."""

from __future__ import annotations

import re

import pytest

from energy_lib.workbook import reports
from tests.reports.conftest import NOW


@pytest.mark.notebook
def test_the_index_lists_every_run_and_marks_the_failed_one(workspace, scheduled, failed):
    index = (workspace / "reports" / "index.html").read_text()
    rows = re.findall(r"<tr class=\"(\w+)\">(.*?)</tr>", index, flags=re.S)

    assert [status for status, _ in rows] == ["failed", "succeeded"]  # newest first
    failed_row = rows[0][1]
    assert "report-fails" in failed_row and "FAILED" in failed_row and "boom from fixture x" in failed_row
    assert "hours=<code>3</code>" in rows[1][1]
    for target in re.findall(r'href="([^"]+)"', index):
        assert (workspace / "reports" / target).is_file(), target
    assert len(re.findall(r'href="', index)) == 4 + 2  # HTML and ipynb of each run; each entry's last run
    entries = re.findall(r"<tr class=\"entry (\w+)\">(.*?)</tr>", index, flags=re.S)
    assert [(status, row.split("</b>")[0].split("<b>")[1]) for status, row in entries] == [
        ("failed", "report-fails"),  # a run on demand: its notebook is its entry
        ("succeeded", "report-ok:hourly"),
    ]
    assert "reason" not in entries[1][1] and "cell_error" in entries[0][1] and "never" in entries[0][1]
    assert "<script" not in index and "http" not in index


def test_the_index_escapes_what_runs_hold_so_that_text_is_never_markup(tmp_path):
    # GIVEN a run whose notebook name, parameters and error hold markup
    reports_dir = tmp_path / "reports"
    run_dir = reports_dir / "odd<nb>" / "run-1"
    run_dir.mkdir(parents=True)
    record = reports.RunRecord(
        run_id="run-1",
        notebook="odd<nb>",
        parameters={"label": "<b>bold</b>", "site": "a&b"},
        overrides=("label",),
        status="failed",
        started_utc=NOW,
        finished_utc=NOW,
        error="ValueError: <script>alert('x')</script>",
        run_dir=run_dir,
        ipynb=run_dir / "odd<nb>.ipynb",
        html=None,
    )
    record.write(reports_dir)
    # WHEN the index is written
    index = reports.write_index(reports_dir).read_text()
    # THEN every value shows as text: escaped, with the given parameter in bold and the failure marked
    assert "<script" not in index and "<b>bold</b>" not in index and "odd<nb>" not in index
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in index
    assert "<b>label=<code>&#34;&lt;b&gt;bold&lt;/b&gt;&#34;</code></b>" in index
    assert "site=<code>&#34;a&amp;b&#34;</code>" in index
    assert '<tr class="failed">' in index and "✗ FAILED" in index and "odd&lt;nb&gt;" in index
    assert "1 runs, 1 failed." in index
