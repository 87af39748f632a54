"""The pure parts of the exact summary: what the buckets span, up to where the rollups alone hold a summary, and
the sentence that says how fresh it is."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from energy_lib.tail import Freshness, span
from energy_lib.wording import freshness


@pytest.mark.parametrize(
    ("buckets", "expected"),
    [
        (["T"], ("2000-01-01T00:00:00Z", "2199-12-31T23:59:59Z")),
        (["D#2025-06-11"], ("2025-06-11T00:00:00Z", "2025-06-11T23:59:59Z")),
        (["H#2025-06-11T13"], ("2025-06-11T13:00:00Z", "2025-06-11T13:59:59Z")),
        (["H#2025-06-10T23", "D#2025-06-11", "H#2025-06-12T00"], ("2025-06-10T23:00:00Z", "2025-06-12T00:59:59Z")),
    ],
)
def test_the_span_of_buckets_is_their_first_and_last_second(buckets: list[str], expected: tuple[str, str]) -> None:
    assert span(buckets) == expected


def test_the_rollups_alone_hold_a_summary_up_to_the_earliest_watermark_of_a_site_with_readings_after_it() -> None:
    fresh = Freshness(
        complete_through="2025-06-11T10:22:07Z",
        rolled_up_through={"A": "2025-06-11T10:05:00Z", "B": "2025-06-11T09:50:00Z", "C": "", "D": ""},
        after_rollups={"A": 2, "C": 1},
        first_after_rollups={"A": "2025-06-11T10:10:00Z", "C": "2025-06-11T10:00:00Z"},
    )
    # B has nothing after its watermark (a silent site holds nothing back); C is not rolled up at all
    assert fresh.through(["A", "B"]) == "2025-06-11T10:05:00Z"
    assert fresh.through(["A", "B", "C"]) == "2025-06-11T09:59:59Z"
    assert fresh.through(["B", "D"]) == "2025-06-11T10:22:07Z"  # nothing came from the readings table


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (
            {"readings": 8, "readings_after_rollups": 1, "rolled_up_through": "2025-06-11T10:05:00Z"},
            "Exact as of 2025-06-11 10:22:07 UTC: the rollups hold its readings up to 2025-06-11 10:05 UTC; "
            "1 reading after that was read from the readings table.",
        ),
        (
            {"readings": 1200, "readings_after_rollups": 1100, "rolled_up_through": "2025-06-11T09:59:59Z"},
            "Exact as of 2025-06-11 10:22:07 UTC: the rollups hold its readings up to 2025-06-11 09:59:59 UTC; "
            "1,100 readings after that were read from the readings table.",
        ),
        (
            {"readings": 864, "readings_after_rollups": 864, "rolled_up_through": "2025-06-10T23:59:59Z"},
            "Exact as of 2025-06-11 10:22:07 UTC: none of its readings is in the rollups yet; all 864 readings were "
            "read from the readings table.",
        ),
        (
            {"readings": 8, "readings_after_rollups": 0, "rolled_up_through": "2025-06-11T10:22:07Z"},
            "Exact as of 2025-06-11 10:22:07 UTC: every reading in it is in the rollups.",
        ),
        (
            {"readings": 0, "readings_after_rollups": 0, "rolled_up_through": "2025-06-11T10:22:07Z"},
            "Exact as of 2025-06-11 10:22:07 UTC: no readings.",
        ),
    ],
)
def test_the_freshness_sentence_tells_no_readings_from_readings_not_rolled_up(row: dict, expected: str) -> None:
    assert freshness(row, "2025-06-11T10:22:07Z") == expected
    assert freshness(row, datetime(2025, 6, 11, 10, 22, 7, tzinfo=timezone.utc)) == expected
