"""How long each dashboard page takes from being asked for to being usable, in real headless Chromium on a real
local stack: with the pool of warm kernels, and without it (``--pool-size 0``: each page starts its own kernel
and imports everything, as every page did before), one after the other in the same run on the same machine.

Figures: the median and the slowest of the rounds per page, both ways, and their ratio, in
build/benchmarks/dashboard_pages.json; the dashboard's kernels and the resident memory of its whole process tree
(server and kernels) at rest before the page views, at the most while a page was open, and at rest after them.
Wall-clock time on a shared machine: compared within the run, never asserted against a number."""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from typing import Any

import pytest

from energy_lib.workbook.notebook.dashboard import PAGES, POOL_SIZE
from tests.benchmarks.results import write
from tests.benchmarks.sizes import size
from tests.browser.conftest import STARTUP_S, Dashboard, LocalStack, chromium, seeded_stack, start_dashboard, stop
from tests.browser.pages import close_tab, open_usable

pytestmark = [pytest.mark.benchmark, pytest.mark.browser, pytest.mark.stack]
ROUNDS = size(2, 7)  # views of each page, each way


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    result = seeded_stack(tmp_path_factory.mktemp("dashboard-stack"))
    yield result
    result.run("local", "down")


def tree(dashboard: Dashboard) -> dict[str, int]:
    """The dashboard's kernels now and the resident memory of the server and all its processes. [MiB]"""
    return {"kernels": dashboard.kernels(), "memory_mib": round(dashboard.memory_mib())}


def page_times(stack: LocalStack, browser: Any, folder: Any, pool_size: int) -> dict[str, Any]:
    """Every page ``ROUNDS`` times on a dashboard with ``pool_size`` warm kernels: seconds to usable, and the
    dashboard (kernels, memory) at rest before the views, at the most while a page was open, at rest after."""
    dashboard = start_dashboard(stack, folder, "--pool-size", str(pool_size))
    try:
        dashboard.wait_at_rest(pool_size)
        before = tree(dashboard)
        peak = dict(before)
        seconds: dict[str, list[float]] = {name: [] for name in PAGES}
        for _ in range(ROUNDS):
            for name in PAGES:
                dashboard.wait_at_rest(pool_size)  # the pool warm again, the last page's kernel ended
                context = browser.new_context(viewport={"width": 1400, "height": 1000})
                tab = context.new_page()
                tab.set_default_timeout(STARTUP_S * 1000)
                seconds[name].append(round(open_usable(tab, dashboard.url, name), 2))
                peak = {key: max(peak[key], value) for key, value in tree(dashboard).items()}
                close_tab(tab)
                context.close()
        dashboard.wait_at_rest(pool_size)
        after = tree(dashboard)
    finally:
        stop(dashboard.process)
    return {"before": before, "peak": peak, "after": after, "seconds": seconds}


def test_pages_are_usable_sooner_on_warm_kernels(stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> None:
    with chromium() as browser:
        cold = page_times(stack, browser, tmp_path_factory.mktemp("cold"), 0)
        warm = page_times(stack, browser, tmp_path_factory.mktemp("warm"), POOL_SIZE)
    figures = {}
    for name in PAGES:
        cold_s, warm_s = statistics.median(cold["seconds"][name]), statistics.median(warm["seconds"][name])
        figures[name] = {
            "cold_median_s": cold_s,
            "warm_median_s": warm_s,
            "cold_max_s": max(cold["seconds"][name]),
            "warm_max_s": max(warm["seconds"][name]),
            "warm_to_cold": round(warm_s / cold_s, 2),
        }
    runs = {"cold": cold, "warm": warm}
    trees = {way: {moment: run[moment] for moment in ("before", "peak", "after")} for way, run in runs.items()}
    path = write(
        "dashboard_pages",
        {"pages": figures, "page_views": ROUNDS * len(PAGES), "dashboard": trees},
        rounds=ROUNDS,
        pool_size=POOL_SIZE,
        seconds={"cold": cold["seconds"], "warm": warm["seconds"]},
    )
    print(f"\n{path}")
    for name, row in figures.items():
        print(f"{name:<22} cold {row['cold_median_s']:6.2f} s, warm {row['warm_median_s']:6.2f} s")
    for way, moments in trees.items():
        print(f"{way}: {ROUNDS * len(PAGES)} views, " + ", ".join(f"{k} {v}" for k, v in moments.items()))
    # every page was asked for and became usable every time, both ways; the pool's kernels are all it keeps,
    # before the page views and after them
    assert all(len(cold["seconds"][name]) == len(warm["seconds"][name]) == ROUNDS for name in PAGES)
    assert trees["cold"]["before"]["kernels"] == trees["cold"]["after"]["kernels"] == 0
    assert trees["warm"]["before"]["kernels"] == trees["warm"]["after"]["kernels"] == POOL_SIZE
