"""The aggregator's window state (:mod:`energy_lib.window_state`): what it keeps of a stream record, and that it
refuses a state it cannot read. Through the stream player: tests/integration/test_windows.py."""

from __future__ import annotations

import pytest

from energy_lib import window_state
from tests.integration.test_aggregator import forty_digits, reading, record


def test_the_state_keeps_only_what_rollups_read_and_refuses_one_it_cannot_read() -> None:
    data = record(forty_digits(1), None, reading("A", "2025-06-11T10:00:00Z", "1"))["dynamodb"]
    kept = window_state.kept(data)
    assert set(kept["NewImage"]) <= set(window_state.KEPT) and "source_key" in data["NewImage"]
    pending: window_state.Pending = {}
    window_state.add(pending, [{"dynamodb": data}])
    assert window_state.decode(window_state.encode(pending)) == pending
    assert window_state.encode({}) == {} and window_state.decode({}) == {}
    with pytest.raises(ValueError, match="version"):
        window_state.decode({"version": 99, "pending": ""})
