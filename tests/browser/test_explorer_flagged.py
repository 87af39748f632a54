"""The explorer with negative flagged readings, in real headless Chromium: the exported report, the dashboard
(Voilà) and JupyterLab, on a real local stack holding a 5-minute day of three sites where SITE_003 has two HIGH
readings of about -75 kWh (issue 21: they set the axis to -90...97) and SITE_002 a CRITICAL one with three
reasons (its anomalies table was cut at the right in JupyterLab at 1,500 px).

Each test leaves a screenshot of what it looked at in ``test-artifacts/browser/`` (``docs/`` keeps copies)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from energy_lib.clients import client
from tests.browser import test_dashboard
from tests.browser.conftest import ARTIFACTS, LocalStack, lab_server, run_in_lab
from tests.browser.test_dashboard import CHART
from tests.conftest import REPO

pytestmark = [pytest.mark.browser, pytest.mark.stack]
FLAGGED = (("SITE_003", "2025-06-11T11:40:00Z", "-75.4", "1.9"), ("SITE_003", "2025-06-11T12:30:00Z", "-74.9", "2.1"))
CRITICAL = ("SITE_002", "2025-06-11T15:00:00Z", "-2000.5", "-5.25")  # negative, both, implausible
running, dashboard = test_dashboard.running, test_dashboard.dashboard  # the dashboard, on this module's stack
VALID_KWH = (-20.0, 20.0)  # the simulated day's valid readings (net down to about -13 kWh) lie well inside


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    result = LocalStack(tmp_path_factory.mktemp("flagged-stack"))
    result.env["ENERGY_REPORTS_DIR"] = str(tmp_path_factory.mktemp("reports"))
    result.run("local", "up")
    result.run("simulate", "--sites", "3", "--seed", "7", "--anomaly-rate", "0", "--json")
    rows = [
        {"site_id": s, "timestamp": t, "energy_generated_kwh": float(g), "energy_consumed_kwh": float(c)}
        for s, t, g, c in (*FLAGGED, CRITICAL)
    ]
    settings = result.settings
    client("s3", settings).put_object(
        Bucket=settings.bucket, Key="raw/2025/06/11/corrections.json", Body=json.dumps(rows).encode()
    )
    result.run("wait", "--timeout", "300")
    yield result
    result.run("local", "down")


def axis_and_labels(page: Any) -> dict[str, Any]:
    """The drawn chart's title, y axis range and the texts of its off-scale labels."""
    return page.evaluate(
        """(selector) => {
            const chart = document.querySelector(selector);
            const labels = (chart.layout.annotations || []).filter(a => a.name === 'off-scale label');
            return {title: chart.layout.title.text, range: chart._fullLayout.yaxis.range,
                    labels: labels.map(a => a.text)};
        }""",
        CHART,
    )


def assert_drawn_on_the_valid_readings(drawn: dict[str, Any]) -> None:
    low, high = drawn["range"]
    assert VALID_KWH[0] < low < 0 < high < VALID_KWH[1], drawn  # not -90...97
    assert sorted(drawn["labels"]) == ["▼ -74.9 kWh", "▼ -75.4 kWh"]


def shoot(page: Any, name: str, selector: str = ".energy-explorer, .widget-vbox") -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.locator(selector).first.screenshot(path=str(ARTIFACTS / name))


def test_the_exported_explorer_draws_negative_flagged_values_at_the_edge(stack: LocalStack, page: Any) -> None:
    # GIVEN the explorer notebook run as a report for SITE_003's day
    [run] = json.loads(stack.run("report", "run", "03-explore-readings", "-p", "site_id", "SITE_003", "--json"))
    html = Path(stack.env["ENERGY_REPORTS_DIR"]) / run["paths"]["html"]
    # WHEN it is opened, offline
    page.goto(html.as_uri())
    page.wait_for_function("(s) => document.querySelector(s)?._fullLayout?.yaxis", arg=CHART)
    # THEN the axis is that of the valid readings, the two flagged values at its edge with their true values
    drawn = axis_and_labels(page)
    assert drawn["title"] == "Energy of SITE_003"
    assert_drawn_on_the_valid_readings(drawn)
    shoot(page, "explorer-negative-flagged.png", ".energy-explorer")


def test_the_dashboard_explorer_keeps_its_axis_and_clears_a_range_it_cannot_draw(dashboard: str, page: Any) -> None:
    # GIVEN the dashboard's explorer on SITE_003
    page.goto(dashboard + "/voila/render/03-explore-readings.ipynb?site_id=SITE_003")
    page.wait_for_function("(s) => document.querySelector(s)?.layout?.title?.text === 'Energy of SITE_003'", arg=CHART)
    # THEN the axis is that of the valid readings, the flagged values at its edge with their true values
    assert_drawn_on_the_valid_readings(axis_and_labels(page))
    assert page.get_by_text("SITE_003: 288 readings, 2 anomalies").count() == 1
    shoot(page, "dashboard-explorer-negative-flagged.png")
    # WHEN a To day before From is picked
    to_day = page.locator(".widget-datepicker input").nth(1)
    to_day.fill("2025-06-10")
    to_day.dispatch_event("change")
    # THEN the message says why and no chart or table of the earlier range is left on the page
    page.get_by_text("Nothing drawn: To (2025-06-10) is before From (2025-06-11)").wait_for()
    page.wait_for_function("(s) => !document.querySelector(s)", arg=CHART)
    assert "Anomalies of SITE_003" not in page.inner_text("body")
    assert page.locator("table").count() == 0
    # WHEN To is on or after From again, THEN that day is drawn
    to_day.fill("2025-06-11")
    to_day.dispatch_event("change")
    page.wait_for_function("(s) => document.querySelector(s)?.layout?.title?.text === 'Energy of SITE_003'", arg=CHART)


@pytest.fixture(scope="module")
def lab(stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """JupyterLab on a copy of the explorer notebook whose first site is SITE_002 (its CRITICAL reading)."""
    root = tmp_path_factory.mktemp("lab")
    notebook = json.loads((REPO / "notebooks" / "03-explore-readings.ipynb").read_text())
    for cell in notebook["cells"]:
        if "parameters" in cell["metadata"].get("tags", []):
            cell["source"] = [line.replace('site_id: str = ""', 'site_id: str = "SITE_002"') for line in cell["source"]]
    (root / "03-explore-readings.ipynb").write_text(json.dumps(notebook))
    with lab_server(stack, root) as url:
        yield url


def anomalies_box(page: Any) -> dict[str, float]:
    """The anomalies table's and its box's edges [px], and the notebook panel's right edge."""
    return page.evaluate(
        """(selector) => {
            const box = document.querySelector(selector).closest('.widget-hbox').children[1];
            const table = box.querySelector('table').getBoundingClientRect();
            const own = box.getBoundingClientRect();
            const panel = document.querySelector('.jp-NotebookPanel').getBoundingClientRect();
            return {table_right: table.right, box_right: own.right, box_left: own.left, panel_right: panel.right,
                    box_top: own.top, chart_bottom: document.querySelector(selector).getBoundingClientRect().bottom};
        }""",
        CHART,
    )


def test_the_anomalies_table_is_never_cut_in_jupyterlab(lab: str, page: Any) -> None:
    # GIVEN the explorer run in JupyterLab at 1,500 px, on SITE_002 and its anomaly with three reasons
    page.set_viewport_size({"width": 1500, "height": 1000})
    run_in_lab(page, lab, "03-explore-readings.ipynb")
    page.wait_for_function(
        "(s) => document.querySelector(s)?.layout?.title?.text === 'Energy of SITE_002'"
        " && document.querySelector(s).closest('.widget-hbox').children[1].querySelector('table')",
        arg=CHART,
    )
    for width in (1500, 1100):
        page.set_viewport_size({"width": width, "height": 1000})
        page.wait_for_timeout(1000)  # the row wraps, or not, as the window resizes
        edges = anomalies_box(page)
        # THEN the whole table lies inside its box, and the box inside the notebook: beside the chart when both
        # fit, else below it
        assert edges["table_right"] <= edges["box_right"] + 1 <= edges["panel_right"] + 1, (width, edges)
        assert "implausible_magnitude" in page.locator(".widget-hbox .widget-output").nth(1).inner_text()
    assert edges["box_top"] >= edges["chart_bottom"]  # at 1,100 px: below the chart
    shoot(page, "jupyterlab-explorer-anomalies.png", ".jp-OutputArea:has(.widget-hbox)")
