"""The embedded local AWS: one background process with moto's server on 127.0.0.1, the local
Lambda runtime (both event source mappings) and the lake's compaction job, provisioned like production on start.
The rollups' tumbling windows end when the stream is idle, or on the clock as on AWS (``up(windows="clock")``,
``energy-workbook local up --windows clock``), which shows the open window.

``up`` starts it (idempotent), ``status`` says what runs where, ``down`` stops it by its own pid.
Whether it runs is decided by its process and the port it owns, never by how fast it answers: a stack busy
with a large file is running, not dead. State is in memory: ``down`` (or a reboot) forgets every object,
reading and message. The process writes ``local-<port>.json`` (pid, endpoint, log) and
``local-<port>.log`` under the state folder.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from energy_lib import timeutil
from energy_lib.config import Settings
from energy_lib.errors import LocalStackError
from energy_lib.workbook.local.processes import pid_alive, wait_ended

LOOPBACK = "127.0.0.1"
START_TIMEOUT_S = 60
MODULE = "energy_lib.workbook.local.stack"  # what the stack's process runs (`python -m MODULE`)


def state_file(settings: Settings) -> Path:
    return settings.state_path / f"local-{settings.local_port}.json"


def log_file(settings: Settings) -> Path:
    return settings.state_path / f"local-{settings.local_port}.log"


def _is_stack(pid: int) -> bool:
    """True when ``pid`` is alive and runs the local stack (after a crash or reboot the number may belong to
    another program, which must never be signalled)."""
    if not pid_alive(pid):
        return False
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:  # no /proc (macOS): ask ps
        result = subprocess.run(["ps", "-o", "command=", "-p", str(pid)], capture_output=True, text=True)  # noqa: S603, S607
        command = result.stdout
    return MODULE in command


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def status(settings: Settings) -> dict[str, Any]:
    """Whether the local stack runs, with its pid, endpoint, log file and start time.

    It runs when its state file says it is ready, its pid is alive and runs the local stack, and its port is
    taken. No request is sent: a stack busy with a large file answers slowly, but it runs.
    """
    path = state_file(settings)
    info: dict[str, Any] = {"running": False, "endpoint_url": settings.endpoint, "log": str(log_file(settings))}
    if path.exists():
        with contextlib.suppress(ValueError):
            info.update(json.loads(path.read_text()))
        alive = _is_stack(int(info.get("pid", 0)))
        info["running"] = bool(info.get("ready")) and alive and not _port_free(settings.local_port)
        info["starting"] = alive and not info.get("ready")
    return info


def _wait_until_ready(settings: Settings, pid: int, process: subprocess.Popen | None, timeout_s: float) -> dict:
    """Wait for the stack process ``pid`` to report ready; its exit or the deadline is an error."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        current = status(settings)
        if current["running"]:
            return current
        exited = process.poll() is not None if process is not None else not _is_stack(pid)
        if exited:
            code = f" with code {process.returncode}" if process is not None else ""
            raise LocalStackError(f"the local stack exited{code}; see {log_file(settings)}")
        time.sleep(0.2)
    if process is not None:
        process.terminate()
    raise LocalStackError(f"the local stack did not start within {timeout_s:.0f} s; see {log_file(settings)}")


def up(settings: Settings, timeout_s: float = START_TIMEOUT_S, windows: str | None = None) -> dict[str, Any]:
    """Start the local stack in the background unless it already runs (or is starting); returns :func:`status`.

    ``windows`` (``idle`` or ``clock``, see :attr:`~energy_lib.config.Settings.local_windows`) is how the stack
    should end the rollups' windows; a stack that runs already and ends them otherwise is an error.
    """
    if settings.target != "local":
        raise LocalStackError("the local stack is for target 'local'; this configuration targets AWS")
    if windows is not None:
        settings = replace(settings, local_windows=windows)
    current = status(settings)
    if current["running"] and windows is not None and current.get("windows", "idle") != windows:
        raise LocalStackError(
            f"the local stack on port {settings.local_port} runs with --windows {current.get('windows', 'idle')}; "
            "stop it first (`energy-workbook local down`)"
        )
    if current["running"]:
        return current
    if current.get("starting"):
        return _wait_until_ready(settings, int(current["pid"]), None, timeout_s)
    if not _port_free(settings.local_port):
        if current.get("ready") and _is_stack(int(current.get("pid", 0))):
            return {**current, "running": True}  # ours, only slow to answer the probe: slow is never dead
        raise LocalStackError(
            f"port {settings.local_port} on {LOOPBACK} is taken by another program; "
            "choose another with ENERGY_LOCAL_PORT or --port"
        )
    settings.state_path.mkdir(parents=True, exist_ok=True)
    state_file(settings).unlink(missing_ok=True)
    env = {**os.environ, **settings.environment()}
    with open(log_file(settings), "ab") as log:
        process = subprocess.Popen(  # noqa: S603 - our own module, no shell
            [sys.executable, "-m", MODULE],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    return _wait_until_ready(settings, process.pid, process, timeout_s)


def down(settings: Settings, timeout_s: float = 15) -> bool:
    """Stop the local stack started by :func:`up`; False when none was running."""
    path = state_file(settings)
    if not path.exists():
        return False
    pid = int(json.loads(path.read_text()).get("pid", 0))
    stopped = False
    if _is_stack(pid):
        os.kill(pid, signal.SIGTERM)
        if not wait_ended(pid, timeout_s):
            os.kill(pid, signal.SIGKILL)
            wait_ended(pid, timeout_s)
        stopped = True
    path.unlink(missing_ok=True)
    return stopped


def ensure_running(settings: Settings) -> Settings:
    """Start the local stack when the settings target it and it is not running; AWS settings pass through."""
    if settings.target == "local" and not settings.endpoint_url and not status(settings)["running"]:
        up(settings)
    return settings


def serve(settings: Settings) -> None:
    """Run in the foreground: the server, provisioning, then both runtimes until SIGTERM or SIGINT."""
    from moto.server import ThreadedMotoServer

    from energy_lib.workbook.local import moto_gaps
    from energy_lib.workbook.local.compactor import LocalCompactor
    from energy_lib.workbook.local.provisioner import provision
    from energy_lib.workbook.local.runtime import LocalRuntime
    from energy_lib.workbook.local.stream import StreamRuntime

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    moto_gaps.install()
    # stdout and stderr are the log file (see up()), so werkzeug's access log goes there, not to a terminal
    server = ThreadedMotoServer(ip_address=LOOPBACK, port=settings.local_port, verbose=True)
    server.start()
    state = {
        "pid": os.getpid(),
        "endpoint_url": f"http://{LOOPBACK}:{settings.local_port}",
        "windows": settings.local_windows,
        "ready": False,
    }
    state_file(settings).write_text(json.dumps(state))
    provision(settings)
    runtimes = (LocalRuntime(settings), StreamRuntime(settings, close_when_idle=settings.local_windows == "idle"))
    compactor = LocalCompactor(settings)
    compactor.start()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: [runtime.stop() for runtime in runtimes])
    threads = [threading.Thread(target=runtime.run, name=type(runtime).__name__) for runtime in runtimes]
    for thread in threads:
        thread.start()
    state.update(ready=True, started_at=timeutil.format_timestamp(timeutil.now()))
    state_file(settings).write_text(json.dumps(state))
    logging.getLogger("energy_lib.local_stack").info("local stack ready on %s", state["endpoint_url"])
    expired_at = time.monotonic()
    try:
        while any(thread.is_alive() for thread in threads):
            for thread in threads:
                thread.join(timeout=1)
            if time.monotonic() - expired_at >= moto_gaps.EXPIRY_PERIOD_S:
                expire(settings, time.time())
                expired_at = time.monotonic()
    finally:
        compactor.stop()
        server.stop()


def expire(settings: Settings, now: float) -> dict[str, int]:
    """Let the items of every table whose time to live passed by ``now`` (epoch seconds) go, as DynamoDB's time to
    live does (:func:`~energy_lib.workbook.local.moto_gaps.expire_items`); how many went, per table."""
    from energy_lib.schema import TABLES
    from energy_lib.workbook.local import moto_gaps

    gone = {}
    for table in TABLES:
        name = getattr(settings, table.setting)
        try:
            gone[name] = moto_gaps.expire_items(settings.region, name, now)
        except Exception:  # the next round tries again, as DynamoDB's background deletion would
            logging.getLogger("energy_lib.local_stack").exception("letting the items of %s expire failed", name)
    return gone


if __name__ == "__main__":
    serve(Settings.from_env())
