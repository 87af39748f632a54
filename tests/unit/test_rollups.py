"""energy_lib.rollups pure functions: buckets, contributions (valid and flagged apart), what stream records change,
sequence numbers as text, and the UpdateItem requests. Applying them needs DynamoDB: tests/integration."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from energy_lib.aggregator import stream_change
from energy_lib.config import Settings
from energy_lib.dynamo import from_item, to_item
from energy_lib.readings import Reading
from energy_lib.rollups import (
    COUNTERS,
    SEQUENCE_DIGITS,
    TOTAL_BUCKET,
    StreamChange,
    added,
    buckets,
    change_of,
    contribution,
    from_readings,
    group,
    padded,
    zero,
)
from energy_lib.rollups import item as rollup_item
from energy_lib.rules import SEVERITIES, assess
from energy_lib.storage import reading_item
from tests.conftest import EVENTS

SETTINGS = Settings()
INGESTED = datetime(2025, 6, 12, 8, 30, 15, tzinfo=timezone.utc)


def item(site: str, timestamp: str, generated: str, consumed: str) -> dict:
    moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    r = Reading(site, moment, Decimal(generated), Decimal(consumed), 1)
    return reading_item(r, assess(r, SETTINGS), "raw/f.json", INGESTED)


def counters(**values: str | int) -> dict[str, Decimal]:
    result = zero()
    result.update({name: Decimal(value) for name, value in values.items()})
    return result


def rollup_changes(new: list[dict], old: list[dict]) -> dict[tuple[str, str], dict[str, Decimal]]:
    """What writing ``new`` over ``old`` (same keys, or one side missing) does to each rollup, as the stream says
    it: one record per reading key, new image and old image; items whose sums do not change are left out."""
    images: dict[tuple[str, str], list] = {}
    for side, items in ((1, new), (0, old)):
        for i in items:
            images.setdefault((i["site_id"], i["timestamp"]), [None, None])[side] = i
    records = [StreamChange(padded(str(n)), pair[0], pair[1]) for n, pair in enumerate(images.values(), start=1)]
    changes = {key: change_of(touching) for key, touching in group(records).items()}
    return {key: change.sums for key, change in sorted(changes.items()) if change.changes_sums}


# --- buckets and contribution ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [
        ("2025-06-11T13:05:09Z", ("T", "D#2025-06-11", "H#2025-06-11T13")),
        ("2025-06-11T00:00:00Z", ("T", "D#2025-06-11", "H#2025-06-11T00")),
        ("2024-12-31T23:59:59Z", ("T", "D#2024-12-31", "H#2024-12-31T23")),
    ],
)
def test_buckets(timestamp, expected):
    assert buckets(timestamp) == expected
    assert buckets(timestamp)[0] == TOTAL_BUCKET


def test_counters_are_the_contract_fields():
    assert COUNTERS == (
        "energy_generated_kwh",
        "energy_consumed_kwh",
        "net_energy_kwh",
        "flagged_energy_generated_kwh",
        "flagged_energy_consumed_kwh",
        "flagged_net_energy_kwh",
        "readings",
        "anomalies",
        "anomalies_low",
        "anomalies_medium",
        "anomalies_high",
        "anomalies_critical",
    )
    assert len(SEVERITIES) == 4


def test_a_valid_reading_counts_in_the_valid_sums():
    assert contribution(item("S", "2025-06-11T13:00:00Z", "10.5", "4.25")) == counters(
        energy_generated_kwh="10.5", energy_consumed_kwh="4.25", net_energy_kwh="6.25", readings=1
    )


@pytest.mark.parametrize(
    ("generated", "severity"),
    [("-1", "low"), ("-10", "medium"), ("-50", "high"), ("-1001", "critical")],
)
def test_an_anomaly_counts_in_the_flagged_sums_and_its_severity(generated, severity):
    result = contribution(item("S", "2025-06-11T13:00:00Z", generated, "2"))

    assert result == counters(
        flagged_energy_generated_kwh=generated,
        flagged_energy_consumed_kwh="2",
        flagged_net_energy_kwh=str(Decimal(generated) - 2),
        readings=1,
        anomalies=1,
        **{f"anomalies_{severity}": 1},
    )


def test_an_implausible_positive_reading_is_flagged_not_valid():
    result = contribution(item("S", "2025-06-11T13:00:00Z", "5000", "2"))

    assert result["energy_generated_kwh"] == 0 and result["flagged_energy_generated_kwh"] == 5000
    assert result["anomalies_critical"] == 1


# --- what stream records change ---------------------------------------------------------------------------


def test_new_readings_add_to_total_day_and_hour_of_their_site():
    new = [
        item("A", "2025-06-11T13:00:00Z", "0.1", "0.05"),
        item("A", "2025-06-11T13:30:00Z", "0.2", "0.05"),
        item("B", "2025-06-11T13:00:00Z", "-4", "1"),
    ]

    changes = rollup_changes(new, [])

    a = counters(energy_generated_kwh="0.3", energy_consumed_kwh="0.10", net_energy_kwh="0.20", readings=2)
    b = counters(
        flagged_energy_generated_kwh="-4",
        flagged_energy_consumed_kwh="1",
        flagged_net_energy_kwh="-5",
        readings=1,
        anomalies=1,
        anomalies_low=1,
    )
    assert changes == {
        ("D#2025-06-11", "A"): a,
        ("D#2025-06-11", "B"): b,
        ("H#2025-06-11T13", "A"): a,
        ("H#2025-06-11T13", "B"): b,
        ("T", "A"): a,
        ("T", "B"): b,
    }
    assert str(changes[("T", "A")]["energy_generated_kwh"]) == "0.3"  # exact, not 0.30000000000000004


def test_readings_in_different_hours_and_days_go_to_their_own_buckets():
    new = [
        item("A", "2025-06-11T23:59:59Z", "1", "0"),
        item("A", "2025-06-12T00:00:00Z", "2", "0"),
        item("A", "2025-06-12T00:59:59Z", "4", "0"),
    ]

    changes = rollup_changes(new, [])

    assert {key: change["energy_generated_kwh"] for key, change in changes.items()} == {
        ("D#2025-06-11", "A"): Decimal(1),
        ("D#2025-06-12", "A"): Decimal(6),
        ("H#2025-06-11T23", "A"): Decimal(1),
        ("H#2025-06-12T00", "A"): Decimal(6),
        ("T", "A"): Decimal(7),
    }
    assert changes[("T", "A")]["readings"] == 3


def test_identical_rewrite_changes_nothing():
    # GIVEN the same readings already stored (as the stream's old image holds them) and written again
    new = [item("A", "2025-06-11T13:00:00Z", "0.1", "0.2"), item("B", "2025-06-11T14:00:00Z", "-60", "1")]
    old = [from_item(to_item(i)) for i in new]

    assert rollup_changes(new, old) == {}


def test_rewrite_with_equal_values_in_another_notation_changes_nothing():
    assert (
        rollup_changes(
            [item("A", "2025-06-11T13:00:00Z", "1.50", "2")], [item("A", "2025-06-11T13:00:00Z", "1.5", "2.000")]
        )
        == {}
    )


def test_correction_changes_by_the_exact_difference():
    old = [item("A", "2025-06-11T13:00:00Z", "0.1", "0.3")]
    new = [item("A", "2025-06-11T13:00:00Z", "0.3", "0.1")]

    changes = rollup_changes(new, old)

    expected = counters(energy_generated_kwh="0.2", energy_consumed_kwh="-0.2", net_energy_kwh="0.4")
    assert changes == {("D#2025-06-11", "A"): expected, ("H#2025-06-11T13", "A"): expected, ("T", "A"): expected}
    assert changes[("T", "A")]["readings"] == 0


def test_correction_moves_energy_and_counts_between_valid_flagged_and_severities():
    # GIVEN a LOW anomaly corrected into a HIGH one, and a valid reading corrected into a MEDIUM anomaly
    old = [item("A", "2025-06-11T13:00:00Z", "-1", "2"), item("B", "2025-06-11T13:00:00Z", "5", "2")]
    new = [item("A", "2025-06-11T13:00:00Z", "-50", "2"), item("B", "2025-06-11T13:00:00Z", "-10", "2")]

    changes = rollup_changes(new, old)

    assert changes[("T", "A")] == counters(
        flagged_energy_generated_kwh="-49", flagged_net_energy_kwh="-49", anomalies_low=-1, anomalies_high=1
    )
    assert changes[("T", "B")] == counters(
        energy_generated_kwh="-5",
        energy_consumed_kwh="-2",
        net_energy_kwh="-3",
        flagged_energy_generated_kwh="-10",
        flagged_energy_consumed_kwh="2",
        flagged_net_energy_kwh="-12",
        anomalies=1,
        anomalies_medium=1,
    )


def test_correction_that_clears_an_anomaly_moves_it_back_to_the_valid_sums():
    changes = rollup_changes(
        [item("A", "2025-06-11T13:00:00Z", "20", "2")], [item("A", "2025-06-11T13:00:00Z", "-2000", "2")]
    )

    assert changes[("T", "A")] == counters(
        energy_generated_kwh="20",
        energy_consumed_kwh="2",
        net_energy_kwh="18",
        flagged_energy_generated_kwh="2000",
        flagged_energy_consumed_kwh="-2",
        flagged_net_energy_kwh="2002",
        anomalies=-1,
        anomalies_critical=-1,
    )


def test_buckets_whose_change_is_zero_are_left_out():
    # GIVEN two corrections in different hours of one day that cancel out over the day
    old = [item("A", "2025-06-11T01:00:00Z", "10", "0"), item("A", "2025-06-11T02:00:00Z", "10", "0")]
    new = [item("A", "2025-06-11T01:00:00Z", "15", "0"), item("A", "2025-06-11T02:00:00Z", "5", "0")]

    changes = rollup_changes(new, old)

    assert set(changes) == {("H#2025-06-11T01", "A"), ("H#2025-06-11T02", "A")}
    assert changes[("H#2025-06-11T01", "A")]["energy_generated_kwh"] == 5


def test_removed_reading_subtracts_everything():
    changes = rollup_changes([], [item("A", "2025-06-11T13:00:00Z", "-10", "2")])

    assert changes[("H#2025-06-11T13", "A")] == counters(
        flagged_energy_generated_kwh="10",
        flagged_energy_consumed_kwh="-2",
        flagged_net_energy_kwh="12",
        readings=-1,
        anomalies=-1,
        anomalies_medium=-1,
    )


def test_rollup_changes_are_exact_for_every_number_validation_accepts():
    # GIVEN a value with 38 significant digits (more than the default decimal context's 28; an implausible one)
    value = "1234567890123456789012345678901.234567"
    new = [item("A", "2025-06-11T13:00:00Z", value, "0")]

    assert rollup_changes(new, [])[("T", "A")]["flagged_energy_generated_kwh"] == Decimal(value)
    corrected = rollup_changes(new, [item("A", "2025-06-11T13:00:00Z", "0", "0")])
    assert corrected[("T", "A")]["flagged_net_energy_kwh"] == Decimal(value)


@pytest.mark.parametrize(
    "total",
    [
        "-106258206561326036000.00001277",  # 30 digits: two readings near 10^20 kWh, one with a 9th decimal
        "99999999899999999999999999999.000000002",  # 38 digits: 10^9 readings at the bound of validation
        "1E+30",  # a whole number of 31 digits
    ],
)
def test_the_rollup_item_written_keeps_every_digit_of_its_sums(total):
    change = change_of([StreamChange(padded("1"), None, item("A", "2025-06-11T13:00:00Z", total, "0"))])

    written = to_item(rollup_item(("T", "A"), change, padded("1"), "2025-06-12T00:00:00Z"))

    assert Decimal(written["flagged_energy_generated_kwh"]["N"]) == Decimal(total)
    assert "E" not in written["flagged_energy_generated_kwh"]["N"]


def test_every_item_keeps_the_latest_reading_it_took_in_from_new_images_only():
    records = [
        StreamChange(padded("7"), None, item("A", "2025-06-11T13:00:00Z", "1", "0")),
        StreamChange(padded("8"), item("A", "2025-06-12T09:00:00Z", "1", "0"), None),  # a deletion
        StreamChange(padded("9"), None, item("A", "2025-06-10T01:00:00Z", "1", "0")),
    ]
    grouped = group(records)

    total = change_of(grouped[("T", "A")])
    assert total.latest_reading_at == "2025-06-11T13:00:00Z"
    assert (total.first_sequence, total.last_sequence) == (padded("7"), padded("9"))
    # each hour and day item: the latest reading of its own bucket; a deletion moves none back
    assert change_of(grouped[("D#2025-06-11", "A")]).latest_reading_at == "2025-06-11T13:00:00Z"
    assert change_of(grouped[("D#2025-06-10", "A")]).latest_reading_at == "2025-06-10T01:00:00Z"
    assert change_of(grouped[("D#2025-06-12", "A")]).latest_reading_at == ""


def test_from_readings_is_what_the_same_readings_as_inserts_give():
    items = [item(s, f"2025-06-11T{h:02d}:00:00Z", str(h), "1") for s in ("A", "B") for h in range(0, 24, 5)]
    items.append(item("A", "2025-06-11T03:00:00Z", "-7", "1"))

    rebuilt = {key: change.sums for key, change in from_readings(items).items()}

    assert rebuilt == rollup_changes(items, [])
    assert from_readings(items)[("T", "A")].latest_reading_at == "2025-06-11T20:00:00Z"


# --- sequence numbers --------------------------------------------------------------------------------------


def test_sequence_numbers_compare_as_numbers_once_padded():
    # GIVEN DynamoDB Streams sequence numbers of different lengths, up to 40 digits (a Number keeps 38)
    numbers = ["9", "21258800000000008186106757", "820400000000000001192334", "1" + "0" * 39, "9" * 40]

    assert sorted(numbers, key=padded) == sorted(numbers, key=int)
    assert all(len(padded(n)) == SEQUENCE_DIGITS for n in numbers)


@pytest.mark.parametrize("bad", ["", "12a", "-1", "1" * 41, " 1"])
def test_a_sequence_number_that_is_not_one_is_refused(bad):
    with pytest.raises(ValueError):
        padded(bad)


def test_real_stream_records_become_changes():
    # GIVEN recorded stream records of the readings table: an INSERT, a MODIFY (a correction), a REMOVE
    event = json.loads((EVENTS / "dynamodb_stream_readings.json").read_text())

    changes = [stream_change(record) for record in event["Records"]]

    assert [c.sequence for c in changes] == sorted(c.sequence for c in changes)
    assert [(c.old is None, c.new is None) for c in changes] == [(True, False), (False, False), (False, True)]
    assert changes[1].old["energy_generated_kwh"] == Decimal("12.5")
    assert changes[1].new["energy_generated_kwh"] == Decimal("-3.25")
    assert {c.site_id for c in changes} == {"SITE_001"}


# --- adding to a stored item ------------------------------------------------------------------------------


def test_a_change_is_added_to_what_the_item_holds_exactly():
    stored = {
        "bucket": "T",
        "site_id": "A",
        "energy_generated_kwh": Decimal("0.1"),
        "readings": Decimal(1),
        "last_reading_at": "2025-06-11T13:00:00Z",
        "applied_sequence": padded("5"),
    }  # an item of the earlier rollups: no flagged sums, no severity counts
    records = [
        StreamChange(padded("6"), None, item("A", "2025-06-11T12:00:00Z", "0.2", "1")),
        StreamChange(padded("7"), None, item("A", "2025-06-11T12:05:00Z", "-3", "1")),
    ]

    total = added(stored, change_of(records))

    assert total.sums == counters(
        energy_generated_kwh="0.3",
        energy_consumed_kwh="1",
        net_energy_kwh="-0.8",
        flagged_energy_generated_kwh="-3",
        flagged_energy_consumed_kwh="1",
        flagged_net_energy_kwh="-4",
        readings=3,
        anomalies=1,
        anomalies_low=1,
    )
    assert total.latest_reading_at == "2025-06-11T13:00:00Z"  # a backfill does not move it back
    assert str(total.sums["energy_generated_kwh"]) == "0.3"
