"""energy_lib.alerts: the SNS Publish request for a file's anomalies."""

from __future__ import annotations

import json
import re
import unicodedata
from decimal import Decimal

import pytest

from energy_lib.alerts import BODY_ROWS, SUBJECT_LIMIT, Tally, publish, summary_message
from energy_lib.alerts import message as tally_message
from energy_lib.rollups import ENERGY, FLAGGED_ENERGY


def message(source_key: str, anomalies: list[dict]) -> dict:
    return tally_message(source_key, Tally.of(anomalies))


SNS_MESSAGE_LIMIT = 262_144  # bytes, message body and attributes together
KEY = "raw/2025/06/11/batch-001.json"


def anomaly(site: str = "SITE_002", severity: str = "LOW", timestamp: str = "2025-06-11T12:00:00Z", **extra) -> dict:
    values = {
        "site_id": site,
        "timestamp": timestamp,
        "energy_generated_kwh": Decimal("-4.817263"),
        "energy_consumed_kwh": Decimal("101.5"),
        "net_energy_kwh": Decimal("-106.317263"),
        "anomaly": True,
        "anomaly_reasons": ["negative_generation"],
        "severity": severity,
    }
    values.update(extra)
    return values


def attributes(result: dict) -> dict[str, tuple[str, str]]:
    return {name: (a["DataType"], a["StringValue"]) for name, a in result["MessageAttributes"].items()}


def body_rows(result: dict) -> list[str]:
    lines = result["Message"].split("\n")
    header = lines.index("severity  site  timestamp  generated_kwh  consumed_kwh  reasons")
    return [line for line in lines[header + 1 :] if not line.startswith("...")]


def message_size(result: dict) -> int:
    """What counts towards SNS's 256 KiB: the message, attribute names, types and values."""
    size = len(result["Message"].encode())
    for name, a in result["MessageAttributes"].items():
        size += len(name.encode()) + len(a["DataType"].encode()) + len(a["StringValue"].encode())
    return size


# --- subject -------------------------------------------------------------------------------------------


def test_subject_names_severity_count_sites_day_and_key():
    result = message(KEY, [anomaly(severity="LOW"), anomaly("SITE_003", "HIGH"), anomaly("SITE_004", "MEDIUM")])

    assert result["Subject"] == f"[HIGH] 3 anomalies, SITE_002 +2 more, 2025-06-11: {KEY}"


def test_subject_of_one_site_and_a_key_without_folders():
    assert message("top.json", [anomaly()])["Subject"] == "[LOW] 1 anomaly, SITE_002, 2025-06-11: top.json"


def test_subject_names_the_first_and_last_day_of_the_anomalies():
    days = [anomaly(timestamp="2025-06-12T01:00:00Z"), anomaly(timestamp="2025-06-10T23:00:00Z")]

    assert "2025-06-10 to 2025-06-12: " in message(KEY, days)["Subject"]


def test_files_of_each_day_of_one_run_have_subjects_of_their_own():
    # GIVEN the simulator's files of one site over 8 days: a day in every key (raw/YYYY/MM/DD/<site>-<first>-s42)
    keys = [f"raw/2025/06/{day:02d}/SITE_001-202506{day:02d}T000000Z-s42.json" for day in range(4, 12)]
    subjects = {
        message(key, [anomaly("SITE_001", "HIGH", f"{key[4:14].replace('/', '-')}T12:00:00Z")])["Subject"]
        for key in keys
    }
    # THEN 8 subjects, each naming its site, its day and its file whole (within SNS's 99 characters)
    assert len(subjects) == 8
    assert "[HIGH] 1 anomaly, SITE_001, 2025-06-05: raw/2025/06/05/SITE_001-20250605T000000Z-s42.json" in subjects
    assert all(len(subject) <= SUBJECT_LIMIT for subject in subjects)


@pytest.mark.parametrize("length", [1, 50, 200, 1024])
def test_subject_stays_within_the_sns_limit_and_unique_to_the_key(length):
    # GIVEN two keys that differ only at their start, and a long site id
    keys = ["raw/" + "n" * length + ".json", "raw/m" + "n" * (length - 1) + ".json"]
    site = "s" * 128
    subjects = [message(key, [anomaly(site, "CRITICAL")])["Subject"] for key in keys]

    assert all(len(subject) <= SUBJECT_LIMIT == 99 for subject in subjects)  # SNS: shorter than 100
    assert all(subject.startswith("[CRITICAL] 1 anomaly, sss") for subject in subjects)
    assert subjects[0] != subjects[1]  # a key too long to show whole is told apart by its digest
    assert all(subject.endswith(".json") or re.search(r" #[0-9a-f]{8}$", subject) for subject in subjects)


def test_subject_is_ascii_and_unique_for_a_non_ascii_key():
    keys = ["raw/Zürich-☀-données.json", "raw/Zürich-☁-données.json"]
    subjects = [message(key, [anomaly()])["Subject"] for key in keys]

    assert all(subject.isascii() for subject in subjects)
    assert subjects[0].startswith("[LOW] 1 anomaly, SITE_002, 2025-06-11: raw/Z?rich-?-donn?es.json #")
    assert subjects[0] != subjects[1]  # the same once made ASCII: the digest tells them apart
    assert keys[0] in message(keys[0], [anomaly()])["Message"]  # the body keeps the real key


@pytest.mark.parametrize("key", ["raw/line\nbreak.json", "raw/tab\there.json", "raw/bell\x07.json", "raw/cr\r.json"])
def test_subject_has_no_line_breaks_or_control_characters(key):
    # SNS refuses a Subject with line breaks or control characters; S3 keys may hold them
    subject = message(key, [anomaly()])["Subject"]

    assert not any(unicodedata.category(c) == "Cc" for c in subject)
    assert len(subject) <= SUBJECT_LIMIT


# --- attributes -------------------------------------------------------------------------------------


def test_attributes_for_filtering():
    anomalies = [anomaly("b-site", "LOW"), anomaly("a.site", "CRITICAL"), anomaly("b-site", "MEDIUM")]

    result = message(KEY, anomalies)

    assert attributes(result) == {
        "severity": ("String", "CRITICAL"),
        "site_id": ("String.Array", '["a.site", "b-site"]'),
        "anomalies": ("Number", "3"),
        "kind": ("String", "anomaly"),
    }
    assert json.loads(result["MessageAttributes"]["site_id"]["StringValue"]) == ["a.site", "b-site"]


@pytest.mark.parametrize(
    ("severities", "expected"),
    [(["LOW"], "LOW"), (["LOW", "MEDIUM"], "MEDIUM"), (["HIGH", "LOW"], "HIGH"), (["MEDIUM", "CRITICAL"], "CRITICAL")],
)
def test_severity_attribute_is_the_highest(severities, expected):
    result = message(KEY, [anomaly(f"S{i}", s) for i, s in enumerate(severities)])

    assert result["MessageAttributes"]["severity"]["StringValue"] == expected
    assert result["Subject"].startswith(f"[{expected}]")


def test_request_has_only_publish_fields_without_topic():
    assert set(message(KEY, [anomaly()])) == {"Subject", "Message", "MessageAttributes"}


# --- body ----------------------------------------------------------------------------------------------


def test_body_names_the_object_and_lists_every_row():
    anomalies = [
        anomaly("SITE_002", "LOW"),
        anomaly(
            "SITE_009",
            "CRITICAL",
            "2025-06-11T13:00:00Z",
            energy_generated_kwh=Decimal("-2000"),
            energy_consumed_kwh=Decimal("-1"),
            anomaly_reasons=["negative_generation", "negative_consumption", "implausible_magnitude"],
        ),
    ]

    result = message(KEY, anomalies)

    lines = result["Message"].split("\n")
    assert lines[0] == f"2 anomalous readings in s3 object {KEY}, of 2025-06-11"
    assert lines[1] == "Highest severity: CRITICAL. Sites: SITE_002, SITE_009."
    assert body_rows(result) == [
        "LOW  SITE_002  2025-06-11T12:00:00Z  -4.817263  101.5  negative_generation",
        "CRITICAL  SITE_009  2025-06-11T13:00:00Z  -2000  -1  negative_generation, negative_consumption, "
        "implausible_magnitude",
    ]
    assert "more" not in result["Message"]


def test_body_with_exactly_body_rows_anomalies_lists_them_all():
    anomalies = [anomaly(f"S{i:03d}") for i in range(BODY_ROWS)]

    result = message(KEY, anomalies)

    assert len(body_rows(result)) == BODY_ROWS
    assert "more" not in result["Message"]


def test_body_is_truncated_after_body_rows_and_counts_the_rest():
    anomalies = [anomaly(f"S{i:03d}") for i in range(BODY_ROWS + 7)]

    result = message(KEY, anomalies)

    rows = body_rows(result)
    assert len(rows) == BODY_ROWS == 50
    assert rows[0].startswith("LOW  S000  ")
    assert rows[-1].startswith(f"LOW  S{BODY_ROWS - 1:03d}  ")
    assert result["Message"].split("\n")[-1] == "... and 7 more (query anomalies for the full list)"
    assert result["MessageAttributes"]["anomalies"]["StringValue"] == str(BODY_ROWS + 7)
    assert result["Subject"] == f"[LOW] {BODY_ROWS + 7} anomalies, S000 +56 more, 2025-06-11: {KEY}"


def test_message_fits_sns_size_limit_for_a_large_fleet():
    # GIVEN a file with one anomaly at each of 3,000 sites with long (but valid, <= 128 character) ids
    anomalies = [anomaly(f"site-{i:05d}-" + "x" * 110) for i in range(3000)]

    result = message(KEY, anomalies)

    # THEN the Publish request stays within SNS's 256 KiB (body and attributes together)
    assert message_size(result) <= SNS_MESSAGE_LIMIT


# --- publish -------------------------------------------------------------------------------------------


class FakeSns:
    def __init__(self) -> None:
        self.requests: list[dict] = []

    def publish(self, **request: object) -> dict:
        self.requests.append(request)
        return {"MessageId": f"id-{len(self.requests)}"}


def test_publish_sends_one_message_to_the_topic():
    sns = FakeSns()

    message_id = publish(sns, "arn:aws:sns:eu-west-1:123456789012:t", KEY, Tally.of([anomaly(), anomaly("S9", "HIGH")]))

    assert message_id == "id-1"
    assert sns.requests == [
        {"TopicArn": "arn:aws:sns:eu-west-1:123456789012:t", **message(KEY, [anomaly(), anomaly("S9", "HIGH")])}
    ]


def test_publish_without_anomalies_sends_nothing():
    sns = FakeSns()

    assert publish(sns, "arn:aws:sns:eu-west-1:123456789012:t", KEY, Tally()) is None
    assert sns.requests == []


def test_a_tally_gathered_chunk_by_chunk_and_through_its_json_says_what_one_gathered_at_once_says():
    anomalies = [
        anomaly(f"S{i % 7}", ("LOW", "HIGH", "MEDIUM")[i % 3], f"2025-06-11T12:{i % 60:02d}:00Z") for i in range(120)
    ]
    tally = Tally()
    for start in range(0, 120, 25):
        tally = Tally.from_dict(json.loads(json.dumps(tally.as_dict())))
        tally.add(anomalies[start : start + 25])

    assert message(KEY, anomalies) == tally_message(KEY, tally)


def test_a_tally_of_more_sites_than_it_keeps_says_more_than_how_many():
    tally = Tally.of([anomaly(f"S{i:05d}") for i in range(1200)])

    body = tally_message(KEY, tally)["Message"]

    assert "and more than 900 more." in body and tally.anomalies == 1200
    assert tally_message(KEY, tally)["Subject"].startswith("[LOW] 1,200 anomalies, S00000 +999+ more, 2025-06-11: ")


def test_a_tally_kept_by_an_earlier_version_without_its_days_still_makes_a_subject():
    # GIVEN a checkpoint's tally written before tallies noted the days of their anomalies
    kept = {key: value for key, value in Tally.of([anomaly()]).as_dict().items() if key not in ("first_at", "last_at")}

    result = tally_message(KEY, Tally.from_dict(kept))

    assert result["Subject"] == f"[LOW] 1 anomaly, SITE_002: {KEY}"
    assert result["Message"].split("\n")[0] == f"1 anomalous reading in s3 object {KEY}"


def test_one_anomaly_is_counted_in_the_singular():
    result = message(KEY, [anomaly()])
    assert result["Message"].split("\n")[0] == f"1 anomalous reading in s3 object {KEY}, of 2025-06-11"
    assert result["Subject"].startswith("[LOW] 1 anomaly, ")


def test_summary_of_an_empty_period_says_n_a_not_none():
    # GIVEN the summary of a period without readings (energy_lib.query.summary's shape)
    zero = {name: Decimal(0) for name in (*ENERGY, *FLAGGED_ENERGY)}
    fleet = {"sites": 0, "readings": 0, "anomalies": 0, "efficiency_pct": None, "anomaly_rate_pct": None, **zero}
    fleet |= {"rolled_up_through": "2025-06-12T00:05:00Z", "readings_after_rollups": 0}
    empty = {"complete_through": "2025-06-12T00:05:00Z", "sites": [], "fleet": fleet}
    result = summary_message(empty, "2025-06-11T00:00:00Z", "2025-06-12T00:00:00Z")
    assert "None" not in result["Message"] + result["Subject"]
    assert "efficiency n/a" in result["Message"] and "(n/a)" in result["Message"]
    assert "Exact as of 2025-06-12 00:05 UTC: no readings." in result["Message"]
    one = {**fleet, "readings": 1, "anomalies": 1}
    subject = summary_message({**empty, "fleet": one}, "2025-06-11T00:00:00Z", "x")["Subject"]
    assert subject == "Energy summary 2025-06-11: 1 reading, 1 anomaly"


def test_the_summary_gives_valid_totals_and_the_flagged_energy_apart():
    # GIVEN a day whose only flagged reading is a CRITICAL 5,000 kWh one at SITE_003
    valid = {
        "energy_generated_kwh": Decimal("10.5"),
        "energy_consumed_kwh": Decimal("10"),
        "net_energy_kwh": Decimal("0.5"),
    }
    flagged = {"flagged_energy_generated_kwh": Decimal(5000), "flagged_energy_consumed_kwh": Decimal("5.2")}
    site = {
        "site_id": "SITE_003",
        "readings": 3,
        "anomalies": 1,
        "efficiency_pct": Decimal("105.00"),
        **valid,
        **flagged,
    }
    # AND one of its readings not rolled up yet, read from the readings table at 00:03:20
    fleet = {**site, "sites": 1, "anomaly_rate_pct": Decimal("33.33")}
    fleet |= {"rolled_up_through": "2025-06-11T23:50:00Z", "readings_after_rollups": 1}
    summary = {"complete_through": "2025-06-12T00:03:20Z", "sites": [site], "fleet": fleet}
    lines = summary_message(summary, "2025-06-11T00:00:00Z", "x")["Message"].split("\n")
    # THEN the totals are of valid readings and the flagged energy stands on a line of its own
    assert lines[2] == "Valid readings: generated 10.5 kWh, consumed 10 kWh, net 0.5 kWh, efficiency 105.00 %"
    assert lines[3] == "Flagged readings (anomalies, not in the totals): generated 5000 kWh, consumed 5.2 kWh"
    # AND the message says how fresh it is
    assert lines[4] == (
        "Exact as of 2025-06-12 00:03:20 UTC: the rollups hold its readings up to 2025-06-11 23:50 UTC; "
        "1 reading after that was read from the readings table."
    )
    assert lines[-1] == "SITE_003  10.5  10  0.5  105.00  1  5000"
