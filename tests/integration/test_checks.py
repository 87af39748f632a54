"""Provisioning checks against a real moto server: they pass on what the provisioner made, and they read
the deployment's own choices (Terraform variables, via Settings) rather than fixed defaults."""

from __future__ import annotations

from dataclasses import replace

import pytest

from energy_lib.config import Settings
from energy_lib.workbook.aws import checks
from tests.conftest import fresh_stack

pytestmark = pytest.mark.stack


def failing(results: list[checks.Check]) -> list[str]:
    return [f"{check.resource} {check.setting}" for check in results if not check.passed]


def test_checks_pass_on_what_the_provisioner_made(settings: Settings) -> None:
    results = checks.run(settings)
    assert len(results) >= 30 and failing(results) == []


def test_checks_expect_the_deployment_s_max_receive_count_and_log_retention(moto_port, tmp_path) -> None:
    # GIVEN a deployment made with tfvars max_receive_count = 3 and log_retention_days = 14
    chosen = fresh_stack(moto_port, tmp_path, max_receive_count=3, log_retention_days=14)
    # WHEN the checks run with settings that know those choices (as from `terraform output -json`)
    # THEN they pass; with the defaults, exactly the redrive and the three functions' log retention fail
    assert failing(checks.run(chosen)) == []
    defaults = replace(chosen, max_receive_count=5, log_retention_days=30)
    assert sorted(failing(checks.run(defaults))) == [
        "lambda:energy-workbook-compaction log retention [days]",
        "lambda:energy-workbook-ingest log retention [days]",
        "lambda:energy-workbook-rollups log retention [days]",
        "sqs:energy-workbook-ingest redrive",
    ]


def test_checks_see_the_readings_stream_the_rollups_function_and_its_dead_letter_queue(settings: Settings) -> None:
    rows = {(check.resource, check.setting): check for check in checks.run(settings)}
    assert rows[(f"dynamodb:{settings.readings_table}", "stream")].actual == "NEW_AND_OLD_IMAGES"
    assert rows[(f"lambda:{settings.aggregator_function_name}", "handler")].actual == "aggregator.handler"
    assert rows[(f"sqs:{settings.rollups_dead_letter_queue}", "managed encryption")].passed
    # the stream's mapping is checked on AWS; locally the runtime plays it (moto would call the function itself)
    assert not [key for key in rows if key[0].endswith(settings.aggregator_function_name) and "mapping" in key[1]]
