"""The dashboard's kernels: a pool of warm ones that a page opens on, and no kernel left without a page.

:class:`WarmKernelManager` is the Voilà dashboard's kernel manager (Voilà's ``multi_kernel_manager_class``):
jupyter_server's own, plus a pool of ``pool_size`` kernels started ahead, each with ``warm_up`` run in it (the
pages' imports). A page's kernel comes from the pool when one is there;
the page's notebook then runs on it as on any kernel, with its own parameters and the data of the moment (unlike
Voilà's own preheating, which renders the page ahead with its defaults). The pool is filled again once that page
has run (its browser connects to the kernel) or has gone: a kernel started beside the page would take the CPU the
page runs on (on 2 cores, about 1.5 s more per page). Pooled kernels are never culled; a
kernel whose warm-up failed is ended, and one that a page asked for and left before getting stays in the pool, so
that no kernel runs outside the pool and the pages. Every other kernel is culled once idle for the culling time
with no page connected (jupyter_server's culler: the second line behind the page's shutdown request).
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager, ServerKernelManager
from traitlets import DottedObjectName, Int, Type, Unicode, default

from energy_lib.workbook.reports.kernel_client import WatchfulKernelClient

__all__ = ["WarmKernelManager", "WatchfulServerKernelManager"]

WARM_UP_TIMEOUT_S = 600  # a bound for the warm-up code on a loaded machine; slow is not dead


class WatchfulServerKernelManager(ServerKernelManager):
    """jupyter_server's manager of one kernel, whose clients (Voilà's executor, the warm-up) read every reply
    that has arrived (:mod:`energy_lib.workbook.reports.kernel_client`)."""

    client_class = DottedObjectName(f"{WatchfulKernelClient.__module__}.WatchfulKernelClient")
    client_factory = Type(klass=WatchfulKernelClient)


class WarmKernelManager(AsyncMappingKernelManager):
    """jupyter_server's kernel manager with a pool of warm kernels (see the module doc)."""

    @default("kernel_manager_class")
    def _watchful_kernels(self) -> str:
        return f"{__name__}.WatchfulServerKernelManager"

    pool_size = Int(2, config=True, help="kernels kept started and warm for the next pages (0: none)")
    warm_up = Unicode("", config=True, help="code run in each pooled kernel once started (imports, say)")
    pool_kernel_name = Unicode("python3", config=True, help="the kernel spec of the pooled kernels")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._pool: list[asyncio.Future[str]] = []  # kernels starting or warm, oldest first
        self._pooled: set[str] = set()  # ids of the started kernels in the pool
        self._handed: set[str] = set()  # ids of pool kernels handed to a page that has not connected yet
        self._closing = False
        asyncio.get_event_loop().call_soon(self.fill)  # as the server's loop starts (as Voilà's preheating does)

    @property
    def pooled(self) -> frozenset[str]:
        """The ids of the warm kernels waiting for a page."""
        return frozenset(self._pooled)

    def fill(self) -> None:
        """Start kernels until the pool holds ``pool_size`` (started or starting); none once the server stops."""
        while len(self._pool) < self.pool_size and not self._closing:
            self._pool.append(asyncio.ensure_future(self._start_warm()))

    async def _start_warm(self) -> str:
        # the kernel runs in the notebooks' folder with the dashboard's environment, as a page's own kernel would
        kernel_id = await super().start_kernel(kernel_name=self.pool_kernel_name, path="", env=dict(os.environ))
        self._pooled.add(kernel_id)
        try:
            await self._warm(kernel_id)
        except Exception:  # a kernel the pool cannot hand over is ended, never left running outside it
            await self.shutdown_kernel(kernel_id, now=True)
            raise
        self.log.info("Kernel %s is warm (pool of %d)", kernel_id, self.pool_size)
        return kernel_id

    async def _warm(self, kernel_id: str) -> None:
        if not self.warm_up:
            return
        client = self.get_kernel(kernel_id).client()
        client.start_channels()
        try:
            await client.wait_for_ready(timeout=WARM_UP_TIMEOUT_S)
            reply = await client.execute_interactive(
                self.warm_up, store_history=False, timeout=WARM_UP_TIMEOUT_S, output_hook=lambda _message: None
            )
            if reply["content"]["status"] != "ok":
                self.log.warning("warm-up of kernel %s: %s", kernel_id, reply["content"].get("evalue"))
        finally:
            client.stop_channels()

    async def start_kernel(self, *, kernel_name: str | None = None, **kwargs: Any) -> str:
        """A warm kernel of the pool for a page (the pool then starts another), or a new one when the pool is
        empty or another kernel spec is asked for."""
        if kernel_name in (None, self.pool_kernel_name):
            while self._pool:
                task = self._pool.pop(0)
                try:
                    kernel_id = await asyncio.shield(task)
                except asyncio.CancelledError:
                    if not task.cancelled():  # the page went away first: the kernel stays the pool's
                        self._pool.insert(0, task)
                    raise
                except Exception:
                    self.log.exception("a pooled kernel did not start")
                    continue
                self._pooled.discard(kernel_id)
                if kernel_id in self:
                    self.log.info("Using warm kernel %s", kernel_id)
                    self._handed.add(kernel_id)
                    return kernel_id
            self.fill()
        return await super().start_kernel(kernel_name=kernel_name, **kwargs)

    def notify_connect(self, kernel_id: str) -> None:
        """A browser connected to a kernel: once a page's own, its notebook has run, and the pool is filled."""
        super().notify_connect(kernel_id)
        self._page_ran(kernel_id)

    def _page_ran(self, kernel_id: str) -> None:
        if kernel_id in self._handed:
            self._handed.discard(kernel_id)
            self.fill()

    async def shutdown_kernel(self, kernel_id: str, *args: Any, **kwargs: Any) -> None:
        self._pooled.discard(kernel_id)
        self._page_ran(kernel_id)  # a page that went before connecting
        await super().shutdown_kernel(kernel_id, *args, **kwargs)

    async def cull_kernel_if_idle(self, kernel_id: str) -> None:
        """jupyter_server's culling, except for the pool's kernels (they wait for a page on purpose)."""
        if kernel_id not in self._pooled:
            await super().cull_kernel_if_idle(kernel_id)

    async def shutdown_all(self, now: bool = False) -> None:
        """Every kernel, the pool's too. A warm-up under way is interrupted and a kernel still starting is waited
        for: cancelling its start would leave its process running, unknown to the manager."""
        self._closing = True
        pool, self._pool = self._pool, []
        while not all(task.done() for task in pool):
            for kernel_id in self.pooled:
                await self.get_kernel(kernel_id).interrupt_kernel()
            await asyncio.wait(pool, timeout=1)
        await super().shutdown_all(now=now)
