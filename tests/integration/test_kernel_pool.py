"""The dashboard's pool of warm kernels, with real kernels: no kernel it starts is ever left running outside the
pool and the pages, whether its warm-up failed or the page that asked for it went away first."""

from __future__ import annotations

import asyncio
from pathlib import Path

import psutil
import pytest

from energy_lib.workbook.notebook import kernel_pool
from energy_lib.workbook.notebook.kernel_pool import WarmKernelManager
from tests.unit.workbook.reports.test_kernel_client import run_apart

pytestmark = pytest.mark.slow  # real kernels start and warm up


def kernels_running(connection_dir: Path) -> list[int]:
    """The process ids of this process's kernels whose connection files are in ``connection_dir``."""
    children = psutil.Process().children(recursive=True)
    return [child.pid for child in children if str(connection_dir) in " ".join(child.cmdline())]


async def first_started(manager: WarmKernelManager) -> tuple[str, int]:
    """The id and process id of the pool's first kernel once it has started (its warm-up then runs)."""
    while not manager.list_kernel_ids():
        await asyncio.sleep(0.1)
    kernel_id = manager.list_kernel_ids()[0]
    return kernel_id, manager.get_kernel(kernel_id).provisioner.process.pid


def test_a_kernel_whose_warm_up_failed_is_ended_and_the_page_gets_another(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(kernel_pool, "WARM_UP_TIMEOUT_S", 3)

    async def scenario() -> tuple[str, int, str, list[str]]:
        # GIVEN a pool of one kernel whose warm-up outlasts its time limit
        manager = WarmKernelManager(pool_size=1, warm_up="import time\ntime.sleep(60)", connection_dir=str(tmp_path))
        failed_id, failed_pid = await first_started(manager)
        # WHEN a page asks for a kernel
        page_id = await manager.start_kernel(kernel_name="python3")
        running = manager.list_kernel_ids()
        await manager.shutdown_all(now=True)
        return failed_id, failed_pid, page_id, running

    failed_id, failed_pid, page_id, running = run_apart(scenario())
    # THEN the page got a kernel of its own, and the one that failed its warm-up was ended
    assert page_id != failed_id and page_id in running
    assert failed_id not in running and not psutil.pid_exists(failed_pid)
    # ... and stopping the server (the pool's next kernel warming up then) left no kernel running
    assert kernels_running(tmp_path) == []


def test_a_kernel_asked_for_by_a_page_that_went_away_stays_in_the_pool_for_the_next(tmp_path: Path) -> None:
    async def scenario() -> tuple[str, str, list[str], frozenset[str]]:
        # GIVEN a pool of one kernel, still warming up
        manager = WarmKernelManager(pool_size=1, warm_up="import time\ntime.sleep(3)", connection_dir=str(tmp_path))
        warming_id, _ = await first_started(manager)
        # WHEN a page asks for a kernel and goes away before it gets one, and then another page asks
        gone = asyncio.ensure_future(manager.start_kernel(kernel_name="python3"))
        await asyncio.sleep(0.5)
        gone.cancel()
        await asyncio.gather(gone, return_exceptions=True)
        page_id = await manager.start_kernel(kernel_name="python3")
        running, pooled = manager.list_kernel_ids(), manager.pooled
        await manager.shutdown_all(now=True)
        return warming_id, page_id, running, pooled

    warming_id, page_id, running, pooled = run_apart(scenario())
    # THEN the next page got the pool's kernel, warm; no other kernel runs but the pool's next one
    assert page_id == warming_id
    assert set(running) - {page_id} <= pooled
    assert kernels_running(tmp_path) == []


def test_the_pool_is_filled_again_once_a_page_has_run_or_gone_never_beside_it(tmp_path: Path) -> None:
    async def kernels(manager: WarmKernelManager, count: int) -> list[str]:
        while len(manager.list_kernel_ids()) < count:  # the next pool kernel starts (slow is not dead)
            await asyncio.sleep(0.1)
        return manager.list_kernel_ids()

    async def scenario() -> dict[str, list[str]]:
        # GIVEN a pool of one warm kernel
        manager = WarmKernelManager(pool_size=1, warm_up="import json", connection_dir=str(tmp_path))
        await first_started(manager)
        seen = {"first page": [await manager.start_kernel(kernel_name="python3")]}
        # WHEN a page runs on it: no kernel starts beside it
        await asyncio.sleep(2)
        seen["while it runs"] = manager.list_kernel_ids()
        # ... until its browser connects (the page has run): then the pool is filled
        manager.notify_connect(seen["first page"][0])
        seen["after it connected"] = await kernels(manager, 2)
        # WHEN the next page goes before connecting (its kernel shut down): the pool is filled again
        seen["second page"] = [await manager.start_kernel(kernel_name="python3")]
        await asyncio.sleep(2)
        seen["while the second runs"] = manager.list_kernel_ids()
        await manager.shutdown_kernel(seen["second page"][0], now=True)
        seen["after it went"] = await kernels(manager, 2)
        await manager.shutdown_all(now=True)
        return seen

    seen = run_apart(scenario())
    # THEN a pool kernel started only once each page had run or gone
    assert seen["while it runs"] == seen["first page"]
    assert len(seen["after it connected"]) == 2 and seen["second page"][0] in seen["after it connected"]
    assert sorted(seen["while the second runs"]) == sorted(seen["after it connected"])
    assert seen["second page"][0] not in seen["after it went"] and len(seen["after it went"]) == 2
    # ... and stopping the server started none: no kernel is left running
    assert kernels_running(tmp_path) == []
