"""Processes of this machine, by pid."""

from __future__ import annotations

import os
import time
from pathlib import Path


def pid_alive(pid: int) -> bool:
    """True when a process with this pid exists (also one of another user, or a zombie)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def ended(pid: int) -> bool:
    """True when the process ``pid`` has ended: gone, or a zombie (an exited child of ours is reaped here, one of
    another parent waits for its parent to reap it)."""
    try:
        reaped, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:  # not our child
        pass
    else:
        return reaped == pid
    if not pid_alive(pid):
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):  # gone meanwhile, or no /proc (macOS)
        return not pid_alive(pid)


def wait_ended(pid: int, timeout_s: float) -> bool:
    """Wait up to ``timeout_s`` for the process ``pid`` to end (:func:`ended`); True when it did."""
    deadline = time.monotonic() + timeout_s
    while not ended(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True
