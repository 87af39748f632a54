"""Corrections (:mod:`energy_lib.corrections`): what a correction item stands for in the rollups, and which
``INSERT`` lines compaction corrects (:func:`energy_lib.compaction.days.reinserted`): those that meet a row the
lake held before them. Through the pipeline: tests/integration/test_hot_store.py."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pyarrow as pa

from energy_lib import corrections
from energy_lib.aggregator import change_of_data, for_lake, for_rollups
from energy_lib.compaction.days import reinserted
from energy_lib.compaction.tables import CHANGE_SCHEMA, DELETED, INSERTED
from energy_lib.dynamo import to_item
from energy_lib.rollups import change_of

NOW = datetime(2026, 12, 6, 13, 45, tzinfo=timezone.utc)
READING = {
    "site_id": "SITE_001",
    "timestamp": "2025-06-11T20:00:00Z",
    "energy_generated_kwh": Decimal("12.5"),
    "energy_consumed_kwh": Decimal("3.75"),
    "net_energy_kwh": Decimal("8.75"),
    "anomaly": False,
}


def test_a_correction_item_stands_for_its_reading_taken_away_once() -> None:
    # GIVEN the correction of a reading the rollups counted twice, for the INSERT at sequence 42
    item = corrections.item(READING, "0" * 38 + "42", NOW)
    assert (item["site_id"], item["timestamp"]) == ("SITE_001#expired", "2025-06-11T20:00:00Z#" + "0" * 38 + "42")
    assert item["expires_at"] == int(NOW.timestamp()) + corrections.KEEP_DAYS * 24 * 3600
    assert corrections.reading(item) == {**READING, "expires_at": item["expires_at"]}
    # WHEN it reaches the stream: inserted, written again with the same values, deleted
    inserted = change_of_data({"SequenceNumber": "43", "NewImage": to_item(item)})
    again = change_of_data({"SequenceNumber": "44", "NewImage": to_item(item), "OldImage": to_item(item)})
    record = {"eventName": "REMOVE", "dynamodb": {"Keys": {"site_id": {"S": item["site_id"]}}}}
    # THEN the insert takes the reading away from its own site's rollups, the rewrite changes nothing, and the
    # deletion is no record for the rollups nor for the lake
    assert (inserted.site_id, inserted.timestamp, inserted.new) == ("SITE_001", READING["timestamp"], None)
    assert change_of([inserted]).sums["energy_generated_kwh"] == Decimal("-12.5")
    assert change_of([inserted]).sums["readings"] == -1
    assert not change_of([again]).changes_sums
    assert not for_rollups(record) and not for_lake({**record, "eventName": "INSERT"})


def row(sequence: int, generated: str, inserted: bool = False, deleted: bool = False, second: int = 0) -> dict:
    """A change row of SITE_001 at 2025-06-11T20:00:<second>Z."""
    return {
        "site_id": "SITE_001",
        "timestamp": datetime(2025, 6, 11, 20, 0, second),
        "energy_generated_kwh": None if deleted else Decimal(generated),
        "energy_consumed_kwh": None if deleted else Decimal(1),
        "net_energy_kwh": None if deleted else Decimal(generated) - 1,
        "anomaly": None if deleted else False,
        "sequence_number": f"{sequence:040d}",
        DELETED: deleted,
        INSERTED: inserted,
    }


def corrected(*rows: dict) -> list[tuple[str, str, str]]:
    """(generated kWh taken away, its time, the INSERT's sequence number) of each correction of ``rows``."""
    found = reinserted(pa.Table.from_pylist(list(rows), schema=CHANGE_SCHEMA))
    return [(str(r["energy_generated_kwh"].normalize()), r["timestamp"], seq.lstrip("0")) for r, seq in found]


def test_an_insert_that_meets_a_row_the_lake_holds_corrects_that_row() -> None:
    # GIVEN the day file's row (sequence 5) and an INSERT of the same reading (sequence 9): stored again after
    # its item expired, the rollups counted both
    assert corrected(row(5, "2"), row(9, "3", inserted=True)) == [("2", "2025-06-11T20:00:00Z", "9")]


def test_inserts_that_meet_nothing_or_a_removed_reading_or_are_older_than_the_lake_s_row_correct_nothing() -> None:
    assert corrected(row(9, "3", inserted=True)) == []  # a new reading
    assert corrected(row(5, "2"), row(6, "", deleted=True), row(9, "3", inserted=True)) == []  # a user's deletion
    assert corrected(row(9, "3"), row(9, "3", inserted=True)) == []  # the same line, met again
    assert corrected(row(5, "2"), row(9, "3", inserted=True, second=1)) == []  # another reading


def test_a_chain_of_expiries_corrects_each_value_the_rollups_counted_before() -> None:
    # GIVEN a reading inserted at 3, expired, inserted again at 5 with another value, expired, inserted at 9
    rows = [row(3, "1", inserted=True), row(5, "2", inserted=True), row(9, "4", inserted=True)]
    # THEN the rollups lose 1 for the INSERT at 5 and 2 for the one at 9: they keep 4, as the lake
    assert corrected(*rows[::-1]) == [("1", "2025-06-11T20:00:00Z", "5"), ("2", "2025-06-11T20:00:00Z", "9")]
