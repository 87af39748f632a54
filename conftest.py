"""Session set-up for every test, notebooks included.

- The notebooks (nbval) and the report runner talk to a private local stack: its port and state folder
  are set here, before any kernel starts, and it is stopped at the end.
- Notebooks are stored without outputs, so nbval would skip the cells marked ``# NBVAL_CHECK_OUTPUT``
  (it compares only cells that have a stored run). Their expected outputs live in
  ``tests/notebook_outputs.json`` and are put in place here, so those cells are really compared.
- ``make test`` runs two pytest-xdist workers, scheduled by :class:`NotebooksTogether`: every notebook runs on one
  worker, in order (02 simulates what 03 to 09 read, on that worker's private stack), and every other file's
  tests stay together on one worker (its module fixtures are made once), as ``--dist loadfile`` would.
  (``--dist loadgroup`` cannot do it with pytest 9.2: xdist 3.8 renames items through ``_nodeid``, which pytest
  no longer reads.)
- Folders are tiers: ``tests/unit`` holds fast tests only (``make check`` runs it, in under a minute); tests that
  need a moto server, the local stack, a notebook kernel, a browser, a security tool or real pauses live in the
  other folders. Markers say why a test is slow: nbval cells are marked ``notebook`` and ``stack``, tests that
  use the moto server fixture ``stack``, and every test with a marker of :data:`SLOW` also ``slow``; a slow test
  under ``tests/unit`` is refused at collection. ``make test`` runs everything.
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
from pathlib import Path
from typing import Any

import nbformat
import pytest

EXPECTED_OUTPUTS = Path(__file__).parent / "tests" / "notebook_outputs.json"
UNIT = Path(__file__).parent / "tests" / "unit"
CHECK_MARK = "# NBVAL_CHECK_OUTPUT"
SLOW = ("stack", "notebook", "browser", "security", "benchmark")  # what the fast loop leaves out


def pytest_configure(config: pytest.Config) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    os.environ["ENERGY_TARGET"] = "local"
    os.environ["ENERGY_LOCAL_PORT"] = str(port)
    os.environ["ENERGY_STATE_DIR"] = tempfile.mkdtemp(prefix="energy-test-stack-")
    os.environ.pop("ENERGY_ENDPOINT_URL", None)
    os.environ.pop("ENERGY_TERRAFORM_OUTPUTS", None)


def pytest_unconfigure(config: pytest.Config) -> None:
    from energy_lib.config import Settings
    from energy_lib.workbook.local import stack as local_stack

    local_stack.down(Settings.from_env())


@pytest.hookimpl(tryfirst=True)  # markers in place before `-m` deselects
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    expected = json.loads(EXPECTED_OUTPUTS.read_text())
    misplaced = []
    for item in items:
        cell = getattr(item, "cell", None)
        if cell is not None:  # an nbval cell: a notebook kernel working on the private local stack
            item.add_marker(pytest.mark.notebook)
            item.add_marker(pytest.mark.stack)
        if "moto_port" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.stack)
        if any(item.get_closest_marker(name) for name in SLOW):
            item.add_marker(pytest.mark.slow)
        if item.get_closest_marker("slow") and UNIT in Path(str(item.fspath)).parents:
            misplaced.append(item.nodeid)
        if cell is not None and cell.source.startswith(CHECK_MARK):
            notebook = Path(str(item.fspath)).stem
            text = expected[notebook][cell.source]
            cell.execution_count = 1
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
    if misplaced:
        raise pytest.UsageError(f"tests/unit holds fast tests only; move these to another folder: {misplaced}")


@pytest.hookimpl(optionalhook=True)  # pytest-xdist's hook: the scheduler of `make test`'s workers
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    from xdist.scheduler import LoadScopeScheduling

    class NotebooksTogether(LoadScopeScheduling):
        """A file's tests on one worker; every notebook on the same worker, in collection order."""

        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::")[0]
            return "notebooks/" if path.startswith("notebooks/") else path

    return NotebooksTogether(config, log)
