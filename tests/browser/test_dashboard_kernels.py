"""The dashboard's kernels and what its pages ask of the network, in real headless Chromium on a real local stack:
a closed page's kernel ends, thirty page views leave only the warm pool, a page left open for a day ends with the
memory it started with, and no page asks anything of a host other than the dashboard or logs an error."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from energy_lib.workbook.notebook.dashboard import PAGES, POOL_SIZE
from tests.browser.conftest import STARTUP_S, Dashboard, LocalStack, start_dashboard, stop
from tests.browser.pages import Traffic, close_tab, open_usable

pytestmark = [pytest.mark.browser, pytest.mark.stack]
VIEWS = 30
CULL_IDLE_S = 60
TITLE = "(title) => document.querySelector('.js-plotly-plot')?.layout?.title?.text === title"


@pytest.fixture(scope="module")
def dashboard(stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    # a kernel with no page connected is culled after a minute here (not 10), so that culling runs all through
    # these tests (a page's kernel runs its notebook before the page connects: not seconds, on a busy machine)
    started = start_dashboard(stack, tmp_path_factory.mktemp("kernels"), "--cull-idle-s", str(CULL_IDLE_S))
    started.wait_at_rest(POOL_SIZE)
    yield started
    stop(started.process)


def new_tab(browser: Any) -> Any:
    tab = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    tab.set_default_timeout(STARTUP_S * 1000)
    return tab


def test_thirty_page_views_leave_the_pool_and_the_memory_they_found(dashboard: Dashboard, browser: Any) -> None:
    # GIVEN the dashboard at rest: its warm pool and nothing else
    dashboard.wait_at_rest(POOL_SIZE)
    at_rest_mib = dashboard.memory_mib()
    peak_kernels, peak_mib, kernel_mib = 0, at_rest_mib, 0.0
    # WHEN 30 pages are opened, used and closed one after the other, every page in turn
    for view in range(VIEWS):
        tab = new_tab(browser)
        open_usable(tab, dashboard.url, PAGES[view % len(PAGES)])
        peak_kernels, peak_mib = max(peak_kernels, dashboard.kernels()), max(peak_mib, dashboard.memory_mib())
        kernels_mib = [rss / 2**20 for _, command, rss in dashboard.processes() if "ipykernel" in command]
        kernel_mib = max([kernel_mib, *kernels_mib])  # the largest kernel seen, a page's or the pool's
        context = tab.context
        close_tab(tab)
        context.close()
    # THEN every page's kernel ended: only the pool is left, and the memory is what it was at rest
    dashboard.wait_at_rest(POOL_SIZE)
    after_mib = dashboard.memory_mib()
    print(
        f"\n{VIEWS} page views: kernels {POOL_SIZE} at rest, at most {peak_kernels}, {dashboard.kernels()} after; "
        f"memory {at_rest_mib:.0f} MiB at rest, at most {peak_mib:.0f}, {after_mib:.0f} after "
        f"(the largest kernel {kernel_mib:.0f} MiB)"
    )
    assert peak_kernels <= POOL_SIZE + 2  # the open page's and the one the pool is warming behind it
    assert peak_mib <= at_rest_mib + 3 * kernel_mib  # ... each grown by the page it ran, at most
    assert after_mib <= at_rest_mib + kernel_mib / 2  # no kernel left behind; the server's own growth is small
    assert "_xsrf" not in dashboard.log.read_text()  # every shutdown request was accepted


def test_a_kernel_whose_page_vanished_is_culled(dashboard: Dashboard, browser: Any) -> None:
    # GIVEN a page open on its kernel
    dashboard.wait_at_rest(POOL_SIZE)
    tab = new_tab(browser)
    open_usable(tab, dashboard.url, "05-operate-pipeline")
    dashboard.wait_for_kernels(POOL_SIZE + 1)
    # WHEN the browser goes away without closing the page (no shutdown request: a crash, a lost network)
    tab.context.close()
    # THEN its kernel, now without a page and idle, is culled; the pool's kernels are not
    dashboard.wait_for_kernels(POOL_SIZE)
    assert "Culling 'idle' kernel" in dashboard.log.read_text()


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
    context.close()


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
    context = tab.context
    close_tab(tab)
    context.close()
