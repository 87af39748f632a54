"""A reading the pipeline flags CRITICAL (5,000 kWh generated, implausible) moves no total of the business report
and stretches no chart: it is counted and shown beside the totals, never in them."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import plotly.graph_objects as go
import pytest

from energy_lib.config import Settings
from energy_lib.workbook import simulator
from energy_lib.workbook.notebook import charts, frames, views
from tests.conftest import fresh_stack
from tests.integration.harness import Pipeline, put

pytestmark = pytest.mark.stack

START, END = "2025-06-11T00:00:00Z", "2025-06-12T00:00:00Z"
GLITCH = {"site_id": "SITE_003", "timestamp": "2025-06-11T12:02:00Z", "energy_generated_kwh": 5000}
HEALTHY = [{"resource": "bucket", "status": "healthy", "healthy": True, "detail": "reachable"}]


def report(settings: Settings) -> dict[str, Any]:
    """What the business report (notebook 04) and the explorer (03) show of the period, as their cells build it."""
    per_site, fleet = frames.summary(settings, START, END)
    hourly = frames.hourly(settings, START, END)
    return {
        "kpis": {item.label: item for item in views.kpis(fleet, HEALTHY, START, END).items},
        "table": views.site_table(per_site, fleet).data.set_index("Site"),
        "charts": {
            "site_comparison": charts.site_comparison(per_site),
            "efficiency_zones": charts.efficiency_zones(per_site),
            "generated_vs_consumed": charts.generated_vs_consumed(per_site),
            "net_energy_trend": charts.net_energy_trend(hourly),
            "hourly_heatmap": charts.hourly_heatmap(hourly),
        },
        "anomalies": charts.anomaly_distribution(per_site),
        "explorer": charts.energy_over_time(frames.readings(settings, "SITE_003", START, END), "SITE_003"),
    }


def extent(fig: go.Figure) -> float:
    """The largest magnitude a figure draws or scales to: plotted x, y and z values and explicit axis and colour
    ranges (hover data and labels, which carry true values, left out)."""
    values: list[float] = []
    for trace in fig.data:
        for name in ("x", "y", "z"):
            data = getattr(trace, name, None)
            if data is not None:
                flat = [v for row in data for v in (row if isinstance(row, list | tuple) else [row])]
                values += [abs(float(v)) for v in flat if isinstance(v, int | float) and v == v]
    layout = fig.layout
    for axis in (layout.xaxis, layout.yaxis):
        if axis.range is not None and all(isinstance(v, int | float) for v in axis.range):
            values += [abs(float(v)) for v in axis.range]
    for bound in (layout.coloraxis.cmin, layout.coloraxis.cmax):
        if bound is not None:
            values.append(abs(float(bound)))
    return max(values)


@pytest.fixture(scope="module")
def fleet_day(moto_port: int, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A day of a 4-site fleet at 30-minute intervals through the real pipeline (ingest and stream aggregator)."""
    settings = fresh_stack(moto_port, tmp_path_factory.mktemp("state"))
    run = simulator.simulate(simulator.default_fleet(4), datetime(2025, 6, 11, tzinfo=timezone.utc), 24, 30, seed=5)
    for file in simulator.to_files(run):
        put(settings, file.key, file.body)
    Pipeline(settings).drain()
    return settings


def test_a_critical_5000_kwh_reading_moves_no_total_and_stretches_no_chart(fleet_day: Settings) -> None:
    # GIVEN the report of a day of the fleet
    before = report(fleet_day)
    assert before["kpis"]["Efficiency"].text != "n/a"
    # WHEN SITE_003's meter sends 5,000 kWh generated in one reading, which the pipeline flags CRITICAL
    glitch = [{**GLITCH, "energy_consumed_kwh": 5.2}]
    put(fleet_day, "raw/2025/06/11/SITE_003-meter-glitch.json", json.dumps(glitch).encode())
    Pipeline(fleet_day).drain()
    after = report(fleet_day)

    # THEN the totals and the efficiency stay those of the valid readings: not one figure moves
    for label in ("Sites", "Generated [kWh]", "Consumed [kWh]", "Net [kWh]", "Efficiency"):
        assert after["kpis"][label].text == before["kpis"][label].text, label
    assert after["kpis"]["Efficiency"].accent == before["kpis"]["Efficiency"].accent
    assert int(after["kpis"]["Readings"].value) == int(before["kpis"]["Readings"].value) + 1
    # AND the flagged reading is shown beside them: its energy, its severity, its site
    flagged_before = float(before["kpis"]["Flagged generated [kWh]"].value)
    assert float(after["kpis"]["Flagged generated [kWh]"].value) == pytest.approx(flagged_before + 5000)
    assert "CRITICAL" in after["kpis"]["Flagged generated [kWh]"].note
    row_before, row_after = before["table"].loc["SITE_003"], after["table"].loc["SITE_003"]
    assert row_after["Flagged generated [kWh]"] == pytest.approx(row_before["Flagged generated [kWh]"] + 5000)
    assert row_after["Flagged readings"] == row_before["Flagged readings"] + 1
    assert row_after["Generated [kWh]"] == row_before["Generated [kWh]"]
    assert row_after["Efficiency [%]"] == row_before["Efficiency [%]"]
    assert "CRITICAL" in row_after["Flagged by severity"]
    critical = {trace.name: dict(zip(trace.x, trace.y, strict=True)) for trace in after["anomalies"].data}["CRITICAL"]
    critical_before = {t.name: dict(zip(t.x, t.y, strict=True)) for t in before["anomalies"].data}["CRITICAL"]
    assert critical["SITE_003"] == critical_before["SITE_003"] + 1
    # AND no chart of totals draws it or scales to it: each draws and scales exactly as before; the hourly ones
    # (where the reading's hour would otherwise reach 5,000 kWh) stay far below it
    for name, fig in after["charts"].items():
        assert extent(fig) == extent(before["charts"][name]), name
    for name in ("net_energy_trend", "hourly_heatmap"):
        assert extent(after["charts"][name]) < 5000 / 2, name
    # AND the explorer, which shows every reading of the site, draws it at the edge with its true value
    explorer = after["explorer"]
    assert extent(explorer) < 5000 / 2
    assert any("5,000" in str(label.text) for label in explorer.layout.annotations)
