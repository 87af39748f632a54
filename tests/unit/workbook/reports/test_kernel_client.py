"""The report runner's kernel client reads a reply whose wake-up was lost (the ``zmq.FD`` edge consumed
elsewhere), where jupyter_client's own channel sleeps on; and it waits as long as asked, no shorter."""

from __future__ import annotations

import asyncio
import select
import time
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from queue import Empty
from typing import Any

import pytest
import zmq
import zmq.asyncio
from jupyter_client.channels import AsyncZMQSocketChannel
from jupyter_client.session import Session

from energy_lib.workbook.reports.kernel_client import POLL_SLICE_S, WatchfulChannel, WatchfulKernelManager


@pytest.fixture
def sockets() -> Iterator[tuple[zmq.Socket, zmq.asyncio.Socket]]:
    """A kernel's side (ROUTER) and a client's side (asyncio DEALER), connected over TCP on 127.0.0.1."""
    kernel = zmq.Context.instance().socket(zmq.ROUTER)
    port = kernel.bind_to_random_port("tcp://127.0.0.1")
    client = zmq.asyncio.Context.instance().socket(zmq.DEALER)
    client.connect(f"tcp://127.0.0.1:{port}")
    yield kernel, client
    client.close(linger=0)
    kernel.close(linger=0)


def run_apart(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """``coroutine`` run to its end on an event loop of its own, in a thread of its own (a test before this one
    may have left an event loop running in this thread, as Playwright's sync API does)."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


async def reply_with_lost_wake_up(kernel: zmq.Socket, channel: AsyncZMQSocketChannel) -> dict | None:
    """The kernel replies while the channel waits; the wake-up is consumed before the event loop sees it. The
    message the channel returns within 5 s, or None."""
    session = channel.session
    session.send(channel.socket, "kernel_info_request", {})
    identity, *_ = kernel.recv_multipart()
    waiting = asyncio.ensure_future(channel.get_msg(timeout=None))
    await asyncio.sleep(0.2)  # the channel waits on its socket's FD
    session.send(kernel, "kernel_info_reply", {"status": "ok"}, ident=[identity])
    arrived = zmq.Socket.shadow(channel.socket.underlying)
    deadline = time.monotonic() + 30
    while not select.select([channel.socket.FD], [], [], 0)[0] and time.monotonic() < deadline:
        time.sleep(0.01)  # the reply has arrived: the FD is readable; the loop has not been told
    assert arrived.get(zmq.EVENTS) & zmq.POLLIN  # reading EVENTS consumes the edge ...
    assert not select.select([channel.socket.FD], [], [], 0)[0]  # ... so the FD will not wake the loop
    try:
        return await asyncio.wait_for(waiting, 5)
    except TimeoutError:
        return None


def test_jupyter_client_s_channel_sleeps_through_a_reply_whose_wake_up_was_lost(sockets) -> None:
    kernel, client = sockets
    assert run_apart(reply_with_lost_wake_up(kernel, AsyncZMQSocketChannel(client, Session()))) is None


def test_the_watchful_channel_reads_that_reply(sockets) -> None:
    kernel, client = sockets
    reply = run_apart(reply_with_lost_wake_up(kernel, WatchfulChannel(client, Session())))
    assert reply is not None and reply["msg_type"] == "kernel_info_reply"


def test_the_watchful_channel_waits_its_whole_timeout_when_nothing_comes(sockets) -> None:
    _, client = sockets
    timeout_s = 2.5 * POLL_SLICE_S
    started = time.monotonic()
    with pytest.raises(Empty):
        run_apart(WatchfulChannel(client, Session()).get_msg(timeout=timeout_s))
    assert time.monotonic() - started >= timeout_s


def test_the_runner_s_kernels_get_watchful_clients() -> None:
    manager = WatchfulKernelManager()
    client = manager.client()
    assert {type(client.shell_channel), type(client.iopub_channel), type(client.control_channel)} == {WatchfulChannel}
