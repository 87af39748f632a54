"""The report-history page: a recorded figure over the runs that succeeded, a line per schedule entry; the runs."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from energy_lib.config import Settings
from energy_lib.workbook.notebook import charts, report_history
from energy_lib.workbook.reports.history import HistoryStore, row_of
from tests.reports.test_history import START, record


def rows(tmp_path: Path) -> list[dict]:
    """Five daily business runs (the third failed), then one weekly; stored and read back like the page does."""
    reports = tmp_path / "reports"
    runs = [record(reports, n, "failed" if n == 2 else "succeeded") for n in range(5)]
    weekly = replace(record(reports, 5), schedule={"entry": "business-weekly", "every": "weekly"})
    HistoryStore.of(None, reports).add([row_of(run, reports) for run in [*runs, weekly]])
    return report_history.load(Settings(reports_dir=str(reports)))


def test_a_figure_is_drawn_over_the_runs_that_succeeded_a_line_per_entry(tmp_path: Path) -> None:
    frame = report_history.figures_frame(rows(tmp_path))
    fig = report_history.figure_chart(frame, "fleet_energy_generated_kwh")

    assert fig.layout.title.text == "fleet_energy_generated_kwh over 5 runs (1 failed run left out)"
    lines = {trace.name: list(trace.y) for trace in fig.data}
    assert lines == {
        "business-daily": [17592.934, 17593.934, 17595.934, 17596.934],
        "business-weekly": [17597.934],  # no period: placed at its start
    }
    assert fig.layout.xaxis.title.text == report_history.WHEN_AXIS
    assert fig.layout.yaxis.title.text == "fleet_energy_generated_kwh"


def test_a_figure_never_defined_or_never_recorded_says_so(tmp_path: Path) -> None:
    frame = report_history.figures_frame(rows(tmp_path))
    undefined = report_history.figure_chart(frame, "fleet_efficiency_pct")  # recorded, always None
    unknown = report_history.figure_chart(frame, "silent_sites")
    assert not charts.has_data(undefined) and "No run that succeeded recorded" in undefined.layout.annotations[0].text
    assert not charts.has_data(unknown) and "No run recorded silent_sites" in unknown.layout.annotations[0].text


def test_the_picker_redraws_and_its_static_copy_is_the_chart(tmp_path: Path) -> None:
    picker = report_history.figure_picker(rows(tmp_path), "fleet_energy_generated_kwh")
    assert picker.figure.options == ("fleet_efficiency_pct", "fleet_energy_generated_kwh")
    assert "5 runs" in picker.shown.layout.title.text
    picker.figure.value = "fleet_efficiency_pct"
    assert not charts.has_data(picker.shown)
    static = picker._repr_mimebundle_()["text/html"]
    assert "fleet_efficiency_pct" in static and "plotly" in static


def test_the_runs_table_lists_the_newest_first_with_status_and_reason(tmp_path: Path) -> None:
    table = report_history.runs_table(rows(tmp_path))
    data = table.data
    assert list(data["Entry"]) == ["business-weekly", *["business-daily"] * 5]
    assert list(data["Status"])[3] == "failed" and list(data["Reason"])[3] == "cell_error"
    assert list(data["Figures"]) == [2] * 6
    assert data["Started [UTC]"].iloc[0] == (START + timedelta(hours=5)).strftime("%Y-%m-%d %H:%M:%S")
    assert "6 runs, 1 failed" in table.to_html()


@pytest.mark.parametrize("history", [[], None])
def test_without_runs_the_page_says_what_to_do(history) -> None:
    rows_ = history or []
    assert "report due" in str(report_history.runs_table(rows_))
    picker = report_history.figure_picker(rows_)
    assert picker.shown is None and "report due" in picker._repr_mimebundle_()["text/html"]
