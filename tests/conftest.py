"""Shared fixtures: a real moto server on loopback, provisioned like production once per session and set of
settings, its data emptied before each test (with the S3 notification fields moto leaves out added, as the local
stack does: energy_lib.workbook.local.moto_gaps)."""

from __future__ import annotations

import socket
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from moto.server import ThreadedMotoServer

from energy_lib.config import LOCAL_ACCOUNT_ID, Settings
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


_provisioned: dict[int, tuple[tuple[str, Any], ...]] = {}  # port -> the choices its resources were made with


def fresh_stack(port: int, state_dir: Path, **choices: Any) -> Settings:
    """Settings for the in-process moto server on ``port`` (with ``choices`` of settings), holding no data.

    The resources are made once per set of choices: moto is reset and provisioned when the choices differ from the
    last ones, and otherwise only emptied of data (:func:`empty_data`), which takes milliseconds instead of seconds.
    """
    result = Settings(
        target="local", local_port=port, endpoint_url=f"http://127.0.0.1:{port}", state_dir=str(state_dir), **choices
    )
    wanted = tuple(sorted(choices.items()))
    if _provisioned.get(port) == wanted:
        empty_data(result)
        return result
    _provisioned.pop(port, None)
    request = urllib.request.Request(f"http://127.0.0.1:{port}/moto-api/reset", method="POST")
    urllib.request.urlopen(request).close()
    provision(result)
    empty_data(result)  # S3's test event of the new notification, as after any other test
    _provisioned[port] = wanted
    return result


def empty_data(settings: Settings) -> None:
    """Empty what the pipeline stores in the in-process moto server, keeping every resource and setting: table items
    and their streams, object versions, queue messages, SNS deliveries and Athena queries."""
    from moto.athena.models import athena_backends
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.models.table import StreamShard
    from moto.dynamodbstreams.models import dynamodbstreams_backends
    from moto.s3.models import FakeKey, MultipartDict, _VersionedKeyStore, s3_backends
    from moto.sns.models import sns_backends
    from moto.sqs.models import sqs_backends

    account, region = LOCAL_ACCOUNT_ID, settings.region
    with moto_gaps.dynamodb_lock():
        for table in dynamodb_backends[account][region].tables.values():
            table.items.clear()
            if table.stream_shard is not None:
                table.stream_shard = StreamShard(account, table)  # sequence numbers start again
        dynamodbstreams_backends[account][region].shard_iterators.clear()
    for bucket in s3_backends[account]["global"].buckets.values():
        for _, versions in bucket.keys.iterlists():
            for version in versions:
                if isinstance(version, FakeKey):
                    version.dispose()
        for part in bucket.multiparts.values():
            part.dispose()
        bucket.keys, bucket.multiparts = _VersionedKeyStore(), MultipartDict()
    for queue in sqs_backends[account][region].queues.values():
        queue._messages.clear()
    for topic in sns_backends[account][region].topics.values():
        topic.sent_notifications.clear()
    athena = athena_backends[account][region]
    athena.executions.clear()
    athena.query_results.clear()


@pytest.fixture
def settings(moto_port: int, tmp_path: Path) -> Settings:
    """Settings for an empty, freshly provisioned moto server (state is reset between tests)."""
    return fresh_stack(moto_port, tmp_path)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """The system's headless Chromium, one per worker for the browser tests and the page benchmark alike
    (Playwright's sync API runs once per process)."""
    from tests.browser.conftest import chromium

    with chromium() as launched:
        yield launched
