"""The lake's layout and change objects (Lambda side): keys, lines, encoding."""

from __future__ import annotations

import json

from energy_lib import lake
from energy_lib.config import Settings
from tests.conftest import EVENTS

RECORDS = json.loads((EVENTS / "dynamodb_stream_lake.json").read_text())["Records"]


def test_change_lines_group_new_images_by_the_reading_s_utc_day() -> None:
    # GIVEN a real stream batch: an insert on 2025-06-11, a correction and a removal on 2025-06-12
    by_day = lake.change_lines(RECORDS)
    # THEN each day gets its readings' lines, in order, with padded sequence numbers
    assert sorted(by_day) == ["2025-06-11", "2025-06-12"]
    assert [line["event"] for line in by_day["2025-06-12"]] == ["MODIFY", "REMOVE"]
    assert by_day["2025-06-12"][0]["image"]["energy_generated_kwh"] == {"N": "-12.25"}  # the new image, exact text
    assert by_day["2025-06-12"][1]["image"] is None  # a removal keeps only its keys
    assert by_day["2025-06-12"][1]["keys"] == {"site_id": {"S": "SITE_002"}, "timestamp": {"S": "2025-06-12T00:05:00Z"}}
    assert by_day["2025-06-11"][0]["sequence_number"] == "0" * 16 + "111100000000011111111111"


def test_the_same_batch_gives_the_same_key_and_bytes_so_a_retry_overwrites_its_own_object() -> None:
    settings = Settings()
    first, again = lake.change_lines(RECORDS), lake.change_lines(json.loads(json.dumps(RECORDS)))
    keys = {day: lake.change_key(settings, day, lines) for day, lines in first.items()}
    assert keys == {day: lake.change_key(settings, day, lines) for day, lines in again.items()}
    assert keys["2025-06-12"].startswith("lake/changes/day=2025-06-12/0000000000000000111200000000011111111112-")
    assert lake.encode_changes(first["2025-06-12"]) == lake.encode_changes(again["2025-06-12"])
    # a batch with one record more is another object
    assert lake.change_key(settings, "2025-06-12", first["2025-06-12"][:1]) != keys["2025-06-12"]


def test_change_objects_round_trip() -> None:
    lines = lake.change_lines(RECORDS)["2025-06-12"]
    assert lake.decode_changes(lake.encode_changes(lines)) == lines


def test_day_files_and_changes_live_under_the_lake_prefix() -> None:
    settings = Settings(lake_prefix="history/")
    assert lake.day_file_key(settings, "2025-06-11") == "history/readings/day=2025-06-11/readings.parquet"
    assert lake.changes_prefix(settings) == "history/changes/"
    assert lake.day_of_key("history/changes/day=2025-06-11/0001-ab.jsonl.gz") == "2025-06-11"
