"""energy_lib.ledger pure parts: S3 sequencers as fixed-width text, and a lease that outlives any invocation.
Claims, leases and outcomes against DynamoDB: tests/integration/test_versions.py."""

from __future__ import annotations

import pytest

from energy_lib.ledger import LEASE_SECONDS, SEQUENCER_WIDTH, sequencer_key
from energy_lib.workbook.infra.spec import FUNCTION


def test_sequencers_of_different_lengths_compare_in_event_order_once_padded():
    # S3: "left pad the shorter value with zeros, then compare lexicographically"
    events = [  # S3 sequencers, not secrets
        "0055AED6DCD90281E5",  # pragma: allowlist secret
        "0055AED6DCD90281E6",  # pragma: allowlist secret
        "0055AED6DCD9028200",  # pragma: allowlist secret
        "1055AED6DCD90281E500",  # pragma: allowlist secret
    ]

    assert sorted(events[::-1], key=sequencer_key) == events
    assert sequencer_key("0055aed6dcd90281e5") == sequencer_key("0055AED6DCD90281E5")
    assert len(sequencer_key("1")) == SEQUENCER_WIDTH


@pytest.mark.parametrize("bad", ["", "XYZ", "12 34", "F" * (SEQUENCER_WIDTH + 1)])
def test_what_is_not_a_sequencer_is_refused(bad):
    with pytest.raises(ValueError):
        sequencer_key(bad)


def test_a_lease_outlives_the_function_timeout():
    # a live attempt never loses its lease: Lambda stops it at the timeout, long before the lease expires
    assert FUNCTION.timeout_s < LEASE_SECONDS
