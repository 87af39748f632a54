"""The hot window's pure parts: when a reading expires, which stream records are deletions by the time to live,
which records the rollups and the lake take in, and which store answers a range (:mod:`energy_lib.expiry`,
:mod:`energy_lib.aggregator`, :mod:`energy_lib.workbook.lake.stores`). Through the pipeline:
tests/integration/test_hot_store.py."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from energy_lib import expiry
from energy_lib.aggregator import for_lake, for_rollups
from energy_lib.config import Settings
from energy_lib.workbook.lake import stores
from tests.conftest import EVENTS

EXPIRED, DELETED = json.loads((EVENTS / "dynamodb_stream_expiry.json").read_text())["Records"]
STORED = datetime(2025, 6, 12, 8, 30, 15, tzinfo=timezone.utc)
NOW = datetime(2026, 12, 6, 13, 45, tzinfo=timezone.utc)


def test_a_deletion_by_the_time_to_live_is_told_from_a_user_s_by_its_user_identity() -> None:
    # GIVEN real REMOVE records: one the time to live made (userIdentity names DynamoDB), one a user made
    assert expiry.is_expiry(EXPIRED)
    assert not expiry.is_expiry(DELETED)
    # AND an identity on anything but a REMOVE, or naming another principal, is not one
    assert not expiry.is_expiry({**EXPIRED, "eventName": "MODIFY"})
    assert not expiry.is_expiry({**EXPIRED, "userIdentity": {"type": "Service", "principalId": "lambda.amazonaws.com"}})


def test_the_rollups_and_the_lake_leave_an_expiry_alone_and_take_a_user_s_deletion_in() -> None:
    assert (for_rollups(EXPIRED), for_lake(EXPIRED)) == (False, True)  # never handed to the lake: filtered first
    assert (for_rollups(DELETED), for_lake(DELETED)) == (True, True)


def test_an_item_expires_a_window_after_the_later_of_storing_and_its_reading_s_time() -> None:
    assert expiry.expires_at(0, STORED, STORED) is None  # no hot window: kept forever
    past, future = STORED - timedelta(days=400), STORED + timedelta(days=2)
    assert expiry.expires_at(35, STORED, past) == int((STORED + timedelta(days=35)).timestamp())
    assert expiry.expires_at(35, STORED, future) == int((future + timedelta(days=35)).timestamp())
    assert expiry.hot_start(35, NOW) == NOW - timedelta(days=35) and expiry.hot_start(0, NOW) is None


@pytest.mark.parametrize(
    ("start", "end", "old", "hot"),
    [
        ("2025-06-01", "2025-06-02", ("2025-06-01", "2025-06-02"), None),
        ("2026-11-20", "2026-11-21", None, ("2026-11-20", "2026-11-21")),
        ("2026-10-01", "2026-11-05", ("2026-10-01", "2026-11-02"), ("2026-11-02", "2026-11-05")),
    ],
)
def test_a_range_older_than_the_hot_window_is_the_lake_s_and_the_rest_the_table_s(start, end, old, hot) -> None:
    # GIVEN a hot window of 35 days at 2026-12-06 13:45: it starts 2026-11-01 13:45, its first whole UTC day is
    # 2026-11-02
    settings = Settings(readings_ttl_days=35)
    assert stores.cut(settings, NOW) == datetime(2026, 11, 2, tzinfo=timezone.utc)

    def span(pair: tuple[str, str] | None) -> tuple[datetime, datetime] | None:
        return None if pair is None else tuple(datetime.fromisoformat(f"{d}T00:00:00+00:00") for d in pair)

    assert stores.parts(settings, start, end, NOW) == (span(old), span(hot))


def test_without_a_hot_window_the_table_answers_every_range() -> None:
    settings = Settings(readings_ttl_days=0)
    assert stores.cut(settings, NOW) is None
    first, last = datetime(2001, 1, 1, tzinfo=timezone.utc), datetime(2002, 1, 1, tzinfo=timezone.utc)
    assert stores.parts(settings, first, last, NOW) == (None, (first, last))


def test_the_lake_s_readings_of_a_span_name_its_days_its_sites_and_anomalies_only_when_asked() -> None:
    first, last = datetime(2025, 6, 11, tzinfo=timezone.utc), datetime(2025, 6, 12, 12, tzinfo=timezone.utc)
    text = stores.lake_sql((first, last), ["SITE_001"], anomalies_only=True)
    assert "day BETWEEN '2025-06-11' AND '2025-06-12'" in text
    assert "\"timestamp\" < TIMESTAMP '2025-06-12 12:00:00'" in text
    assert "site_id IN ('SITE_001')" in text and text.count("AND anomaly") == 1
    assert '"source_key", "ingested_at"' in text
