"""A kernel client that never sleeps through a message that has arrived.

jupyter_client's asyncio channels wait for a message with one ``poll`` on the socket's ``zmq.FD``, which is
edge-triggered: when the edge is consumed before the event loop sees it, the waiter sleeps until its timeout
though the message sits in the socket. nbclient waits for a cell's reply up to the run's time limit (an hour by
default) and for output with no limit at all. Seen on 2026-12-07 under load: the kernel had run the cell and was
idle, its reply sat in the runner's socket, and the runner waited for it until the time limit: the report history
notebook, run again and again, took 124-137 s instead of 3-23 s in 13 of 50 runs (none of 163 with this client);
the demo in CI waited an hour. :class:`WatchfulChannel` waits in slices of at most
:data:`POLL_SLICE_S`, each ending in a real ``zmq_poll``, so a message is read at most one slice after it
arrived. No wait is shortened: a slow kernel is waited for as long as before.

Used by the report runner (papermill's ``kernel_manager_class``) and the dashboard's kernel manager.
"""

from __future__ import annotations

import time
from queue import Empty
from typing import Any

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from jupyter_client.manager import AsyncKernelManager
from traitlets import DottedObjectName, Type

__all__ = ["POLL_SLICE_S", "WatchfulChannel", "WatchfulKernelClient", "WatchfulKernelManager"]

POLL_SLICE_S = 1.0  # the longest a message that has arrived waits to be read [s]


class WatchfulChannel(AsyncZMQSocketChannel):
    """An asyncio channel whose :meth:`get_msg` waits in slices (see the module doc)."""

    async def get_msg(self, timeout: float | None = None) -> dict[str, Any]:  # type: ignore[override]
        """The next message; :class:`queue.Empty` when none came within ``timeout`` seconds (None: wait on)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            slice_s = POLL_SLICE_S if left is None else min(POLL_SLICE_S, left)
            if await self.socket.poll(int(slice_s * 1000)):
                return await self._recv()
            if left is not None and left <= POLL_SLICE_S:
                raise Empty


class WatchfulKernelClient(AsyncKernelClient):
    """jupyter_client's asyncio kernel client with :class:`WatchfulChannel` for every message channel."""

    shell_channel_class = Type(WatchfulChannel)
    iopub_channel_class = Type(WatchfulChannel)
    stdin_channel_class = Type(WatchfulChannel)
    control_channel_class = Type(WatchfulChannel)


class WatchfulKernelManager(AsyncKernelManager):
    """A kernel manager whose clients are :class:`WatchfulKernelClient` (the report runner's)."""

    client_class = DottedObjectName(f"{__name__}.WatchfulKernelClient")
    client_factory = Type(klass=WatchfulKernelClient)
