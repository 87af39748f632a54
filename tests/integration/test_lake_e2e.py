"""The lake filled by the running pipeline on a real local stack process: S3 -> ingest -> readings table ->
stream -> aggregator (change objects) -> the stack's compaction schedule -> day files. After ``energy-workbook
wait`` the lake equals the readings table, corrections and newer object versions included, and its totals
equal the rollups' summary to the last digit."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any

import pytest

from energy_lib import rollups
from energy_lib.clients import client
from energy_lib.workbook.infra.spec import COMPACTION
from energy_lib.workbook.lake import queries
from tests.integration import test_local_stack
from tests.integration.harness import lake_readings, table_readings
from tests.integration.test_local_stack import Stack

pytestmark = pytest.mark.stack

stack = test_local_stack.stack  # a local stack process of this module's own

LOCAL_BOUND_S = 60  # docs/history.md promises a stored reading in the lake within a minute on the local stack
DAY, NEXT_DAY = "2025-06-11T00:00:00Z", "2025-06-12T00:00:00Z"


def exact_json(stack: Stack, *args: str) -> Any:
    """A command's ``--json`` answer with every number as it was printed (Decimal, never float)."""
    return json.loads(stack.run(*args, "--json").stdout, parse_float=Decimal)


def jsonl(body: bytes) -> list[dict[str, Any]]:
    return [json.loads(line, parse_float=Decimal) for line in body.decode().splitlines() if line]


def encoded(lines: list[dict[str, Any]]) -> bytes:
    """JSON Lines with the kWh values as JSON numbers of exactly their Decimal text."""
    text = ""
    for line in lines:
        fields = [
            f'"{name}": {value}' if isinstance(value, Decimal) else f'"{name}": {json.dumps(value)}'
            for name, value in line.items()
        ]
        text += "{" + ", ".join(fields) + "}\n"
    return text.encode()


def test_a_simulated_day_with_corrections_and_a_newer_version_reaches_the_lake(stack: Stack) -> None:
    settings = stack.settings
    s3 = client("s3", settings)
    # GIVEN a simulated day of 3 sites, processed
    stack.run("simulate", "--sites", "3", "--hours", "24", "--start", DAY, "--seed", "11", "--format", "jsonl")
    stack.run("wait", "--timeout", "300")
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=settings.bucket, Prefix=settings.raw_prefix)["Contents"])
    assert len(keys) == 3
    first = jsonl(s3.get_object(Bucket=settings.bucket, Key=keys[0])["Body"].read())
    second = jsonl(s3.get_object(Bucket=settings.bucket, Key=keys[1])["Body"].read())
    # WHEN a newer version of the first site's file changes its first hour, and a correction file changes five
    # readings of the second site, one of them into an implausible value (an anomaly)
    newer = [{**line, "energy_generated_kwh": Decimal("7.125")} if n < 12 else line for n, line in enumerate(first)]
    corrected = [{**line, "energy_generated_kwh": Decimal("3.375")} for line in second[100:104]]
    corrected.append({**second[104], "energy_generated_kwh": Decimal("1500.5")})
    corrections_key = f"{settings.raw_prefix}corrections/2025-06-11.jsonl"
    uploaded = time.monotonic()
    stack.put(keys[0], encoded(newer))
    stack.put(corrections_key, encoded(corrected))
    stack.run("wait", "--timeout", str(LOCAL_BOUND_S))
    waited_s = time.monotonic() - uploaded

    # THEN the lake equals the readings table, reading by reading (values, verdicts, reasons, source)
    in_lake = lake_readings(settings)
    assert in_lake == table_readings(settings)
    assert len(in_lake) == 3 * 288
    by_moment = {(row["site_id"], row["timestamp"]): row for row in in_lake}
    for line in newer[:12]:
        row = by_moment[(line["site_id"], line["timestamp"])]
        assert (row["energy_generated_kwh"], row["source_key"]) == (Decimal("7.125"), keys[0])
    for line in corrected:
        row = by_moment[(line["site_id"], line["timestamp"])]
        assert (row["energy_generated_kwh"], row["source_key"]) == (line["energy_generated_kwh"], corrections_key)
    assert by_moment[(corrected[-1]["site_id"], corrected[-1]["timestamp"])]["anomaly"] is True

    # AND the lake's totals of the day equal the rollups' summary to the last digit, valid and flagged apart
    totals = exact_json(stack, "lake", "sql", queries.site_totals_sql(DAY, NEXT_DAY))
    summary = exact_json(stack, "query", "summary", "--start", DAY, "--end", NEXT_DAY)
    assert [{n: row[n] for n in ("site_id", *rollups.COUNTERS)} for row in totals] == [
        {n: row[n] for n in ("site_id", *rollups.COUNTERS)} for row in summary["sites"]
    ]
    assert sum(row["anomalies"] for row in totals) > 1  # flagged readings are there to be told apart
    assert all(str(row["flagged_energy_generated_kwh"]) != "0" for row in totals if row["anomalies"])

    # AND nothing waits for compaction, and the corrections were in the lake within the bound
    assert stack.json("lake", "status")["pending_change_objects"] == 0
    assert waited_s < LOCAL_BOUND_S
    print(
        f"\ncorrections uploaded to lake on the local stack: {waited_s:.1f} s "
        f"(compaction every {COMPACTION.local_period_s} s)"
    )
