"""The dashboard (Voilà) and the explorer in JupyterLab, in real headless Chromium, on a real local stack
holding a simulated day of two sites and one message in the dead-letter queue."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from energy_lib import query, raw_objects
from energy_lib.clients import client
from energy_lib.workbook.notebook import dashboard as dashboard_app
from energy_lib.workbook.notebook.display import FIGURE_HEIGHT_PX
from tests.browser.conftest import Dashboard, LocalStack, lab_server, run_in_lab, start_dashboard, stop
from tests.browser.pages import Traffic
from tests.conftest import REPO, listening_addresses
from tests.reports.bad_parameters import BAD

DAY = ("2025-06-11T00:00:00Z", "2025-06-12T00:00:00Z")  # the simulated day: the notebooks' default period
CHART = ".js-plotly-plot"
pytestmark = [pytest.mark.browser, pytest.mark.stack]


@pytest.fixture(scope="module")
def running(stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    started = start_dashboard(stack, tmp_path_factory.mktemp("dashboard"))
    yield started
    stop(started.process)


@pytest.fixture(scope="module")
def dashboard(running: Dashboard) -> str:  # here the address of the default dashboard (not conftest's culling one)
    return running.url


def chart_state(page: Any) -> dict[str, Any]:
    """The explorer's chart as drawn: its size in pixels, title and the true values of each line."""
    return page.evaluate(
        """(selector) => {
            const chart = document.querySelector(selector);
            const lines = {};
            for (const trace of chart._fullData) {  // decoded: the figure's JSON packs arrays as base64
                lines[trace.name] = Array.from(trace.customdata || [], row => Number(row[0] ?? row));
            }
            return {width: chart.offsetWidth, height: chart.offsetHeight,
                    title: chart.layout.title.text, lines: lines};
        }""",
        CHART,
    )


def readings_of(stack: LocalStack, site_id: str) -> list[float]:
    rows = query.readings(stack.settings, client("dynamodb", stack.settings), site_id, *DAY)
    return [float(row["energy_generated_kwh"]) for row in rows]


def test_the_dashboard_listens_on_loopback_only_and_lists_its_pages(dashboard: str, page: Any) -> None:
    port = int(dashboard.rsplit(":", 1)[1])
    assert listening_addresses(port) == {"0100007F"}  # 127.0.0.1, nothing else
    traffic = Traffic().watch(page)
    page.goto(dashboard + "/")
    for name in dashboard_app.PAGES:
        try:
            page.get_by_text(f"{name}.ipynb").wait_for()
        except PlaywrightTimeout as error:  # seen once: the start page drawn, its list never filled
            seen = f"requests {traffic.requests}, failed {traffic.failed}, errors {traffic.errors}"
            raise AssertionError(f"the start page never listed {name}; {seen}") from error
    assert "01-check-provisioning" not in page.inner_text("body")
    # and the start page, as every page, asks nothing of any host but the dashboard (no stylesheet from a CDN)
    assert traffic.hosts() == {dashboard.removeprefix("http://")}, traffic.hosts()


def test_the_explorer_draws_at_full_size_and_redraws_for_another_site(
    dashboard: str, stack: LocalStack, page: Any
) -> None:
    # GIVEN the explorer page, as it opens
    page.goto(dashboard + "/voila/render/03-explore-readings.ipynb")
    page.wait_for_function(
        "(selector) => { const c = document.querySelector(selector); return c && c.layout && c.offsetHeight > 0 }",
        arg=CHART,
    )
    first = chart_state(page)
    # THEN the first chart is drawn at full size with the first site's readings
    assert first["title"] == "Energy of SITE_001"
    assert first["height"] == FIGURE_HEIGHT_PX and first["width"] > 300
    assert first["lines"]["generated"] == readings_of(stack, "SITE_001")
    # WHEN another site is picked
    page.locator(".widget-dropdown select").first.select_option("SITE_002")
    page.wait_for_function(
        "(selector) => document.querySelector(selector)?.layout?.title?.text === 'Energy of SITE_002'", arg=CHART
    )
    again = chart_state(page)
    # THEN the chart redraws at full size with that site's values
    assert again["height"] == FIGURE_HEIGHT_PX and again["width"] > 300
    assert again["lines"]["generated"] == readings_of(stack, "SITE_002") != first["lines"]["generated"]
    assert page.get_by_text("SITE_002: 288 readings").count() == 1
    assert "NBVAL" not in page.content() and "sites:" not in page.inner_text("body")  # nbval's check cell is left out


def test_a_page_takes_its_declared_parameters_from_the_query_string(dashboard: str, page: Any) -> None:
    page.goto(dashboard + "/voila/render/03-explore-readings.ipynb?site_id=SITE_002")
    page.wait_for_function(
        "(selector) => document.querySelector(selector)?.layout?.title?.text === 'Energy of SITE_002'", arg=CHART
    )


@pytest.mark.parametrize("bad", [bad for bad in BAD if bad.page], ids=lambda bad: f"{bad.kind}-{bad.name}={bad.value}")
def test_a_bad_value_in_a_page_address_answers_400_with_the_message_of_the_command_line(
    running: Dashboard, page: Any, bad: Any
) -> None:
    # GIVEN the dashboard with its warm kernels and no page open
    running.wait_at_rest(dashboard_app.POOL_SIZE)
    # WHEN a page is asked for with the bad value
    answer = page.goto(f"{running.url}/voila/render/{bad.notebook}.ipynb?{urlencode({bad.name: bad.value})}")
    # THEN 400, the one line `report run -p` prints, no traceback, and no kernel was taken or started
    text = page.inner_text("body")
    assert answer.status == 400
    assert f"400: {bad.message}" in text.splitlines()  # Voilà's error page: the status, then the message
    assert "Traceback" not in page.content() and 'File "' not in text
    assert running.kernels() == dashboard_app.POOL_SIZE


def test_a_page_runs_on_the_dashboards_target_only(running: Dashboard, page: Any) -> None:
    answer = page.goto(f"{running.url}/voila/render/05-operate-pipeline.ipynb?target=aws")
    assert answer.status == 400
    assert "parameter target: this dashboard serves target 'local', not 'aws'" in page.inner_text("body")


def test_the_file_viewer_shows_a_file(dashboard: str, stack: LocalStack, page: Any) -> None:
    keys = [row["key"] for row in raw_objects.files(stack.settings, client("s3", stack.settings))]
    body = client("s3", stack.settings).get_object(Bucket=stack.settings.bucket, Key=keys[1])["Body"].read()
    records = json.loads(body, parse_float=str)
    # WHEN the second file is picked in the raw-file browser
    page.goto(dashboard + "/voila/render/08-browse-raw-files.ipynb")
    page.get_by_text("Page 1: 2 objects").wait_for()
    page.locator(".widget-dropdown select").first.select_option(keys[1])
    # THEN its status, and its content as the file wrote it
    page.get_by_text(f"Content: {len(records)} records").wait_for()
    status = page.locator(".widget-html", has_text=keys[1]).inner_text()
    assert f"processed · {len(records)} records read, {len(records)} stored" in status
    table = page.locator("table", has_text="Rejected for").inner_text()
    assert records[0]["timestamp"] in table and records[0]["energy_consumed_kwh"] in table


def test_the_redrive_button_answers(dashboard: str, page: Any) -> None:
    page.goto(dashboard + "/voila/render/05-operate-pipeline.ipynb")
    page.get_by_text("1 message in the dead-letter queue").wait_for()
    page.get_by_role("button", name="Redrive to ingest queue").click()
    page.get_by_text("Moved 1 message back to the ingest queue").wait_for()


@pytest.fixture(scope="module")
def lab(stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """JupyterLab on a copy of the explorer notebook (so that saving never touches the repository)."""
    root = tmp_path_factory.mktemp("lab")
    shutil.copy(REPO / "notebooks" / "03-explore-readings.ipynb", root)
    with lab_server(stack, root) as url:
        yield url


def test_the_explorer_draws_its_first_chart_at_full_size_in_jupyterlab(lab: str, page: Any) -> None:
    # GIVEN the explorer notebook open in JupyterLab, WHEN every cell runs, and nothing is resized or picked
    run_in_lab(page, lab, "03-explore-readings.ipynb")
    page.wait_for_function(
        "(selector) => document.querySelector(selector)?.layout?.title?.text === 'Energy of SITE_001'", arg=CHART
    )
    page.wait_for_timeout(2000)  # plotly's first resize runs after drawing; the 0 px chart appeared then
    drawn = chart_state(page)
    # THEN the chart has its full height at once (it was 0 px until the window was resized)
    assert drawn["height"] == FIGURE_HEIGHT_PX and drawn["width"] > 300
