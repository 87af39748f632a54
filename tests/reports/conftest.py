"""The two real papermill runs of the fixture notebooks in tests/notebooks that the report tests share
(one scheduled run that succeeds, one run that fails); everything else reads what they wrote or needs no
kernel."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

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


@pytest.fixture(scope="package")
def workspace(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("reports-workspace")


@pytest.fixture(scope="package")
def scheduled(workspace):
    """GIVEN a schedule with one hourly entry, WHEN what is due at NOW runs: one real papermill run."""
    schedule = workspace / "schedule.toml"
    schedule.write_text(SCHEDULE)
    runs = reports.run_due(schedule, workspace / "reports", NOTEBOOKS, now=NOW, target="aws")
    assert len(runs) == 1
    return schedule, runs[0]


@pytest.fixture(scope="package")
def failed(workspace, scheduled):
    """WHEN a notebook whose third cell raises runs: the second real papermill run."""
    with pytest.raises(reports.ReportFailed) as caught:
        reports.run_report("report-fails", {"label": "x"}, workspace / "reports", NOTEBOOKS)
    return caught.value
