"""energy_lib.storage: what a stored reading item holds (the rollups: tests/unit/test_rollups.py)."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from energy_lib.config import Settings
from energy_lib.dynamo import from_item, to_item
from energy_lib.parsing import read_records
from energy_lib.readings import Reading
from energy_lib.rules import Assessment, assess
from energy_lib.storage import reading_item
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


# --- reading_item ------------------------------------------------------------------------------------


def test_normal_reading_item_has_every_attribute_and_no_anomaly_attributes():
    result = item("SITE_001", "2025-06-11T13:05:00Z", "152.37", "98.12")

    assert result == {
        "site_id": "SITE_001",
        "timestamp": "2025-06-11T13:05:00Z",
        "energy_generated_kwh": Decimal("152.37"),
        "energy_consumed_kwh": Decimal("98.12"),
        "net_energy_kwh": Decimal("54.25"),
        "anomaly": False,
        "anomaly_reasons": [],
        "source_key": SOURCE,
        "ingested_at": "2025-06-12T08:30:15Z",
    }
    # sparse indexes: an item without these attributes is not in them; without a hot window it never expires
    assert not {"severity", "anomaly_at", "anomaly_day", "expires_at"} & set(result)


def test_anomalous_reading_item_has_severity_and_sparse_index_attributes():
    result = item("SITE_002", "2025-06-11T23:59:59Z", "-60", "101.5")

    assert result["anomaly"] is True
    assert result["anomaly_reasons"] == ["negative_generation"]
    assert result["severity"] == "HIGH"
    assert result["anomaly_at"] == "2025-06-11T23:59:59Z" == result["timestamp"]
    assert result["anomaly_day"] == "2025-06-11"
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
    assert result["ingested_at"] == "2025-06-12T15:00:00Z"


def test_a_reading_expires_a_hot_window_after_it_was_stored_or_after_its_own_time_when_that_is_later():
    # GIVEN a reading of the day before it was stored, and one dated a day after it was stored
    past = make("S", "2025-06-11T12:00:00Z", "1", "1")
    future = make("S", "2025-06-13T12:00:00Z", "1", "1")

    # WHEN they are stored with a hot window of 35 days
    stored = [reading_item(r, assess(r, SETTINGS), SOURCE, INGESTED, ttl_days=35)["expires_at"] for r in (past, future)]

    # THEN the past one expires 35 days after it was stored, the future one 35 days after its own time: every
    # reading whose time is inside the hot window is still in the table
    assert stored == [
        int((INGESTED + timedelta(days=35)).timestamp()),
        int((future.timestamp + timedelta(days=35)).timestamp()),
    ]


def test_reading_item_round_trips_through_dynamodb_types():
    result = item("SITE_002", "2025-06-11T12:00:00Z", "-4.817263", "0.1")

    assert from_item(to_item(result)) == result


def test_every_validated_reading_gives_an_item_dynamodb_can_store_exactly():
    # GIVEN values within DynamoDB's 38 digits one by one whose exact difference needs 41 digits:
    # 1000 - 1E-38 = 999.99999999999999999999999999999999999999
    body = (
        b'{"site_id": "S", "timestamp": "2025-06-11T12:00:00Z",'
        b' "energy_generated_kwh": 1000, "energy_consumed_kwh": 1E-38}'
    )
    [r] = validate_records(read_records(io.BytesIO(body), "raw/f.json", Settings())).readings

    # THEN validation rounds 1E-38 to 9 decimals (0) before the net is taken, and the item says so and serializes
    # (boto3 raises Inexact rather than round) with the exact net of the stored values
    serialized = to_item(reading_item(r, assess(r, SETTINGS), SOURCE, INGESTED))
    assert (serialized["energy_consumed_kwh"], serialized["net_energy_kwh"]) == ({"N": "0"}, {"N": "1000"})
    assert serialized["rounded"] == {"L": [{"S": "energy_consumed_kwh"}]}


def test_a_rounded_reading_item_names_its_rounded_fields_and_round_trips():
    r = Reading("S", datetime(2025, 6, 11, tzinfo=timezone.utc), Decimal("-4.572918375"), Decimal(1), 1)
    rounded = replace(r, rounded=("energy_generated_kwh",))

    result = reading_item(rounded, assess(rounded, SETTINGS), SOURCE, INGESTED)

    assert result["rounded"] == ["energy_generated_kwh"] and from_item(to_item(result)) == result
    assert result == {**reading_item(r, assess(r, SETTINGS), SOURCE, INGESTED), "rounded": ["energy_generated_kwh"]}
