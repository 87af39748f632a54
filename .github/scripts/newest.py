"""Try the newest versions that pyproject.toml allows, as a user who installs the project today without the lock
would get them: resolve them (uv), install them into build/newest/venv, run `make check` and `make demo` there,
and say which versions differ from requirements/lock.txt. Exits 1 when check or demo fails.

`make newest` runs it here; .github/workflows/dependencies.yml runs it every week.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "build" / "newest"
VENV = OUT / "venv"
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;\\]+)", re.MULTILINE)
TARGETS = ("check", "demo")


def versions(path: Path) -> dict[str, str]:
    return {name.lower().replace("_", "-"): version for name, version in PIN.findall(path.read_text())}


def run(command: list[str], **options: object) -> int:
    print("$", " ".join(command), flush=True)
    return subprocess.run(command, cwd=REPO, **options).returncode  # type: ignore[call-overload]


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    newest = OUT / "requirements.txt"
    uv = str(Path(sys.executable).parent / "uv")
    resolve = [uv, "pip", "compile", "pyproject.toml", "--all-extras", "--python-version", "3.11"]
    resolve += ["--no-emit-package", "rfc3987-syntax"]  # left out of the lock too (the Makefile's LOCK_FOR says why)
    if run([*resolve, "--python-platform", "linux", "--upgrade", "--quiet", "-o", str(newest)]) != 0:
        return 1
    if run([sys.executable, "-m", "venv", "--clear", str(VENV)]) != 0:
        return 1
    pip = [str(VENV / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "--no-input", "install", "-q"]
    if run([*pip, "--no-deps", "-r", str(newest)]) or run([*pip, "--no-deps", "--no-build-isolation", "-e", "."]):
        return 1
    results = {}
    with socket.socket() as probe:  # a local stack of its own: never the user's, which runs the locked versions
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    own_stack = {
        **os.environ,
        "ENERGY_LOCAL_PORT": str(port),
        "ENERGY_STATE_DIR": str(OUT / "state"),
        "ENERGY_REPORTS_DIR": str(OUT / "reports"),
    }
    for target in TARGETS:
        started = time.monotonic()
        code = run(["make", "--no-print-directory", target, f"VENV={VENV}", "NO_INSTALL=1"], env=own_stack)
        results[target] = {"passed": code == 0, "seconds": round(time.monotonic() - started, 1)}
    locked, latest = versions(REPO / "requirements" / "lock.txt"), versions(newest)
    moved = {name: [locked.get(name), new] for name, new in sorted(latest.items()) if locked.get(name) != new}
    gone = sorted(set(locked) - set(latest))
    (OUT / "result.json").write_text(json.dumps({"targets": results, "moved": moved, "gone": gone}, indent=2) + "\n")
    print(f"\n{len(moved)} of {len(latest)} packages differ from the lock (lock -> newest):")
    for name, (old, new) in moved.items():
        print(f"  {name:40} {old or '(not locked)':>14} -> {new}")
    for name in gone:
        print(f"  {name:40} {locked[name]:>14} -> (no longer needed)")
    for target, result in results.items():
        print(f"make {target}: {'passed' if result['passed'] else 'FAILED'} in {result['seconds']} s")
    run([str(VENV / "bin" / "energy-workbook"), "local", "down"], env=own_stack)
    return 0 if all(result["passed"] for result in results.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
