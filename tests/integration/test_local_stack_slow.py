"""A local stack that answers late is still the local stack: slow is never dead."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from energy_lib.config import Settings
from energy_lib.workbook.local import stack as local_stack
from tests.conftest import free_port

pytestmark = pytest.mark.stack


def test_a_stack_that_answers_late_is_not_taken_for_another_program(tmp_path: Path) -> None:
    # GIVEN a running local stack, frozen (SIGSTOP): it holds its port and answers no probe, as when it is busy
    settings = Settings(target="local", local_port=free_port(), state_dir=str(tmp_path))
    pid = local_stack.up(settings)["pid"]
    os.kill(pid, signal.SIGSTOP)
    try:
        assert local_stack.status(settings)["running"] is True  # its process lives and holds its port
        # WHEN a command needs the stack  THEN it uses the one there: no error, no second stack
        assert local_stack.ensure_running(settings) is settings
        assert local_stack.up(settings)["pid"] == pid
    finally:
        os.kill(pid, signal.SIGCONT)
        local_stack.down(settings)
