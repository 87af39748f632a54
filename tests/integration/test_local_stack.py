"""End to end on the embedded local AWS, driven through the ``energy-workbook`` command like a user or
cron would: a real background process with moto's server and the local Lambda runtime."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from energy_lib.clients import client
from energy_lib.config import Settings
from tests.conftest import SAMPLES, free_port, listening_addresses, sample_files

pytestmark = pytest.mark.stack

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
        """The summary (without the moments it is exact to, which move with the clock) and the ledger."""
        summary = self.json("query", "summary")
        del summary["complete_through"], summary["fleet"]["rolled_up_through"]
        return {"summary": summary, "ingest": self.json("ingest", "status")}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    result = Stack(free_port(), tmp_path_factory.mktemp("local-stack"))
    result.run("local", "up")
    yield result
    result.run("local", "down")
    assert result.run("local", "status", check=False).returncode == 3  # not running


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
    assert stack.json("wait", "--timeout", "120") == {"processed": 8}
    # THEN ledger, readings, summary and alerts hold what they should
    ingest = stack.json("ingest", "status")
    assert sum(row["read"] for row in ingest) == 35 + 72
    assert sum(row["stored"] for row in ingest) == 33 + 72
    assert sum(row["quarantined"] for row in ingest) == 2
    assert sum(row["rounded"] for row in ingest) == 4  # producer_floats.json: its readings stored rounded
    quarantined = sorted(row["key"] for row in stack.json("ops", "quarantine"))
    assert [key.rsplit(".", 3)[0] for key in quarantined] == [
        "quarantine/readings/raw/2025/06/11/lines.jsonl",
        "quarantine/readings/raw/2025/06/11/readings.csv",
    ]
    fleet = stack.json("query", "summary")["fleet"]
    assert fleet["readings"] == 105 and fleet["sites"] == 13  # the simulated SITE_001 and SITE_002 are sample sites too
    site_readings = stack.json(
        "query", "readings", "--site", "SITE_002", "--start", "2025-06-11T00:00:00Z", "--end", "2025-06-11T03:00:00Z"
    )
    assert len(site_readings) == 36
    anomalies = stack.json("query", "anomalies", "--start", "2025-06-11", "--end", "2025-06-12")
    assert len(anomalies) == fleet["anomalies"]
    assert len(stack.json("query", "files")) == 8
    alerts = stack.json("ops", "alerts")
    assert len(alerts) == sum(1 for row in ingest if row["anomalies"])
    before = stack.totals()
    # WHEN the same files arrive again (new uploads of the same bytes: new versions, processed again)
    for sample in sample_files():
        stack.put(f"raw/2025/06/11/{sample.name}", sample.read_bytes())
    stack.json("simulate", "--sites", "2", "--hours", "3", "--seed", "3")
    assert stack.json("wait", "--timeout", "120") == {"processed": 8}
    # THEN no total changes, every current version has the same counts, and each new version sent its alert
    after = stack.totals()
    assert after["summary"] == before["summary"]
    unchanged = ("key", "etag", "status", "read", "stored", "quarantined", "anomalies", "rounded", "error")
    assert [{k: r[k] for k in unchanged} for r in after["ingest"]] == [
        {k: r[k] for k in unchanged} for r in before["ingest"]
    ]
    assert {r["version_id"] for r in after["ingest"]}.isdisjoint(r["version_id"] for r in before["ingest"])
    assert len(stack.json("ops", "alerts")) == 2 * len(alerts)


def test_answers_for_people_name_what_is_missing_and_never_print_none(stack: Stack) -> None:
    # (runs after the samples and the simulation above are stored)
    # an unknown site is bad input: one line, exit 2, the sites that have readings as a hint
    unknown = stack.run("query", "readings", "--site", "NOPE", check=False)
    assert unknown.returncode == 2 and len(unknown.stderr.strip().splitlines()) == 1
    assert "'NOPE' has no readings" in unknown.stderr and "SITE_001" in unknown.stderr
    assert stack.run("query", "anomalies", "--site", "NOPE", check=False).returncode == 2
    # a known site with nothing in the range says so, exit 0; JSON stays an empty list
    empty = stack.run("query", "readings", "--site", "SITE_001", "--start", "2030-01-01", "--end", "2030-01-02")
    assert empty.stdout.strip() == (
        "no readings of SITE_001 from 2030-01-01T00:00:00Z to 2030-01-02T00:00:00Z (end excluded)"
    )
    assert stack.json("query", "readings", "--site", "SITE_001", "--start", "2030-01-01", "--end", "2030-01-02") == []
    # an empty summary says so; a full one never shows Python's None
    nothing = stack.run("query", "summary", "--start", "2030-01-01", "--end", "2030-01-02").stdout
    assert re.fullmatch(
        r"no readings from 2030-01-01T00:00:00Z to 2030-01-02T00:00:00Z \(end excluded\) as of "
        r"\d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)? UTC: nothing to summarise",
        nothing.strip(),
    )
    full = stack.run("query", "summary").stdout
    assert "None" not in full
    assert full.strip().splitlines()[-1].startswith("Exact as of ")  # and how fresh it is
    # the simulator answers in the option's name
    zero = stack.run("simulate", "--sites", "0", check=False)
    assert zero.returncode == 2 and "--sites" in zero.stderr and "n_sites" not in zero.stderr
    # the quarantine lists its reasons
    quarantined = stack.json("ops", "quarantine")
    assert quarantined and all(row["reasons"] for row in quarantined)
    assert not any(row["key"].endswith(".reason.json") for row in quarantined)
    assert "reasons" in stack.run("ops", "quarantine").stdout


def test_the_demo_summary_says_its_period_and_that_the_stack_still_runs(stack: Stack, capsys) -> None:
    from energy_lib.workbook.cli.reports import demo_summary

    demo_summary(stack.settings, ("2025-06-11T00:00:00Z", "2025-06-12T00:00:00Z"))
    out = capsys.readouterr().out
    assert out.startswith("Fleet summary, 2025-06-11T00:00:00Z to 2025-06-12T00:00:00Z (UTC, end excluded;")
    assert "FLEET" in out and "None" not in out
    assert f"still running at http://127.0.0.1:{stack.settings.local_port}" in out
    assert "energy-workbook local down" in out
    demo_summary(stack.settings, ("2030-01-01T00:00:00Z", "2030-01-02T00:00:00Z"))
    assert "no readings in this period" in capsys.readouterr().out


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
        (["simulate", "--sites", "abc"], "not a whole number"),
        (["simulate", "--start", ""], "empty timestamp"),
        (["simulate", "--start", "1960-01-01"], "outside the years the pipeline keeps"),
        (["simulate", "--start", "2199-12-31T23:00:00Z", "--hours", "2"], "the years the pipeline keeps"),
        (["simulate", "--hours", "1e9"], "the years the pipeline keeps"),
        (["simulate", "--max-batches", "2"], "--max-batches cannot go without --continuous"),
        (["simulate", "--continuous", "--hours", "2"], "--hours cannot go with --continuous"),
        (["wait", "--timeout", "soon"], "not a number"),
        (["wait", "--timeout", "nan"], "finite number of seconds"),
        (["wait", "--timeout", "-5"], "finite number of seconds"),
        (["query", "readings", "--site", "S", "--end", "9999-12-31T23:59:59.5"], "outside the years"),
        (["query", "anomalies", "--start", "9999-01-01", "--end", "9999-12-31T23:59:59"], "outside the years"),
        (["query", "summary", "--start", "2025-06-11T10:30:00Z", "--end", "2025-06-11T12:00:00Z"], "whole hours"),
        (["query", "files", "--limit", "0"], "must be at least 1"),
        (["report", "due", "--now", "garbage"], "not a timestamp"),
        (["report", "publish-summary", "--start", "garbage"], "not a timestamp"),
    ],
)
def test_bad_input_gets_one_line_and_exit_2(stack: Stack, args: list[str], message: str) -> None:
    result = stack.run(*args, check=False)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_json_keeps_exact_values_and_tables_hide_index_attributes(stack: Stack) -> None:
    # GIVEN a reading with more digits than a float keeps (29: the most the number bound allows)
    body = (
        '[{"site_id": "EXACT", "timestamp": "2025-06-11T00:00:00Z", '
        '"energy_generated_kwh": 12345678901234567890.123456789, "energy_consumed_kwh": 1}]'
    )
    stack.put("raw/2025/06/11/exact.json", body.encode())
    stack.run("wait", "--timeout", "60")
    # WHEN it is queried as JSON and as a table
    text = stack.run("query", "readings", "--site", "EXACT", "--json").stdout
    table = stack.run("query", "readings", "--site", "EXACT").stdout
    # THEN JSON carries the exact number (not a float's 17 digits) and no attribute that only indexes need
    assert '"energy_generated_kwh": 12345678901234567890.123456789' in text
    assert '"net_energy_kwh": 12345678901234567889.123456789' in text
    [row] = json.loads(text)
    assert not {"day", "anomaly_at", "anomaly_day"} & set(row)
    assert "12345678901234567890.123456789" in table and "anomaly_day" not in table


def test_wait_returns_only_when_the_rollups_hold_every_reading(stack: Stack) -> None:
    # GIVEN a file of 5,760 readings, a day of 20 sites (the rollups follow the readings through the stream)
    rows = [
        {"site_id": f"WAIT_{i % 20:02d}", "timestamp": f"2025-06-13T{i // 20 // 12:02d}:{i // 20 % 12 * 5:02d}:00Z",
         "energy_generated_kwh": f"{i % 97}.5", "energy_consumed_kwh": "1.25"}
        for i in range(5760)
    ]  # fmt: skip
    stack.put("raw/2025/06/13/wait.json", json.dumps(rows).encode())
    # WHEN wait returns
    stack.run("wait", "--timeout", "300")
    # THEN a summary read right after holds every reading
    day = stack.json("query", "summary", "--start", "2025-06-13T00:00:00Z", "--end", "2025-06-14T00:00:00Z")
    assert (day["fleet"]["readings"], day["fleet"]["sites"]) == (5760, 20)
    assert Decimal(str(day["fleet"]["energy_consumed_kwh"])) == Decimal("7200.00")


def test_a_busy_or_frozen_stack_is_running_and_never_started_twice(stack: Stack) -> None:
    # GIVEN the stack's process frozen (SIGSTOP): it answers no request at all, as a very busy one answers late
    pid = stack.json("local", "status")["pid"]
    os.kill(pid, signal.SIGSTOP)
    try:
        # WHEN its status is asked and it is brought up again
        started = time.monotonic()
        status = stack.run("local", "status", "--json", check=False, timeout=30)
        again = stack.run("local", "up", "--json", check=False, timeout=30)
        elapsed = time.monotonic() - started
    finally:
        os.kill(pid, signal.SIGCONT)
    # THEN it is running (by its process and its port), `up` leaves it be, and neither waited for an answer
    assert status.returncode == 0 and json.loads(status.stdout)["running"]
    assert again.returncode == 0 and json.loads(again.stdout)["pid"] == pid
    assert elapsed < 20


def test_output_cut_short_by_the_reader_is_not_an_error(stack: Stack) -> None:
    # `true` exits without reading, so the command writes into a closed pipe
    pipeline = f"set -o pipefail; {' '.join(CLI)} ops health | true"
    result = subprocess.run(["bash", "-c", pipeline], capture_output=True, text=True, env=stack.env, timeout=60)
    assert (result.returncode, result.stderr) == (0, "")


def test_local_down_never_signals_a_program_that_reused_the_pid(tmp_path: Path) -> None:
    # GIVEN a state file naming the pid of another program (the stack died, the number was reused)
    other = subprocess.Popen(["sleep", "60"])
    try:
        stale = Stack(free_port(), tmp_path)
        (tmp_path / f"local-{stale.settings.local_port}.json").write_text(json.dumps({"pid": other.pid, "ready": True}))
        # WHEN the stack is stopped
        result = stale.json("local", "down")
        # THEN nothing was signalled, and the stale state is gone
        assert result == {"stopped": False}
        assert other.poll() is None
        assert not (tmp_path / f"local-{stale.settings.local_port}.json").exists()
    finally:
        other.kill()


def test_local_up_on_a_port_another_program_holds_fails_at_once(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = Stack(holder.getsockname()[1], tmp_path)
        started = time.monotonic()
        result = taken.run("local", "up", check=False)
    assert result.returncode == 1 and "is taken by another program" in result.stderr
    assert time.monotonic() - started < 30  # it did not wait for a server that cannot start


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
        ["ops", "rebuild-rollups"],
        ["report"],
        ["report", "run"],
        ["report", "due"],
        ["report", "publish-summary"],
        ["report", "index"],
        ["demo"],
    ],
)
def test_every_command_has_help(stack: Stack, command: list[str]) -> None:
    result = stack.run(*command, "--help")
    assert result.stdout.startswith("usage: energy-workbook")
    description = result.stdout.split("\n\n")[1]  # after the usage block: what the command does
    assert len(description) > 20 and not description.lstrip().startswith(("positional", "options")), description
