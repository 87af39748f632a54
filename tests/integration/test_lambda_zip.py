"""The built zip holds the handler and the Lambda side only, and runs in an interpreter that has boto3
and nothing of the workbook side."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from decimal import Decimal
from pathlib import Path

import boto3
import botocore
import dateutil
import jmespath
import pytest
import s3transfer
import urllib3

from energy_lib import query
from energy_lib.clients import client
from energy_lib.config import Settings
from energy_lib.workbook.cli import main
from tests.conftest import EVENTS, SAMPLES
from tests.integration.harness import take_messages

pytestmark = pytest.mark.stack

BOTO3_ONLY = (boto3, botocore, s3transfer, jmespath, dateutil, urllib3)  # boto3 and what it depends on


def boto3_only_path(folder: Path) -> Path:
    """A folder that holds boto3 and its dependencies, linked from this environment, and nothing else."""
    folder.mkdir()
    for module in BOTO3_ONLY:
        source = Path(module.__file__).parent
        (folder / source.name).symlink_to(source)
    six = Path(dateutil.__file__).parent.parent / "six.py"
    (folder / "six.py").symlink_to(six)
    return folder


def test_zip_holds_handler_and_lambda_side_only(tmp_path: Path) -> None:
    output = tmp_path / "lambda.zip"
    assert main(["lambda", "build", "--output", str(output)]) == 0
    names = zipfile.ZipFile(output).namelist()
    assert {"handler.py", "aggregator.py", "energy_lib/pipeline.py", "energy_lib/aggregator.py"} <= set(names)
    assert "energy_lib/py.typed" in names
    assert not [name for name in names if "workbook" in name or name.endswith(".pyc")]
    assert not [name for name in names if name.startswith("energy_lib/compaction/")]  # pyarrow: compaction.zip
    # the same sources give the same bytes
    again = tmp_path / "again.zip"
    main(["lambda", "build", "--output", str(again)])
    assert again.read_bytes() == output.read_bytes()


CLEAN_INTERPRETER = """
import json, sys
sys.path[:0] = [{zip!r}, {libs!r}]
for workbook_only in ("pandas", "plotly", "ipywidgets", "papermill", "numpy", "moto"):
    try:
        __import__(workbook_only)
    except ImportError:
        pass
    else:
        raise SystemExit(f"{{workbook_only}} is importable; the interpreter is not clean")
import {entry}
print(json.dumps({entry}.handler(json.loads(sys.argv[1]), None)))
print(json.dumps(sorted(m for m in sys.modules if m.startswith("energy_lib"))))
"""


def run_from_zip(settings: Settings, tmp_path: Path, entry: str, event: dict) -> tuple[dict, list[str]]:
    """Build the zip, then call ``<entry>.handler(event)`` in an isolated interpreter that sees only the zip and
    boto3; returns the response and the energy_lib modules it loaded."""
    output = tmp_path / "lambda.zip"
    main(["lambda", "build", "--output", str(output)])
    libs = boto3_only_path(tmp_path / "libs")
    script = CLEAN_INTERPRETER.format(zip=str(output), libs=str(libs), entry=entry)
    env = {**settings.environment(), "ENERGY_ENDPOINT_URL": settings.endpoint, "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", script, json.dumps(event)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    response, modules = (json.loads(line) for line in result.stdout.splitlines()[-2:])
    return response, modules


def test_handler_from_zip_processes_an_event_with_only_boto3(settings: Settings, tmp_path: Path) -> None:
    # GIVEN a sample file uploaded, and the SQS event of its notification
    key = "raw/2025/06/11/array_utc_z.json"
    client("s3", settings).put_object(Bucket=settings.bucket, Key=key, Body=(SAMPLES / "array_utc_z.json").read_bytes())
    [notification] = take_messages(settings)
    event = {"Records": [{"messageId": "m1", "body": notification["Body"]}]}
    # WHEN the ingest handler processes it in an interpreter with only the zip and boto3
    response, modules = run_from_zip(settings, tmp_path, "handler", event)
    # THEN it succeeds, stores the readings and loaded no workbook module
    assert response == {"batchItemFailures": []}
    assert not [m for m in modules if m.startswith("energy_lib.workbook")]
    assert len(query.readings(settings, client("dynamodb", settings), "SITE_001")) == 1


def test_aggregator_from_zip_applies_a_stream_batch_with_only_boto3(settings: Settings, tmp_path: Path) -> None:
    event = json.loads((EVENTS / "dynamodb_stream_readings.json").read_text())
    event["Records"] = event["Records"][:2]  # the reading inserted, then corrected into an anomaly

    response, modules = run_from_zip(settings, tmp_path, "aggregator", event)

    assert response == {"batchItemFailures": []}
    assert not [m for m in modules if m.startswith("energy_lib.workbook")]
    [site] = query.summary(settings, client("dynamodb", settings))["sites"]
    assert (site["site_id"], site["readings"], site["anomalies"], site["flagged_energy_generated_kwh"]) == (
        "SITE_001",
        1,
        1,
        Decimal("-3.25"),
    )
