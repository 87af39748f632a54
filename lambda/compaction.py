"""The compaction function's entry point: fold the lake's change objects into the day files.

Runs on a schedule with AWS's managed "AWS SDK for pandas" layer, which brings pyarrow.
"""

from __future__ import annotations

import logging
from typing import Any

from energy_lib.clients import client
from energy_lib.compaction.days import compact
from energy_lib.config import Settings

logging.getLogger().setLevel(logging.INFO)
SETTINGS = Settings.from_env()
S3 = client("s3", SETTINGS)
SPARE_MS = 60_000  # no new day is started with less time left than this


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    results = compact(SETTINGS, S3, keep_going=lambda: context.get_remaining_time_in_millis() > SPARE_MS)
    return {"days": [result.row() for result in results]}
