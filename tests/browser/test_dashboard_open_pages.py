"""The dashboard's pages left open and closed, in real headless Chromium on a real local stack: a page left open
for a day ends with the memory it started with, and every page asks nothing of a host other than the dashboard,
logs no error and, closed, ends its kernel."""

from __future__ import annotations

import time
from typing import Any

import pytest

from energy_lib.workbook.notebook.dashboard import PAGES, POOL_SIZE
from tests.browser.conftest import CULL_IDLE_S, STARTUP_S, Dashboard, new_tab
from tests.browser.pages import Traffic, close_tab, open_usable

pytestmark = [pytest.mark.browser, pytest.mark.stack]
TITLE = "(title) => document.querySelector('.js-plotly-plot')?.layout?.title?.text === title"


def test_a_page_left_open_for_a_day_ends_with_the_memory_it_started_with(dashboard: Dashboard, browser: Any) -> None:
    # GIVEN the explorer open and usable, its timers under a clock of the test's
    dashboard.wait_at_rest(POOL_SIZE)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.clock.install()
    tab = context.new_page()
    tab.set_default_timeout(STARTUP_S * 1000)
    open_usable(tab, dashboard.url, "03-explore-readings")
    dashboard.wait_at_rest(POOL_SIZE, pages=1)  # the pool warm again behind the page
    tab.wait_for_load_state("networkidle")
    cdp = context.new_cdp_session(tab)
    start_mib, start_heap = dashboard.memory_mib(), js_heap(cdp)
    # WHEN a day passes for the page (every timer of 24 hours fires) and two culling times for the server
    tab.clock.run_for("24:00:00")
    time.sleep(2 * CULL_IDLE_S)  # real time for the server: the culler's rounds, websocket pings
    # THEN neither the dashboard nor the page holds more memory than at the start
    end_mib, end_heap = dashboard.memory_mib(), js_heap(cdp)
    print(f"\na day open: dashboard {start_mib:.1f} -> {end_mib:.1f} MiB, page {start_heap:.1f} -> {end_heap:.1f} MiB")
    assert dashboard.kernels() == POOL_SIZE + 1
    assert end_mib <= start_mib * 1.01  # no more (1 % for the allocators' ebb and flow)
    assert end_heap <= start_heap * 1.01
    # AND the page still works on its kernel
    for site in ("SITE_002", "SITE_001"):
        tab.locator(".widget-dropdown select").first.select_option(site)
        tab.wait_for_function(TITLE, arg=f"Energy of {site}")
    close_tab(tab)


def js_heap(cdp: Any) -> float:
    """The page's JavaScript heap in use after a full garbage collection. [MiB]"""
    cdp.send("HeapProfiler.collectGarbage")
    return cdp.send("Runtime.getHeapUsage")["usedSize"] / 2**20


@pytest.mark.parametrize("name", PAGES)
def test_a_page_asks_nothing_of_another_host_and_logs_no_error(dashboard: Dashboard, browser: Any, name: str) -> None:
    # WHEN a page opens and is used to the end of its drawing
    tab = new_tab(browser)
    traffic = Traffic().watch(tab)
    open_usable(tab, dashboard.url, name)
    tab.wait_for_load_state("networkidle")
    # THEN every request went to the dashboard on 127.0.0.1 and succeeded, and nothing logged an error
    assert traffic.hosts() == {dashboard.url.removeprefix("http://")}, traffic.hosts()
    assert traffic.failed == [] and traffic.errors == []
    # AND when it closes, its kernel ends by the page's request, not by the culler: the dashboard is back at rest
    assert dashboard.kernels() == POOL_SIZE + 1
    culled = dashboard.culled()
    close_tab(tab)
    dashboard.wait_at_rest(POOL_SIZE)
    assert dashboard.culled() == culled
