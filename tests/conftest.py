"""Shared fixtures: a real moto server on loopback, provisioned like production for each test (with the S3
notification fields moto leaves out added, as the local stack does: energy_lib.workbook.local.moto_gaps)."""

from __future__ import annotations

import socket
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from moto.server import ThreadedMotoServer

from energy_lib.config import Settings
from energy_lib.workbook.local import moto_gaps
from energy_lib.workbook.local.provisioner import provision

REPO = Path(__file__).resolve().parents[1]
SAMPLES = Path(__file__).resolve().parent / "samples"  # the producers' sample files, with their README table
EVENTS = Path(__file__).resolve().parent / "events"


def documented_outcomes() -> dict[str, tuple[int, int, int, int]]:
    """file -> (read, stored, quarantined, anomalies), from the table in ``samples/README.md``."""
    outcomes = {}
    for line in (SAMPLES / "README.md").read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 5 and (SAMPLES / cells[0]).is_file():
            read, stored, quarantined, anomalies = (int(cell.split()[0]) for cell in cells[1:])
            outcomes[cells[0]] = (read, stored, quarantined, anomalies)
    return outcomes


def sample_files() -> list[Path]:
    """Every sample input file (not the README)."""
    return sorted(path for path in SAMPLES.iterdir() if path.name != "README.md")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a listening TCP socket on ``port`` (from /proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.rsplit(":", 1)
            if state == "0A" and int(port_hex, 16) == port:  # 0A = LISTEN
                found.add(address)
    return found


@pytest.fixture(scope="session")
def moto_port() -> Iterator[int]:
    port = free_port()
    moto_gaps.install()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield port
    server.stop()


def fresh_stack(port: int, state_dir: Path, **choices: Any) -> Settings:
    """Settings for the moto server on ``port``, emptied and provisioned anew (with ``choices`` of settings)."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/moto-api/reset", method="POST")
    urllib.request.urlopen(request).close()
    result = Settings(
        target="local", local_port=port, endpoint_url=f"http://127.0.0.1:{port}", state_dir=str(state_dir), **choices
    )
    provision(result)
    return result


@pytest.fixture
def settings(moto_port: int, tmp_path: Path) -> Settings:
    """Settings for an empty, freshly provisioned moto server (state is reset between tests)."""
    return fresh_stack(moto_port, tmp_path)
