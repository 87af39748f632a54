"""The Lambda entry point of the rollups: batches of the readings table's stream -> energy_lib.aggregator."""

from __future__ import annotations

import logging

from energy_lib.aggregator import StreamBatchResponse, StreamEvent, handle_stream_event
from energy_lib.clients import client
from energy_lib.config import Settings

logging.getLogger().setLevel(logging.INFO)
SETTINGS = Settings.from_env()
DYNAMODB = client("dynamodb", SETTINGS)  # built once per container


def handler(event: StreamEvent, context: object) -> StreamBatchResponse:
    return handle_stream_event(event, DYNAMODB, SETTINGS.rollups_table)
