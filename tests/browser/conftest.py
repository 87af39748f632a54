"""Browser tests: real headless Chromium (the system's, from Debian's package; Playwright's own browser
download is not used) driven by Playwright, against a real local stack and a real dashboard or JupyterLab.

A failed test leaves a screenshot of every open page in ``test-artifacts/browser/`` (git ignores it; CI
uploads it when a run fails).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest

from energy_lib.clients import client
from energy_lib.config import Settings
from energy_lib.workbook.notebook.dashboard import POOL_SIZE
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
CULL_IDLE_S = 30  # the culling dashboard's (see dashboard)


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


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """The system's Chromium, headless, driven by Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    opened = new_tab(browser)
    context = opened.context
    yield opened
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for number, each in enumerate(context.pages):
            each.screenshot(path=str(ARTIFACTS / f"{request.node.name}-{number}.png"), full_page=True)
    for each in context.pages:  # as a person closes a tab: the page's unload handlers run (a dashboard page
        each.close(run_before_unload=True)  # then asks the server to shut its kernel down)
    context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.report_call = report  # the page fixture takes a screenshot when the test failed


def serve(command: list[str], env: dict[str, str], port: int, log: Path) -> subprocess.Popen[Any]:
    """Start a server (``command``) logging to ``log``; return once it accepts connections on ``port``."""
    with log.open("w") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    wait_for_port(port, process, log)
    return process


def stop(process: subprocess.Popen[Any]) -> None:
    """Stop a server as Ctrl-C does (it then stops its kernels); kill it if it does not end."""
    process.send_signal(signal.SIGINT)
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.contextmanager
def lab_server(stack: LocalStack, root: Path) -> Iterator[str]:
    """JupyterLab on the folder ``root``, on 127.0.0.1, without a token: its URL while it runs."""
    port = free_port()
    command = [
        *CLI[:1], "-m", "jupyterlab", "--no-browser", f"--ServerApp.root_dir={root}", "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}", "--ServerApp.port_retries=0", "--IdentityProvider.token=",
        "--LabApp.expose_app_in_browser=True", *(["--allow-root"] if os.geteuid() == 0 else []),
        "--ServerApp.answer_yes=True",  # Ctrl-C stops it (else it asks, resumes after 5 s and is killed after 60)
    ]  # fmt: skip
    process = serve(command, stack.env, port, root / "lab.log")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)


def seeded_stack(state_dir: Path) -> LocalStack:
    """A local stack up, holding a simulated day of two sites and one message in the dead-letter queue."""
    result = LocalStack(state_dir)
    result.run("local", "up")
    result.run("simulate", "--sites", "2", "--seed", "7", "--json")
    result.run("wait", "--timeout", "300")
    sqs = client("sqs", result.settings)
    dlq = sqs.get_queue_url(QueueName=result.settings.dead_letter_queue)["QueueUrl"]
    sqs.send_message(QueueUrl=dlq, MessageBody="a notification that failed every delivery")
    return result


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    result = seeded_stack(tmp_path_factory.mktemp("browser-stack"))
    yield result
    result.run("local", "down")


@dataclass(frozen=True)
class Dashboard:
    """A running ``energy-workbook dashboard``: its address and its process."""

    url: str
    process: subprocess.Popen[Any]
    log: Path

    def kernels(self) -> int:
        """Kernels the dashboard runs now (its ipykernel child processes)."""
        return sum(1 for _, command, _ in self.processes() if "ipykernel" in command)

    def memory_mib(self) -> float:
        """Resident memory of the dashboard and all its processes (the server and every kernel). [MiB]"""
        return sum(rss for _, _, rss in self.processes()) / 2**20

    def processes(self) -> list[tuple[int, str, int]]:
        """(pid, command line, resident bytes) of the server and each process under it that is alive (a kernel
        that has just ended may linger a moment as a zombie)."""
        parent = psutil.Process(self.process.pid)
        found = []
        for each in [parent, *parent.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess, psutil.ZombieProcess):
                found.append((each.pid, " ".join(each.cmdline()), each.memory_info().rss))
        return found

    def wait_for_kernels(self, count: int) -> None:
        """Return once the dashboard runs exactly ``count`` kernels (a pool filling, a page's kernel ending)."""
        self._wait(lambda: self.kernels() == count, f"{count} kernels")

    def wait_at_rest(self, pool_size: int, pages: int = 0) -> None:
        """Return once the dashboard runs its pool of ``pool_size`` warm kernels (imports done) and the kernels of
        ``pages`` open pages, no other."""
        self._wait(
            lambda: self.kernels() - pages == pool_size == self.warm(), f"{pool_size} warm kernels and {pages} pages'"
        )

    def culled(self) -> int:
        """Kernels the culler has ended so far, as the dashboard's log tells."""
        return self.log.read_text().count("Culling 'idle' kernel")

    def warm(self) -> int:
        """Warm kernels in the pool now, as the dashboard's log tells: warmed minus handed to a page."""
        log = self.log.read_text()
        return log.count(" is warm (pool of ") - log.count("Using warm kernel ")

    def kernel_story(self) -> str:
        """Each running kernel's id and every line of the log that names it (what a failed wait reports)."""
        log = self.log.read_text().splitlines()
        stories = []
        for pid, command, _ in self.processes():
            found = re.search(r"kernel-([0-9a-f-]+)\.json", command)
            if "ipykernel" in command and found:
                named = [line for line in log if found.group(1) in line]
                stories.append(f"kernel {found.group(1)} (pid {pid}):\n  " + "\n  ".join(named or ["never logged"]))
        return "\n".join(stories)

    def _wait(self, done: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + STARTUP_S
        while not done():
            assert time.monotonic() < deadline, (
                f"not {what} ({self.kernels()} kernels, {self.warm()} warm):\n{self.kernel_story()}\n"
                f"the log's end:\n{self.log.read_text()[-3000:]}"
            )
            time.sleep(0.5)


def start_dashboard(stack: LocalStack, folder: Path, *options: str) -> Dashboard:
    """``energy-workbook dashboard`` on the ``stack``, on a free port, with ``options``."""
    port = free_port()
    log = folder / "dashboard.log"
    process = serve([*CLI, "dashboard", "--port", str(port), *options], stack.env, port, log)
    return Dashboard(f"http://127.0.0.1:{port}", process, log)


@pytest.fixture(scope="module")
def dashboard(stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    """The dashboard at rest, culling kernels without a page after ``CULL_IDLE_S``."""
    # a kernel with no page connected is culled after half a minute here (not 10), so that culling runs all through
    # these tests (a page's kernel runs its notebook before the page connects, busy, not idle: it is not culled)
    started = start_dashboard(stack, tmp_path_factory.mktemp("kernels"), "--cull-idle-s", str(CULL_IDLE_S))
    started.wait_at_rest(POOL_SIZE)
    yield started
    stop(started.process)


def new_tab(browser: Any) -> Any:
    """A page in a context of its own, as a new browser window opens one."""
    tab = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    tab.set_default_timeout(STARTUP_S * 1000)
    return tab
