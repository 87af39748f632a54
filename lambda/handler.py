"""The Lambda entry point: SQS batches of S3 notifications -> energy_lib.pipeline."""

from __future__ import annotations

import logging

from energy_lib.config import Settings
from energy_lib.pipeline import BatchResponse, Services, handle_sqs_event

logging.getLogger().setLevel(logging.INFO)
SERVICES = Services.from_settings(Settings.from_env())  # clients built once per container


def handler(event: dict, context: object) -> BatchResponse:
    return handle_sqs_event(event, SERVICES, context)
