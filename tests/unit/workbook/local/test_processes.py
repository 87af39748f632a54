"""Telling whether a process has ended: a child that exited is ended (and reaped) at once, as is a zombie of
another parent; a running process is not."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from energy_lib.workbook.local.processes import ended, pid_alive, wait_ended


def state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def test_a_child_that_exited_has_ended_and_is_reaped() -> None:
    # GIVEN a child of ours that exited and was not waited for: a zombie, which pid_alive still sees
    child = subprocess.Popen([sys.executable, "-c", "pass"])  # noqa: S603 - this interpreter
    while state(child.pid) != "Z":
        time.sleep(0.01)
    assert pid_alive(child.pid)
    # WHEN asked, THEN it has ended, and is reaped: the pid is free
    assert ended(child.pid)
    assert not pid_alive(child.pid)


def test_a_zombie_of_another_parent_has_ended() -> None:
    # GIVEN a grandchild that exited while its parent (a shell that does not wait) still runs
    shell = subprocess.Popen(  # noqa: S603, S607
        ["sh", "-c", "sleep 0 & echo $!; exec sleep 30"], stdout=subprocess.PIPE, text=True
    )
    try:
        grandchild = int(shell.stdout.readline())
        while state(grandchild) != "Z":
            time.sleep(0.01)
        # THEN it has ended (its parent, not we, will reap it)
        assert ended(grandchild) and wait_ended(grandchild, timeout_s=0)
        assert pid_alive(grandchild)
    finally:
        shell.kill()
        shell.wait()


def test_a_running_process_has_not_ended() -> None:
    child = subprocess.Popen(["sleep", "30"])  # noqa: S603, S607
    try:
        assert not ended(child.pid) and not wait_ended(child.pid, timeout_s=0.2)
    finally:
        child.kill()
        child.wait()
