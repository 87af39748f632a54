"""Items DynamoDB leaves unprocessed round after round: an error that says how many, after every real pause of
the batch writer's backoff (about 7 s, so not in the fast tier)."""

from __future__ import annotations

import pytest

from energy_lib.dynamo import UNPROCESSED_ROUNDS, UnprocessedItems, batch_put
from tests.unit.test_dynamo import Throttled


@pytest.mark.slow  # waits through every round's growing pause: about 7 s
def test_what_stays_unprocessed_after_every_round_is_an_error_naming_how_many() -> None:
    client = Throttled(keep=2, rounds=UNPROCESSED_ROUNDS + 5)
    with pytest.raises(
        UnprocessedItems, match=f"2 UnprocessedItems of t stayed unprocessed after {UNPROCESSED_ROUNDS}"
    ):
        batch_put(client, "t", [{"k": "a"}, {"k": "b"}, {"k": "c"}])
    assert len(client.requests) == UNPROCESSED_ROUNDS
