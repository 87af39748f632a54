"""The notebook's figures and tables from a small fleet's results: each says its expectation, the waterfall
closes, the forest plot carries both intervals and the truth, and an empty period says so."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from energy_lib.workbook.fleet import charts, views
from energy_lib.workbook.fleet.analysis import SitePerformance
from energy_lib.workbook.notebook.charts import has_data


def test_every_figure_draws_and_names_its_expectation(small_fleet: dict[str, Any]) -> None:
    results = small_fleet["results"]
    for figure in (
        charts.lost_energy_ranking(results),
        charts.waterfalls(results),
        charts.soiling_profiles(results),
        charts.clipping(results),
    ):
        assert isinstance(figure, go.Figure) and has_data(figure)
        assert "weather" in figure.layout.title.text
    ranking = charts.lost_energy_ranking(results)
    assert [trace.name for trace in ranking.data] == ["outage", "clipping", "soiling", "degradation"]


def test_the_waterfall_steps_from_expected_to_actual_per_site_and_fleet(small_fleet: dict[str, Any]) -> None:
    results = small_fleet["results"]
    figure = charts.waterfalls(results)
    fleet = charts.fleet_row(results)
    assert [trace.name for trace in figure.data] == ["fleet", "PV_001", "PV_002", "PV_003"]
    first = figure.data[0]
    assert list(first.x) == ["expected", "outage", "clipping", "soiling", "degradation", "other", "actual"]
    assert (
        first.y[0] - sum(-step for step in first.y[1:6]) == fleet["actual_kwh"]
        or abs(first.y[0] + sum(first.y[1:6]) - fleet["actual_kwh"]) < 1.0
    )
    assert [button["label"] for button in figure.layout.updatemenus[0].buttons] == [
        "fleet",
        "PV_001",
        "PV_002",
        "PV_003",
    ]


def test_the_forest_plot_says_why_there_is_no_rate(small_fleet: dict[str, Any]) -> None:
    figure = charts.degradation_forest(small_fleet["results"], small_fleet["truth"])
    assert not has_data(figure)  # 45 days: every rate refused
    assert "needs 2 years" in figure.layout.annotations[0].text


def test_the_forest_plot_draws_both_intervals_and_the_injected_rate() -> None:
    rows = [
        {"site_id": "A", "expectation": "weather", "lost_energy_kwh": {}, "degradation_pct_per_year": -0.5,
         "degradation_ci68_pct_per_year": [-0.6, -0.4], "degradation_ci95_pct_per_year": [-0.7, -0.3]},
        {"site_id": "B", "expectation": "clear-sky", "lost_energy_kwh": {}, "degradation_pct_per_year": None,
         "degradation_refused": "needs 2 years of usable days; the period has 1.0"},
    ]  # fmt: skip
    results = [SitePerformance(row, daily=None) for row in rows]
    figure = charts.degradation_forest(results, {"A": {"degradation_pct_per_year": -0.45}})
    names = [trace.name for trace in figure.data]
    assert names.count("95 % interval") == 1 and names.count("68 % interval") == 1
    assert "injected (simulation's truth)" in names and "No rate" in figure.layout.annotations[0].text
    assert "weather" in figure.layout.title.text


def test_tables_and_the_check_line(small_fleet: dict[str, Any]) -> None:
    results, truth = small_fleet["results"], small_fleet["truth"]
    html = views.performance_table(results).to_html()
    assert "Availability, time [%]" in html and "PV_003" in html and "needs 2 years" in html
    assert "Degradation, injected [%/yr]" in views.truth_table(results, truth).to_html()
    summary = views.recovery_summary(results, truth)
    assert summary["sites"] == 3 and summary["availability_pct_median_abs_error"] <= 0.5
    assert summary["degradation_inside_ci95_pct"] is None
    line = views.check_line(results, truth)
    assert line.startswith("3 sites against weather; clock shifts: none; degradation refused: PV_001, PV_002, PV_003")
    assert views.check_line([], None).startswith("0 sites")
