"""The dashboard's kernels, in real headless Chromium on a real local stack: thirty page views leave only the warm
pool and the memory they found, and a kernel whose page vanished without a word is culled."""

from __future__ import annotations

from typing import Any

import pytest

from energy_lib.workbook.notebook.dashboard import POOL_SIZE
from tests.browser.conftest import Dashboard, new_tab
from tests.browser.pages import close_tab, open_usable

pytestmark = [pytest.mark.browser, pytest.mark.stack]
VIEWS = 30
# the thirty views go to the pages people keep open and reopen, the explorer and the business report (every page's
# kernel is seen to end in test_dashboard_open_pages)
VIEWED = ("03-explore-readings", "04-report-business")


def test_thirty_page_views_leave_the_pool_and_the_memory_they_found(dashboard: Dashboard, browser: Any) -> None:
    # GIVEN the dashboard at rest: its warm pool and nothing else
    dashboard.wait_at_rest(POOL_SIZE)
    at_rest_mib, culled = dashboard.memory_mib(), dashboard.culled()
    peak_kernels, peak_mib, kernel_mib = 0, at_rest_mib, 0.0
    # WHEN 30 pages are opened, used and closed one after the other, the explorer and the report in turn
    for view in range(VIEWS):
        tab = new_tab(browser)
        open_usable(tab, dashboard.url, VIEWED[view % len(VIEWED)])
        peak_kernels, peak_mib = max(peak_kernels, dashboard.kernels()), max(peak_mib, dashboard.memory_mib())
        kernels_mib = [rss / 2**20 for _, command, rss in dashboard.processes() if "ipykernel" in command]
        kernel_mib = max([kernel_mib, *kernels_mib])  # the largest kernel seen, a page's or the pool's
        close_tab(tab)
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
    assert dashboard.culled() == culled  # ... and ended its kernel: the culler had none to end


def test_a_kernel_whose_page_vanished_is_culled(dashboard: Dashboard, browser: Any) -> None:
    # GIVEN a page open on its kernel
    dashboard.wait_at_rest(POOL_SIZE)
    tab = new_tab(browser)
    open_usable(tab, dashboard.url, "05-operate-pipeline")
    dashboard.wait_for_kernels(POOL_SIZE + 1)
    culled = dashboard.culled()
    # WHEN the browser goes away without closing the page (no shutdown request: a crash, a lost network)
    tab.context.close()
    # THEN its kernel, now without a page and idle, is culled; the pool's kernels are not
    dashboard.wait_for_kernels(POOL_SIZE)
    assert dashboard.culled() == culled + 1
