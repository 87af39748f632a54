"""How long each dashboard page takes from being asked for to being usable, in real headless Chromium on a real
local stack, with the dashboard's default pool of warm kernels (a page opens on one whose imports are done).

Figures: the median and the slowest of the rounds per page, in build/benchmarks/dashboard_pages.json; the
dashboard's kernels and the resident memory of its whole process tree (server and kernels) at rest before the
page views, at the most while a page was open, and at rest after them. Wall-clock time on a shared machine:
recorded, never asserted against a number."""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from typing import Any

import pytest

from energy_lib.workbook.notebook.dashboard import PAGES, POOL_SIZE
from tests.benchmarks.results import write
from tests.benchmarks.sizes import size
from tests.browser.conftest import Dashboard, LocalStack, new_tab, seeded_stack, start_dashboard, stop
from tests.browser.pages import close_tab, open_usable

pytestmark = [pytest.mark.benchmark, pytest.mark.browser, pytest.mark.stack]
ROUNDS = size(1, 7)  # views of each page


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    result = seeded_stack(tmp_path_factory.mktemp("dashboard-stack"))
    yield result
    result.run("local", "down")


def tree(dashboard: Dashboard) -> dict[str, int]:
    """The dashboard's kernels now and the resident memory of the server and all its processes. [MiB]"""
    return {"kernels": dashboard.kernels(), "memory_mib": round(dashboard.memory_mib())}


def page_times(stack: LocalStack, browser: Any, folder: Any) -> dict[str, Any]:
    """Every page ``ROUNDS`` times on the default dashboard (``POOL_SIZE`` warm kernels): seconds to usable, and the
    dashboard (kernels, memory) at rest before the views, at the most while a page was open, at rest after."""
    dashboard = start_dashboard(stack, folder)
    try:
        dashboard.wait_at_rest(POOL_SIZE)
        before = tree(dashboard)
        peak = dict(before)
        seconds: dict[str, list[float]] = {name: [] for name in PAGES}
        for _ in range(ROUNDS):
            for name in PAGES:
                dashboard.wait_at_rest(POOL_SIZE)  # the pool warm again, the last page's kernel ended
                tab = new_tab(browser)
                seconds[name].append(round(open_usable(tab, dashboard.url, name), 2))
                peak = {key: max(peak[key], value) for key, value in tree(dashboard).items()}
                close_tab(tab)
        dashboard.wait_at_rest(POOL_SIZE)
        after = tree(dashboard)
    finally:
        stop(dashboard.process)
    return {"before": before, "peak": peak, "after": after, "seconds": seconds}


def test_every_page_becomes_usable_and_the_dashboard_keeps_no_kernel(
    stack: LocalStack, browser: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    run = page_times(stack, browser, tmp_path_factory.mktemp("pages"))
    figures = {
        name: {"median_s": statistics.median(run["seconds"][name]), "max_s": max(run["seconds"][name])}
        for name in PAGES
    }
    trees = {moment: run[moment] for moment in ("before", "peak", "after")}
    path = write(
        "dashboard_pages",
        {"pages": figures, "page_views": ROUNDS * len(PAGES), "dashboard": trees},
        rounds=ROUNDS,
        pool_size=POOL_SIZE,
        seconds=run["seconds"],
    )
    print(f"\n{path}")
    for name, row in figures.items():
        print(f"{name:<30} median {row['median_s']:6.2f} s, slowest {row['max_s']:6.2f} s")
    print(f"{ROUNDS * len(PAGES)} views, " + ", ".join(f"{k} {v}" for k, v in trees.items()))
    # every page was asked for and became usable every time; the dashboard keeps the kernels it had before
    assert all(len(run["seconds"][name]) == ROUNDS for name in PAGES)
    assert trees["before"]["kernels"] == trees["after"]["kernels"] == POOL_SIZE
