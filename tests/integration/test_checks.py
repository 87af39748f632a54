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
    # THEN they pass; with the defaults, exactly the redrive and the two functions' log retention fail
    assert failing(checks.run(chosen)) == []
    defaults = replace(chosen, max_receive_count=5, log_retention_days=30)
    assert failing(checks.run(defaults)) == [
        "sqs:energy-workbook-ingest redrive",
        "lambda:energy-workbook-ingest log retention [days]",
        "lambda:energy-workbook-compaction log retention [days]",
    ]
