"""The Lambda entry point of the rollups: batches of the readings table's stream -> energy_lib.aggregator, which
first writes them as the history lake's change objects (energy_lib.lake), then adds them to the rollups."""

from __future__ import annotations

import logging
from functools import partial

from energy_lib import lake
from energy_lib.aggregator import StreamBatchResponse, StreamEvent, handle_stream_event
from energy_lib.clients import client
from energy_lib.config import Settings

logging.getLogger().setLevel(logging.INFO)
SETTINGS = Settings.from_env()
DYNAMODB = client("dynamodb", SETTINGS)  # built once per container
CAPTURE = partial(lake.put_changes, client("s3", SETTINGS), SETTINGS)


def handler(event: StreamEvent, context: object) -> StreamBatchResponse:
    return handle_stream_event(event, DYNAMODB, SETTINGS.rollups_table, capture=CAPTURE)
