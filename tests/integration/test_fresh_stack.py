"""The test harness's fresh stack: provisioned once per set of settings, emptied of data between tests, so every
test starts from an empty pipeline without paying for provisioning again."""

from __future__ import annotations

import json
from pathlib import Path

from energy_lib import query
from energy_lib.clients import client
from energy_lib.workbook.aws import checks
from tests.conftest import fresh_stack
from tests.integration.harness import Pipeline, put, take_messages


def test_data_is_emptied_and_every_resource_and_setting_kept(moto_port: int, tmp_path: Path) -> None:
    # GIVEN a stack holding readings, rollups, stream records, object versions, ledger entries and messages
    settings = fresh_stack(moto_port, tmp_path)
    body = json.dumps([{"site_id": "A", "timestamp": "2025-06-11T10:00:00Z", "energy_generated_kwh": "-2",
                        "energy_consumed_kwh": "1"}]).encode()  # fmt: skip
    put(settings, "raw/2025/06/11/a.json", body)
    put(settings, "raw/2025/06/11/a.json", body)
    Pipeline(settings).drain()
    dynamodb = client("dynamodb", settings)
    assert query.summary(settings, dynamodb)["fleet"]["readings"] == 1
    # WHEN the next test asks for a fresh stack with the same settings
    again = fresh_stack(moto_port, tmp_path)
    # THEN nothing of the data is left: tables, streams, objects and their versions, queues
    for table in (settings.readings_table, settings.rollups_table, settings.ledger_table):
        assert dynamodb.scan(TableName=table)["Count"] == 0, table
    s3 = client("s3", again)
    assert "Versions" not in s3.list_object_versions(Bucket=settings.bucket)
    assert take_messages(again) == []
    Pipeline(again).drain()
    assert query.summary(again, dynamodb)["fleet"]["readings"] == 0
    # AND every resource and setting is as provisioned
    checks.assert_passed(checks.run(again))
