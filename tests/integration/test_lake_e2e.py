"""The lake on a real local stack process: the stack's compaction schedule folds change objects into the
day files, and ``energy-workbook wait`` returns only once the lake caught up, within the delay bound."""

from __future__ import annotations

import time

import pytest

from energy_lib import lake
from energy_lib.clients import client
from energy_lib.workbook.infra.spec import COMPACTION
from tests.integration import test_local_stack
from tests.integration.test_lake import record
from tests.integration.test_local_stack import Stack

pytestmark = pytest.mark.stack

stack = test_local_stack.stack  # a local stack process of this module's own

LOCAL_BOUND_S = 60  # the local stack compacts every 2 s; the README promises the lake within a minute


def test_the_stack_folds_change_objects_and_wait_returns_once_the_lake_caught_up(stack: Stack) -> None:
    settings = stack.settings
    s3 = client("s3", settings)
    # GIVEN change objects as the stream aggregator writes them: a reading, then its correction
    written = time.monotonic()
    lake.put_changes(s3, settings, [record(100, "SITE_A", "2025-06-11T12:00:00Z", "4.5", "1")])
    lake.put_changes(s3, settings, [record(200, "SITE_A", "2025-06-11T12:00:00Z", "5.25", "1", "MODIFY")])
    # WHEN a user waits
    stack.run("wait", "--timeout", str(LOCAL_BOUND_S))
    waited_s = time.monotonic() - written
    # THEN the lake holds the corrected reading, nothing waits, and it took less than the bound
    rows = stack.json("lake", "sql", 'SELECT site_id, "timestamp", energy_generated_kwh FROM readings')
    assert rows == [{"site_id": "SITE_A", "timestamp": "2025-06-11T12:00:00Z", "energy_generated_kwh": 5.25}]
    assert stack.json("lake", "status")["pending_change_objects"] == 0
    assert waited_s < LOCAL_BOUND_S
    print(
        f"\nchange object to lake on the local stack: {waited_s:.1f} s (compaction every {COMPACTION.local_period_s} s)"
    )
