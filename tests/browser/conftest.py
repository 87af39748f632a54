"""Browser tests: real headless Chromium (the system's, from Debian's package; Playwright's own browser
download is not used) driven by Playwright, against a real local stack and a real dashboard or JupyterLab.

A failed test leaves a screenshot of every open page in ``test-artifacts/browser/`` (git ignores it; CI
uploads it when a run fails).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from energy_lib.config import Settings
from tests.conftest import REPO, free_port

ARTIFACTS = REPO / "test-artifacts" / "browser"
CLI = [sys.executable, "-m", "energy_lib.workbook.cli"]
# As the machine's notes say: without the background-networking flags Chromium keeps trying hosts this
# offline machine cannot reach.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STARTUP_S = 600  # a generous bound for a server to answer on a loaded machine; slow is not dead


def chromium_path() -> str:
    """The system's Chromium (``make browser`` installs it with apt when missing)."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise RuntimeError("no Chromium on PATH: run `make browser` (Debian: apt-get install chromium)")


class LocalStack:
    """A private local stack (its own port and state folder), driven through the CLI."""

    def __init__(self, state_dir: Path) -> None:
        self.env = {**os.environ, "ENERGY_LOCAL_PORT": str(free_port()), "ENERGY_STATE_DIR": str(state_dir)}
        self.env.pop("ENERGY_ENDPOINT_URL", None)
        self.settings = Settings.from_env(self.env)

    def run(self, *args: str) -> str:
        result = subprocess.run([*CLI, *args], capture_output=True, text=True, env=self.env, timeout=STARTUP_S)
        assert result.returncode == 0, f"{args}: {result.stderr}"
        return result.stdout


def wait_for_port(port: int, process: subprocess.Popen[Any], log: Path) -> None:
    """Return once something accepts connections on 127.0.0.1:``port``; fail if ``process`` ends first."""
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited ({process.returncode}):\n{log.read_text()[-3000:]}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    raise AssertionError(f"nothing answered on port {port}:\n{log.read_text()[-3000:]}")


def run_in_lab(page: Any, lab: str, notebook: str) -> None:
    """Open ``notebook`` in the JupyterLab at ``lab`` once its kernel is idle, and run every cell."""
    page.goto(f"{lab}/lab/tree/{notebook}")
    page.wait_for_function("window.jupyterapp && document.querySelector('.jp-Notebook .jp-Cell')")
    page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget?.sessionContext?.session?.kernel?.status === 'idle'"
    )
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    opened = context.new_page()
    opened.set_default_timeout(STARTUP_S * 1000)
    yield opened
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for number, each in enumerate(context.pages):
            each.screenshot(path=str(ARTIFACTS / f"{request.node.name}-{number}.png"), full_page=True)
    context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.report_call = report  # the page fixture takes a screenshot when the test failed
