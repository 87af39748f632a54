"""energy_lib.storage pure functions: reading items, rollup buckets, contributions and exact rollup changes.

apply_rollup_changes needs DynamoDB and is tested in tests/integration.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from energy_lib.config import Settings
from energy_lib.dynamo import from_item, to_item
from energy_lib.parsing import parse_records
from energy_lib.readings import Reading
from energy_lib.rules import SEVERITIES, Assessment, assess
from energy_lib.storage import COUNTERS, TOTAL_BUCKET, buckets, contribution, reading_item, rollup_changes
from energy_lib.validation import validate_records

SETTINGS = Settings()
INGESTED = datetime(2025, 6, 12, 8, 30, 15, 999999, tzinfo=timezone.utc)
SOURCE = "raw/2025/06/11/batch-001.json"


def make(site: str, timestamp: str, generated: str, consumed: str) -> Reading:
    moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    return Reading(site, moment, Decimal(generated), Decimal(consumed), 1)


def item(site: str, timestamp: str, generated: str, consumed: str) -> dict:
    r = make(site, timestamp, generated, consumed)
    return reading_item(r, assess(r, SETTINGS), SOURCE, INGESTED)


def zero() -> dict[str, Decimal]:
    return {name: Decimal(0) for name in COUNTERS}


def counters(**values: str | int) -> dict[str, Decimal]:
    result = zero()
    result.update({name: Decimal(value) for name, value in values.items()})
    return result


# --- reading_item ------------------------------------------------------------------------------------


def test_normal_reading_item_has_every_attribute_and_no_anomaly_attributes():
    result = item("SITE_001", "2025-06-11T13:05:00Z", "152.37", "98.12")

    assert result == {
        "site_id": "SITE_001",
        "timestamp": "2025-06-11T13:05:00Z",
        "day": "2025-06-11",
        "energy_generated_kwh": Decimal("152.37"),
        "energy_consumed_kwh": Decimal("98.12"),
        "net_energy_kwh": Decimal("54.25"),
        "anomaly": False,
        "anomaly_reasons": [],
        "source_key": SOURCE,
        "ingested_at": "2025-06-12T08:30:15Z",
    }
    # sparse indexes: an item without these attributes is not in them
    assert not {"severity", "anomaly_at", "anomaly_day"} & set(result)


def test_anomalous_reading_item_has_severity_and_sparse_index_attributes():
    result = item("SITE_002", "2025-06-11T23:59:59Z", "-60", "101.5")

    assert result["anomaly"] is True
    assert result["anomaly_reasons"] == ["negative_generation"]
    assert result["severity"] == "HIGH"
    assert result["anomaly_at"] == "2025-06-11T23:59:59Z" == result["timestamp"]
    assert result["anomaly_day"] == "2025-06-11" == result["day"]
    assert result["net_energy_kwh"] == Decimal("-161.5")


def test_reading_item_lists_every_reason():
    result = item("S", "2025-06-11T00:00:00Z", "-2000", "-1")

    assert result["anomaly_reasons"] == ["negative_generation", "negative_consumption", "implausible_magnitude"]
    assert result["severity"] == "CRITICAL"


def test_reading_item_takes_the_assessment_it_is_given():
    r = make("S", "2025-06-11T00:00:00Z", "1", "1")

    result = reading_item(r, Assessment(("negative_generation",), "LOW"), SOURCE, INGESTED)

    assert (result["anomaly"], result["severity"], result["anomaly_reasons"]) == (True, "LOW", ["negative_generation"])


def test_reading_item_timestamps_are_utc_text_whatever_the_input_zone():
    # GIVEN a reading built from an offset time and an ingestion time in another zone
    r = Reading("S", datetime(2025, 6, 12, 1, 30, tzinfo=timezone(timedelta(hours=2))), Decimal(1), Decimal(1), 1)
    ingested = datetime(2025, 6, 12, 10, 0, 0, tzinfo=timezone(timedelta(hours=-5)))

    result = reading_item(r, assess(r, SETTINGS), SOURCE, ingested)

    assert result["timestamp"] == "2025-06-11T23:30:00Z"
    assert result["day"] == "2025-06-11"
    assert result["ingested_at"] == "2025-06-12T15:00:00Z"


def test_reading_item_round_trips_through_dynamodb_types():
    result = item("SITE_002", "2025-06-11T12:00:00Z", "-4.817263", "0.1")

    assert from_item(to_item(result)) == result


def test_every_validated_reading_gives_an_item_dynamodb_can_store_exactly():
    # GIVEN values validation accepts one by one (each within DynamoDB's 38 digits) whose exact difference
    # needs 41 digits: 1000 - 1E-38 = 999.99999999999999999999999999999999999999
    body = (
        b'{"site_id": "S", "timestamp": "2025-06-11T12:00:00Z",'
        b' "energy_generated_kwh": 1000, "energy_consumed_kwh": 1E-38}'
    )
    parsed = validate_records(parse_records(body, "raw/f.json"))
    assert parsed.read == 1

    # THEN either validation rejects it as out of range, or its item serializes (boto3 raises Inexact rather
    # than round) with the exact net
    assert all(reason.startswith("out_of_range:") for reject in parsed.rejects for reason in reject.reasons)
    for r in parsed.readings:
        serialized = to_item(reading_item(r, assess(r, SETTINGS), SOURCE, INGESTED))
        assert Decimal(serialized["net_energy_kwh"]["N"]) == Decimal("999.99999999999999999999999999999999999999")


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


def test_counters_name_every_severity():
    assert COUNTERS == (
        "energy_generated_kwh",
        "energy_consumed_kwh",
        "net_energy_kwh",
        "readings",
        "anomalies",
        "anomalies_low",
        "anomalies_medium",
        "anomalies_high",
        "anomalies_critical",
    )
    assert len(SEVERITIES) == 4


def test_contribution_of_a_normal_reading():
    assert contribution(item("S", "2025-06-11T13:00:00Z", "10.5", "4.25")) == counters(
        energy_generated_kwh="10.5", energy_consumed_kwh="4.25", net_energy_kwh="6.25", readings=1
    )


@pytest.mark.parametrize(
    ("generated", "severity"),
    [("-1", "low"), ("-10", "medium"), ("-50", "high"), ("-1001", "critical")],
)
def test_contribution_of_an_anomaly_counts_its_severity(generated, severity):
    result = contribution(item("S", "2025-06-11T13:00:00Z", generated, "2"))

    assert result == counters(
        energy_generated_kwh=generated,
        energy_consumed_kwh="2",
        net_energy_kwh=str(Decimal(generated) - 2),
        readings=1,
        anomalies=1,
        **{f"anomalies_{severity}": 1},
    )


def test_contribution_of_a_stored_item_read_back_from_dynamodb():
    # GIVEN an item as BatchGetItem returns it (plain values after deserialization)
    stored = from_item(to_item(item("S", "2025-06-11T13:00:00Z", "-10", "2")))

    assert contribution(stored) == counters(
        energy_generated_kwh="-10",
        energy_consumed_kwh="2",
        net_energy_kwh="-12",
        readings=1,
        anomalies=1,
        anomalies_medium=1,
    )


# --- rollup_changes ------------------------------------------------------------------------------------


def test_new_readings_add_to_total_day_and_hour_of_their_site():
    # GIVEN two readings of one site in one hour and one of another site
    new = [
        item("A", "2025-06-11T13:00:00Z", "0.1", "0.05"),
        item("A", "2025-06-11T13:30:00Z", "0.2", "0.05"),
        item("B", "2025-06-11T13:00:00Z", "-4", "1"),
    ]

    changes = rollup_changes(new, [])

    a = counters(energy_generated_kwh="0.3", energy_consumed_kwh="0.10", net_energy_kwh="0.20", readings=2)
    b = counters(
        energy_generated_kwh="-4",
        energy_consumed_kwh="1",
        net_energy_kwh="-5",
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

    generated = {key: change["energy_generated_kwh"] for key, change in changes.items()}
    assert generated == {
        ("D#2025-06-11", "A"): Decimal(1),
        ("D#2025-06-12", "A"): Decimal(6),
        ("H#2025-06-11T23", "A"): Decimal(1),
        ("H#2025-06-12T00", "A"): Decimal(6),
        ("T", "A"): Decimal(7),
    }
    assert changes[("T", "A")]["readings"] == 3


def test_identical_rewrite_changes_nothing():
    # GIVEN the same readings already stored (as read back from DynamoDB) and written again
    new = [item("A", "2025-06-11T13:00:00Z", "0.1", "0.2"), item("B", "2025-06-11T14:00:00Z", "-60", "1")]
    old = [from_item(to_item(i)) for i in new]

    assert rollup_changes(new, old) == {}


def test_rewrite_with_equal_values_in_another_notation_changes_nothing():
    new = [item("A", "2025-06-11T13:00:00Z", "1.50", "2")]
    old = [item("A", "2025-06-11T13:00:00Z", "1.5", "2.000")]

    assert rollup_changes(new, old) == {}


def test_correction_changes_by_the_exact_difference():
    # GIVEN a stored reading corrected by a new file
    old = [item("A", "2025-06-11T13:00:00Z", "0.1", "0.3")]
    new = [item("A", "2025-06-11T13:00:00Z", "0.3", "0.1")]

    changes = rollup_changes(new, old)

    expected = counters(energy_generated_kwh="0.2", energy_consumed_kwh="-0.2", net_energy_kwh="0.4")
    assert changes == {
        ("D#2025-06-11", "A"): expected,
        ("H#2025-06-11T13", "A"): expected,
        ("T", "A"): expected,
    }
    assert changes[("T", "A")]["readings"] == 0


def test_correction_moves_the_anomaly_count_between_severities():
    # GIVEN a LOW anomaly corrected into a HIGH one, and a normal reading corrected into a MEDIUM one
    old = [item("A", "2025-06-11T13:00:00Z", "-1", "2"), item("B", "2025-06-11T13:00:00Z", "5", "2")]
    new = [item("A", "2025-06-11T13:00:00Z", "-50", "2"), item("B", "2025-06-11T13:00:00Z", "-10", "2")]

    changes = rollup_changes(new, old)

    assert changes[("T", "A")] == counters(
        energy_generated_kwh="-49", net_energy_kwh="-49", anomalies_low=-1, anomalies_high=1
    )
    assert changes[("T", "B")] == counters(
        energy_generated_kwh="-15", net_energy_kwh="-15", anomalies=1, anomalies_medium=1
    )


def test_correction_that_clears_an_anomaly():
    old = [item("A", "2025-06-11T13:00:00Z", "-2000", "2")]
    new = [item("A", "2025-06-11T13:00:00Z", "20", "2")]

    changes = rollup_changes(new, old)

    assert changes[("T", "A")] == counters(
        energy_generated_kwh="2020", net_energy_kwh="2020", anomalies=-1, anomalies_critical=-1
    )


def test_buckets_whose_change_is_zero_are_dropped():
    # GIVEN two corrections in different hours of one day that cancel out over the day
    old = [item("A", "2025-06-11T01:00:00Z", "10", "0"), item("A", "2025-06-11T02:00:00Z", "10", "0")]
    new = [item("A", "2025-06-11T01:00:00Z", "15", "0"), item("A", "2025-06-11T02:00:00Z", "5", "0")]

    changes = rollup_changes(new, old)

    # THEN only the two hours change; the day and the total stay as they were
    assert set(changes) == {("H#2025-06-11T01", "A"), ("H#2025-06-11T02", "A")}
    assert changes[("H#2025-06-11T01", "A")]["energy_generated_kwh"] == 5
    assert changes[("H#2025-06-11T02", "A")]["energy_generated_kwh"] == -5


def test_partly_changed_file_keeps_only_the_changed_buckets():
    old = [item("A", "2025-06-11T01:00:00Z", "1", "1"), item("A", "2025-06-12T05:00:00Z", "1", "1")]
    new = [item("A", "2025-06-11T01:00:00Z", "1", "1"), item("A", "2025-06-12T05:00:00Z", "3", "1")]

    assert set(rollup_changes(new, old)) == {("D#2025-06-12", "A"), ("H#2025-06-12T05", "A"), ("T", "A")}


def test_result_is_sorted_by_bucket_then_site():
    new = [
        item(site, timestamp, "1", "0")
        for site in ("zeta", "Alpha", "m-1")
        for timestamp in ("2025-06-12T09:00:00Z", "2025-06-11T23:00:00Z")
    ]

    keys = list(rollup_changes(new, []))

    assert keys == sorted(keys)
    assert len(keys) == 3 * (1 + 2 + 2)


def test_no_items_give_no_changes():
    assert rollup_changes([], []) == {}


def test_removed_reading_subtracts_everything():
    old = [item("A", "2025-06-11T13:00:00Z", "-10", "2")]

    changes = rollup_changes([], old)

    assert changes[("H#2025-06-11T13", "A")] == counters(
        energy_generated_kwh="10",
        energy_consumed_kwh="-2",
        net_energy_kwh="12",
        readings=-1,
        anomalies=-1,
        anomalies_medium=-1,
    )


def test_rollup_changes_are_exact_for_every_number_validation_accepts():
    # GIVEN a value with 38 significant digits (validation accepts up to 38, DynamoDB stores 38)
    value = "1234567890123456789012345678901.234567"
    new = [item("A", "2025-06-11T13:00:00Z", value, "0")]
    old = [item("A", "2025-06-11T13:00:00Z", "0", "0")]

    # WHEN the rollup changes are computed for a new reading and for a correction
    added = rollup_changes(new, [])
    corrected = rollup_changes(new, old)

    # THEN no digit is lost (the default decimal context keeps only 28)
    assert added[("T", "A")]["energy_generated_kwh"] == Decimal(value)
    assert corrected[("T", "A")]["net_energy_kwh"] == Decimal(value)
