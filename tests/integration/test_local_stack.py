"""End to end on the embedded local AWS, driven through the ``energy-workbook`` command like a user or
cron would: a real background process with moto's server and the local Lambda runtime."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from energy_lib.clients import client
from energy_lib.config import Settings
from tests.conftest import SAMPLES, free_port, sample_files

CLI = [sys.executable, "-m", "energy_lib.workbook.cli"]


class Stack:
    def __init__(self, port: int, state_dir: Path) -> None:
        self.env = {**os.environ, "ENERGY_LOCAL_PORT": str(port), "ENERGY_STATE_DIR": str(state_dir)}
        self.env.pop("ENERGY_ENDPOINT_URL", None)
        self.settings = Settings.from_env(self.env)

    def run(self, *args: str, check: bool = True, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([*CLI, *args], capture_output=True, text=True, env=self.env, timeout=timeout)
        if check:
            assert result.returncode == 0, f"{args}: {result.stderr}"
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "--json").stdout)

    def put(self, key: str, body: bytes) -> None:
        client("s3", self.settings).put_object(Bucket=self.settings.bucket, Key=key, Body=body)

    def totals(self) -> dict[str, Any]:
        return {"summary": self.json("query", "summary"), "ingest": self.json("ingest", "status")}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    result = Stack(free_port(), tmp_path_factory.mktemp("local-stack"))
    result.run("local", "up")
    yield result
    result.run("local", "down")
    assert result.run("local", "status", check=False).returncode == 3  # not running


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


def test_up_is_idempotent_and_binds_loopback_only(stack: Stack) -> None:
    first = stack.json("local", "status")
    again = stack.json("local", "up")
    assert first["running"] and again["pid"] == first["pid"]
    assert first["endpoint_url"] == f"http://127.0.0.1:{stack.settings.local_port}"
    assert listening_addresses(stack.settings.local_port) == {"0100007F"}  # 127.0.0.1, nothing else


def test_provisioning_checks_pass_and_config_names_everything(stack: Stack) -> None:
    rows = stack.json("check")
    assert len(rows) >= 30 and all(row["passed"] for row in rows)
    config = stack.json("config")
    assert set(config) == set(stack.settings.public_view())
    assert all(config[name] for name in config), config


def test_samples_and_simulation_end_to_end_and_again_changes_nothing(stack: Stack) -> None:
    # GIVEN the sample files and a simulated 3-hour run of 2 sites, uploaded
    for sample in sample_files():
        stack.put(f"raw/2025/06/11/{sample.name}", sample.read_bytes())
    simulated = stack.json("simulate", "--sites", "2", "--hours", "3", "--seed", "3")
    assert simulated["readings"] == 2 * 36 and simulated["files"] == 2
    # WHEN processing finishes
    assert stack.json("wait", "--timeout", "120") == {"processed": 7}
    # THEN ledger, readings, summary and alerts hold what they should
    ingest = stack.json("ingest", "status")
    assert sum(row["read"] for row in ingest) == 10 + 72
    assert sum(row["stored"] for row in ingest) == 8 + 72
    assert sum(row["quarantined"] for row in ingest) == 2
    fleet = stack.json("query", "summary")["fleet"]
    assert fleet["readings"] == 80 and fleet["sites"] == 8  # the simulated SITE_001 and SITE_002 are sample sites too
    site_readings = stack.json(
        "query", "readings", "--site", "SITE_002", "--start", "2025-06-11T00:00:00Z", "--end", "2025-06-11T03:00:00Z"
    )
    assert len(site_readings) == 36
    anomalies = stack.json("query", "anomalies", "--start", "2025-06-11", "--end", "2025-06-12")
    assert len(anomalies) == fleet["anomalies"]
    assert len(stack.json("query", "files")) == 7
    alerts = stack.json("ops", "alerts")
    assert len(alerts) == sum(1 for row in ingest if row["anomalies"])
    before = stack.totals()
    # WHEN the same files arrive again (new uploads of the same bytes)
    for sample in sample_files():
        stack.put(f"raw/2025/06/11/{sample.name}", sample.read_bytes())
    stack.json("simulate", "--sites", "2", "--hours", "3", "--seed", "3")
    stack.json("wait", "--timeout", "120")
    time.sleep(1)
    # THEN no total changes
    after = stack.totals()
    assert after["summary"] == before["summary"]
    assert [{k: v for k, v in r.items() if k != "updated_at"} for r in after["ingest"]] == [
        {k: v for k, v in r.items() if k != "updated_at"} for r in before["ingest"]
    ]
    assert len(stack.json("ops", "alerts")) == len(alerts)


def test_a_poison_message_ends_in_the_dead_letter_queue_and_the_worker_keeps_going(stack: Stack) -> None:
    sqs = client("sqs", stack.settings)
    url = sqs.get_queue_url(QueueName=stack.settings.ingest_queue)["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="this is not an S3 notification")
    deadline = time.monotonic() + 90
    while stack.json("ops", "depths")["dead_letter_queue"] == 0:
        assert time.monotonic() < deadline, "the message never reached the dead-letter queue"
        time.sleep(1)
    [dead] = stack.json("ops", "dead-letters")
    assert dead["body"] == "this is not an S3 notification"
    assert dead["receive_count"] >= 5  # maxReceiveCount
    assert stack.json("ops", "depths")["ingest_queue"] == 0
    # the worker still processes new files
    stack.put("raw/2025/06/12/after-poison.json", (SAMPLES / "single_object.json").read_bytes())
    stack.json("wait", "--timeout", "60")
    [row] = [r for r in stack.json("ingest", "status") if r["key"].endswith("after-poison.json")]
    assert row["status"] == "processed"
    # redrive moves it back; it fails again and returns to the dead-letter queue
    assert stack.json("ops", "redrive") == {"moved": 1}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["query", "readings", "--site", "bad site"], "not a site id"),
        (["query", "summary", "--start", "yesterday"], "not a timestamp"),
        (["query", "anomalies"], "start and end"),
        (["simulate", "--hours", "-1"], "hours"),
        (["wait", "--timeout", "soon"], "invalid float"),
    ],
)
def test_bad_input_gets_one_line_and_exit_2(stack: Stack, args: list[str], message: str) -> None:
    result = stack.run(*args, check=False)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["config"],
        ["local"],
        ["lambda"],
        ["simulate"],
        ["wait"],
        ["ingest"],
        ["query"],
        ["query", "readings"],
        ["query", "anomalies"],
        ["query", "summary"],
        ["query", "files"],
        ["check"],
        ["ops"],
        ["report"],
        ["report", "run"],
        ["report", "due"],
    ],
)
def test_every_command_has_help(stack: Stack, command: list[str]) -> None:
    result = stack.run(*command, "--help")
    assert result.stdout.startswith("usage: energy-workbook")
