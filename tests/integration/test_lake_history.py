"""Simulated history straight into the lake, the ``lake`` commands, and the compaction function's zip
imported where only boto3 and pyarrow exist (as in its layer)."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow
import pyarrow.parquet as pq
import pytest

from energy_lib import lake
from energy_lib.clients import client
from energy_lib.config import Settings
from energy_lib.errors import LakeError
from energy_lib.readings import Reading
from energy_lib.rules import assess
from energy_lib.workbook import simulator
from energy_lib.workbook.cli import main
from energy_lib.workbook.lake import engines, queries
from energy_lib.workbook.simulator.year import write_history
from tests.integration.test_lake import record
from tests.integration.test_lambda_zip import boto3_only_path

pytestmark = pytest.mark.stack

START = datetime(2025, 6, 10, tzinfo=timezone.utc)


def lake_rows(lake_dir: Path) -> list[dict]:
    rows = []
    for path in sorted((lake_dir / lake.READINGS).glob("day=*/*.parquet")):
        rows += pq.read_table(path).to_pylist()
    return rows


def test_the_year_writer_writes_what_the_simulator_simulates_judged_by_the_pipeline_s_rules(tmp_path: Path) -> None:
    # GIVEN 3 sites over 2 days at 30 minutes, with many anomalies
    fleet = simulator.default_fleet(3)
    run = write_history(Settings(), fleet, START, 2, 30, 0.2, 7, lake_dir=tmp_path, workers=1, progress=False)
    # THEN every reading of simulate() with the same arguments is in the lake, exactly
    expected = simulator.simulate(fleet, START, 48, 30, 0.2, 7)
    rows = lake_rows(tmp_path)
    assert (run.days, run.readings, len(rows)) == (2, len(expected.readings), len(expected.readings))
    by_key = {(r["site_id"], f"{r['timestamp']:%Y-%m-%dT%H:%M:%SZ}"): r for r in rows}
    for reading in expected.readings:
        row = by_key[(reading["site_id"], reading["timestamp"])]
        generated, consumed = (
            Decimal(str(reading["energy_generated_kwh"])),
            Decimal(str(reading["energy_consumed_kwh"])),
        )
        assert (row["energy_generated_kwh"], row["energy_consumed_kwh"]) == (generated, consumed)
        assert row["net_energy_kwh"] == generated - consumed
        verdict = assess(Reading(row["site_id"], START, generated, consumed, 1), Settings())
        assert (row["anomaly"], row["anomaly_reasons"], row["severity"]) == (
            verdict.anomaly,
            list(verdict.reasons),
            verdict.severity,
        )
    assert run.anomalies == sum(r["anomaly"] for r in rows) == expected.injected_anomalies
    # one file per UTC day, sorted by site and time
    days = sorted(path.parent.name for path in (tmp_path / lake.READINGS).glob("day=*/*.parquet"))
    assert days == ["day=2025-06-10", "day=2025-06-11"]
    for path in (tmp_path / lake.READINGS).glob("day=*/*.parquet"):
        keys = [(r["site_id"], r["timestamp"]) for r in pq.read_table(path).to_pylist()]
        assert keys == sorted(keys)


def test_the_year_writer_never_overwrites_a_day(tmp_path: Path, settings: Settings) -> None:
    fleet = simulator.default_fleet(2)
    write_history(settings, fleet, START, 1, 60, 0.0, 1, lake_dir=tmp_path, workers=1, progress=False)
    with pytest.raises(LakeError, match="2025-06-10"):
        write_history(settings, fleet, START, 1, 60, 0.0, 1, lake_dir=tmp_path, workers=1, progress=False)
    # into the bucket: the same, and DuckDB reads it back over S3
    write_history(settings, fleet, START, 1, 60, 0.0, 1, workers=1, progress=False)
    with pytest.raises(LakeError, match="2025-06-10"):
        write_history(settings, fleet, START, 1, 60, 0.0, 1, workers=1, progress=False)
    answer = engines.sql(settings, queries.daily_sql("2025-06-10", "2025-06-11"))
    assert (answer.loc[0, "readings"], answer.loc[0, "sites"]) == (48, 2)


@pytest.mark.parametrize("bad", [{"days": 0}, {"start": datetime(2025, 6, 10, 1, tzinfo=timezone.utc)}])
def test_the_year_writer_refuses_bad_periods(bad: dict, tmp_path: Path) -> None:
    arguments = {"days": 1, "start": START} | bad
    with pytest.raises(ValueError):
        write_history(Settings(), simulator.default_fleet(1), arguments["start"], arguments["days"], lake_dir=tmp_path)


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name, value in settings.environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ENERGY_ENDPOINT_URL", settings.endpoint)
    return settings


def test_lake_commands(cli_env: Settings, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    settings = cli_env
    s3 = client("s3", settings)
    lake.put_changes(s3, settings, [record(100, "A", "2025-06-11T10:00:00Z", "0.000000001", "12345678901234567890.5")])
    # status: one change object waits
    assert main(["lake", "status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert (status["pending_change_objects"], status["day_files"]) == (1, 0)
    # compact folds it in
    assert main(["lake", "compact", "--json"]) == 0
    assert [(d["day"], d["status"], d["rows"]) for d in json.loads(capsys.readouterr().out)] == [
        ("2025-06-11", "written", 1)
    ]
    # sql --json keeps every digit
    assert main(["lake", "sql", "SELECT site_id, energy_generated_kwh, net_energy_kwh FROM readings", "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out, parse_float=Decimal)
    assert row == {
        "site_id": "A",
        "energy_generated_kwh": Decimal("1E-9"),
        "net_energy_kwh": Decimal("-12345678901234567890.499999999"),
    }
    # a query DuckDB refuses is bad input: one line on stderr (DuckDB's own message takes 4 or 5), exit 2
    for query, said in (
        ("SELECT nope FROM readings", 'Binder Error: Referenced column "nope" not found'),
        ("SELEC site_id FROM readings", 'Parser Error: syntax error at or near "SELEC"'),
        ("SELECT * FROM nothing_here", "Catalog Error: Table with name nothing_here does not exist!"),
        ("SELECT 'x'::INT FROM readings", "Conversion Error: Could not convert string 'x' to INT32"),
    ):
        assert main(["lake", "sql", query]) == 2, query
        err = capsys.readouterr().err
        assert err.startswith(f"energy-workbook: error: DuckDB: {said}") and err.count("\n") == 1, err
        assert "LINE 1: " + query in err and "^" not in err  # where, without the caret line
    # a lake it cannot read is not the asker's mistake: exit 1, one line
    broken = tmp_path / "broken" / "readings" / "day=2025-06-11"
    broken.mkdir(parents=True)
    (broken / "readings.parquet").write_bytes(b"not parquet")
    assert main(["lake", "sql", "SELECT count(*) FROM readings", "--lake-dir", str(tmp_path / "broken")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("energy-workbook: error: DuckDB") and err.count("\n") == 1, err
    with pytest.raises(SystemExit) as exited:
        main(["lake", "simulate-year", "--days", "0"])
    assert exited.value.code == 2 and "--days" in capsys.readouterr().err
    # simulate-year into a folder, then sql over it
    folder = str(tmp_path / "lake")
    assert (
        main(
            [
                "lake",
                "simulate-year",
                "--sites",
                "2",
                "--days",
                "1",
                "--interval-minutes",
                "60",
                "--lake-dir",
                folder,
                "--json",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["readings"] == 48
    assert main(["lake", "sql", "SELECT count(*) AS n FROM readings", "--lake-dir", folder, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"n": 48}]


def test_compaction_zip_runs_with_only_boto3_and_pyarrow(settings: Settings, tmp_path: Path) -> None:
    # GIVEN the compaction function's zip and an interpreter that sees only it, boto3 and pyarrow (+ numpy)
    assert (
        main(
            [
                "lambda",
                "build",
                "--output",
                str(tmp_path / "lambda.zip"),
                "--compaction-output",
                str(tmp_path / "compaction.zip"),
            ]
        )
        == 0
    )
    names = zipfile.ZipFile(tmp_path / "compaction.zip").namelist()
    assert "compaction.py" in names and "energy_lib/compaction/days.py" in names
    assert not [n for n in names if n.startswith("energy_lib/workbook")]
    libs = boto3_only_path(tmp_path / "libs")
    for module in (pyarrow, np):
        (libs / Path(module.__file__).parent.name).symlink_to(Path(module.__file__).parent)
    for extra in Path(np.__file__).parent.parent.glob("numpy.libs"):
        (libs / extra.name).symlink_to(extra)
    lake.put_changes(client("s3", settings), settings, [record(100, "A", "2025-06-11T10:00:00Z", "1.5", "1")])
    script = f"""
import json, sys
sys.path[:0] = [{str(tmp_path / "compaction.zip")!r}, {str(libs)!r}]
for absent in ("pandas", "duckdb", "plotly", "moto"):
    try:
        __import__(absent)
    except ImportError:
        pass
    else:
        raise SystemExit(absent + " is importable; the interpreter is not clean")
import compaction
class Context:
    def get_remaining_time_in_millis(self):
        return 300000
print(json.dumps(compaction.handler({{}}, Context())))
"""
    env = {**settings.environment(), "ENERGY_ENDPOINT_URL": settings.endpoint, "PATH": "/usr/bin:/bin"}
    # WHEN the scheduled event invokes the handler there
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", script], capture_output=True, text=True, env=env, timeout=120
    )
    # THEN it folds the change object into the day file
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1])["days"][0]["rows"] == 1
    assert engines.sql(settings, "SELECT count(*) AS n FROM readings").loc[0, "n"] == 1
