"""What the simulator tests share: a fixed start, two sites, reading files back, a moto S3 bucket, a fake clock."""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from energy_lib.workbook.simulator import (
    FIELDS,
    Site,
)

START = datetime(2025, 6, 11, tzinfo=UTC)
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
SITE_ID = re.compile(r"[A-Za-z0-9_.\-]{1,128}")
BUCKET = "energy-test-data"
PHOENIX = Site("PHX-1", 33.448, -112.074, "America/Phoenix", "solar", 400.0, 100.0)
SYDNEY = Site("SYD.2", -33.869, 151.209, "Australia/Sydney", "hybrid", 300.0, 80.0)


def parse_body(body: bytes, fmt: str) -> list[dict]:
    """Read a file back with the standard library only; CSV numbers become floats."""
    if fmt == "json.gz":
        body, fmt = gzip.decompress(body), "json"
    text = body.decode()
    if fmt == "json":
        return json.loads(text)
    if fmt == "jsonl":
        return [json.loads(line) for line in text.splitlines()]
    rows = list(csv.DictReader(io.StringIO(text)))
    assert text.splitlines()[0] == ",".join(FIELDS)
    return [
        {
            **row,
            "energy_generated_kwh": float(row["energy_generated_kwh"]),
            "energy_consumed_kwh": float(row["energy_consumed_kwh"]),
        }
        for row in rows
    ]


@pytest.fixture
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def stored_readings(s3) -> list[dict]:
    readings = []
    for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        readings += json.loads(s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read())
    return readings


class FakeClock:
    """``now`` and ``sleep`` for run_continuous: sleeping moves the clock, nothing waits."""

    def __init__(self, moment: datetime, interrupt_on_sleep: int | None = None):
        self.moment = moment
        self.sleeps: list[float] = []
        self.interrupt_on_sleep = interrupt_on_sleep

    def now(self) -> datetime:
        return self.moment

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if len(self.sleeps) == self.interrupt_on_sleep:
            raise KeyboardInterrupt
        self.moment += timedelta(seconds=seconds)
