"""energy_lib.validation: which records become readings, and every reason a record is rejected.

Also: every file in tests/samples gives exactly the outcome its README table states.
"""

from __future__ import annotations

import io
import json
import re
import time
from datetime import datetime, timezone
from decimal import Decimal, Inexact, Rounded, localcontext

import pytest

from energy_lib.config import Settings
from energy_lib.parsing import Record, read_records
from energy_lib.readings import ParsedFile, Reading, Reject
from energy_lib.rules import assess
from energy_lib.validation import ENERGY_FIELDS as ENERGY
from energy_lib.validation import (
    KWH_DECIMAL_PLACES,
    KWH_MAGNITUDE_LIMIT,
    parse_timestamp,
    stored_kwh,
    validate_records,
)
from tests.conftest import SAMPLES, documented_outcomes, sample_files

TIMESTAMP_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
NOON = datetime(2025, 6, 11, 12, 0, 0, tzinfo=timezone.utc)
NOON_EPOCH = 1749643200  # 2025-06-11T12:00:00Z


def reading(**fields: object) -> dict:
    """A valid reading's fields, with ``fields`` replacing or adding some (None removes one)."""
    values: dict[str, object] = {
        "site_id": "SITE_001",
        "timestamp": "2025-06-11T12:00:00Z",
        "energy_generated_kwh": "10.5",
        "energy_consumed_kwh": "4.25",
    }
    values.update(fields)
    return {k: v for k, v in values.items() if v is not None}


def records(body: bytes, key: str) -> list[Record]:
    return list(read_records(io.BytesIO(body), key, Settings()))


def validate_json(*objects: dict) -> ParsedFile:
    """Validate the records of a JSON array holding ``objects`` (JSON text, so numbers stay JSON numbers)."""
    body = "[" + ", ".join(json.dumps(o) for o in objects) + "]"
    return validate_records(records(body.encode(), "raw/f.json"))


def validate_text(text: str, key: str = "raw/f.json") -> ParsedFile:
    return validate_records(records(text.encode(), key))


def one_reading(parsed: ParsedFile) -> Reading:
    assert parsed.rejects == ()
    assert len(parsed.readings) == 1
    return parsed.readings[0]


def one_reject(parsed: ParsedFile) -> Reject:
    assert parsed.readings == ()
    assert len(parsed.rejects) == 1
    return parsed.rejects[0]


def energy_json(value: str, field: str = "energy_generated_kwh", **others: object) -> ParsedFile:
    """A one-reading JSON array with ``value`` written as raw JSON text for ``field``."""
    text = json.dumps(reading(**{field: "PLACEHOLDER"}, **others)).replace('"PLACEHOLDER"', value)
    return validate_text(f"[{text}]")


# --- the sample files -------------------------------------------------------------------------------

# file -> (anomalies as (site, reasons, timestamp or None), reject reasons); the counts come from the README table
SAMPLE_DETAILS = {
    "array_utc_z.json": ([("SITE_002", ("negative_generation",), None)], []),
    "single_object.json": ([], []),
    "offsets_and_records.json": ([("site_beta", ("negative_consumption",), "2025-06-11T20:05:00Z")], []),
    "lines.jsonl": ([], [("not_a_number:energy_generated_kwh",)]),
    "readings.csv": ([], [("missing_field:energy_generated_kwh",)]),
    "producer_floats.json": (
        [
            ("plant-03", ("negative_generation",), "2025-06-11T10:15:00Z"),
            ("plant-04", ("negative_consumption",), "2025-06-11T10:45:00Z"),
        ],
        [],
    ),
}


def test_every_sample_file_has_a_documented_and_an_expected_outcome():
    # GIVEN the samples folder: a new sample without a README row or details here must not pass silently
    files = [path.name for path in sample_files()]
    assert files == sorted(documented_outcomes()) == sorted(SAMPLE_DETAILS)


@pytest.mark.parametrize("name", sorted(SAMPLE_DETAILS))
def test_sample_file_gives_the_outcome_in_its_readme(name):
    read, stored, quarantined, anomaly_count = documented_outcomes()[name]
    anomalies, reject_reasons = SAMPLE_DETAILS[name]

    # WHEN the real file is parsed, validated and assessed with the default settings
    parsed = validate_records(records((SAMPLES / name).read_bytes(), f"raw/2025/06/11/{name}"))
    assessed = [(r, assess(r, Settings())) for r in parsed.readings]

    # THEN the counts, the anomalies and the reject reasons are those of the README table
    assert (parsed.read, len(parsed.readings), len(parsed.rejects)) == (read, stored, quarantined)
    assert parsed.read == len(parsed.readings) + len(parsed.rejects)
    found = [(r.site_id, a.reasons, r.timestamp_text) for r, a in assessed if a.anomaly]
    assert len(found) == anomaly_count
    assert [(site, reasons) for site, reasons, _ in found] == [(site, reasons) for site, reasons, _ in anomalies]
    for (_, _, timestamp), (_, _, expected) in zip(found, anomalies, strict=True):
        if expected is not None:
            assert timestamp == expected
    assert [r.reasons for r in parsed.rejects] == reject_reasons


def test_sample_rejects_keep_their_line_and_exact_text():
    lines = validate_records(records((SAMPLES / "lines.jsonl").read_bytes(), "raw/lines.jsonl"))
    csv = validate_records(records((SAMPLES / "readings.csv").read_bytes(), "raw/readings.csv"))

    assert [(r.position, r.original) for r in lines.rejects] == [
        (2, (SAMPLES / "lines.jsonl").read_text().splitlines()[1]),
    ]
    assert [(r.position, r.original) for r in csv.rejects] == [(3, "SITE_005,2025-06-11T14:05:00Z,,60.0")]


def test_sample_values_are_exact_and_timestamps_normalized():
    parsed = validate_records(records((SAMPLES / "array_utc_z.json").read_bytes(), "raw/a.json"))

    assert [(r.site_id, r.timestamp_text, r.energy_generated_kwh, r.net_energy_kwh) for r in parsed.readings] == [
        ("SITE_001", "2025-06-11T12:00:00Z", Decimal("152.37"), Decimal("54.25")),
        ("SITE_002", "2025-06-11T12:00:00Z", Decimal("-4.817263"), Decimal("-106.317263")),
        ("SITE_003", "2025-06-11T12:00:00Z", Decimal("88.0"), Decimal("-43.44")),
    ]


def test_sample_with_offsets_converts_to_utc():
    parsed = validate_records(records((SAMPLES / "offsets_and_records.json").read_bytes(), "raw/o.json"))

    assert [(r.site_id, r.timestamp_text) for r in parsed.readings] == [
        ("site_alpha", "2025-06-11T20:05:00Z"),
        ("site_beta", "2025-06-11T20:05:00Z"),
    ]


# --- a valid reading -----------------------------------------------------------------------------------


def test_valid_reading_keeps_every_field_and_its_position():
    parsed = validate_json(reading(site_id="A"), reading(site_id="B", energy_generated_kwh="7"))

    assert parsed.rejects == ()
    assert parsed.readings == (
        Reading("A", NOON, Decimal("10.5"), Decimal("4.25"), 1),
        Reading("B", NOON, Decimal("7"), Decimal("4.25"), 2),
    )
    assert parsed.read == 2


def test_empty_record_list_gives_an_empty_parsed_file():
    parsed = validate_records([])

    assert parsed == ParsedFile((), ())
    assert parsed.read == 0


# --- numbers -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("generated", "consumed", "net"),
    [
        ("0.3", "0.1", "0.2"),
        ("0.1", "0.2", "-0.1"),
        ("0.1", "-0.2", "0.3"),
        ("1e-7", "0", "1E-7"),
        ("1e-7", "2e-7", "-1E-7"),
        ("152.37", "98.12", "54.25"),
        ("12345678901234567890.12345678", "0.00000001", "12345678901234567890.12345677"),
    ],
)
@pytest.mark.parametrize("as_text", [False, True], ids=["json-number", "json-string"])
def test_net_is_the_exact_decimal_difference(generated, consumed, net, as_text):
    # GIVEN values written as JSON numbers or as numeric strings
    if as_text:
        parsed = validate_json(reading(energy_generated_kwh=generated, energy_consumed_kwh=consumed))
    else:
        text = json.dumps(reading(energy_generated_kwh="G", energy_consumed_kwh="C"))
        parsed = validate_text("[" + text.replace('"G"', generated).replace('"C"', consumed) + "]")

    r = one_reading(parsed)

    assert r.energy_generated_kwh == Decimal(generated)
    assert r.energy_consumed_kwh == Decimal(consumed)
    assert r.net_energy_kwh == Decimal(net)
    assert str(r.net_energy_kwh) == net


def test_csv_values_are_exact_decimals():
    text = "site_id,timestamp,energy_generated_kwh,energy_consumed_kwh\nS1,2025-06-11T12:00:00Z,0.3,0.1\n"

    r = one_reading(validate_text(text, "raw/f.csv"))

    assert (r.energy_generated_kwh, r.energy_consumed_kwh, r.net_energy_kwh) == (
        Decimal("0.3"),
        Decimal("0.1"),
        Decimal("0.2"),
    )


def test_the_number_bound_constants():
    # the contract the rollups (issue 9) and the lake (issue 14) import
    assert KWH_DECIMAL_PLACES == 9
    assert Decimal("1E+20") == KWH_MAGNITUDE_LIMIT


def test_the_producer_sample_is_stored_whole_with_its_unrounded_floats_rounded_to_9_decimals():
    # GIVEN a batch as a producer computing in floats writes it (tests/samples/producer_floats.json)
    parsed = validate_records(records((SAMPLES / "producer_floats.json").read_bytes(), "raw/p.json"))
    # THEN every reading is a reading; the four values with more than 9 decimals are rounded, and say so
    rounded = {(r.site_id, r.timestamp_text, field): getattr(r, field) for r in parsed.readings for field in r.rounded}
    assert (parsed.read, len(parsed.readings)) == (25, 25)
    assert rounded == {
        ("plant-03", "2025-06-11T10:15:00Z", "energy_generated_kwh"): Decimal("-4.572918375"),
        ("plant-02", "2025-06-11T10:30:00Z", "energy_consumed_kwh"): Decimal("15.400000000"),
        ("plant-04", "2025-06-11T10:45:00Z", "energy_consumed_kwh"): Decimal("-3.327790891"),
        ("plant-03", "2025-06-11T11:00:00Z", "energy_generated_kwh"): Decimal("0.300000000"),
    }
    # AND the others are exact as written
    text = (SAMPLES / "producer_floats.json").read_text()
    assert all(
        f'"{field}": {getattr(r, field)}' in text for r in parsed.readings for field in ENERGY if field not in r.rounded
    )


@pytest.mark.parametrize(
    "value",
    [
        "99999999999999999999.999999999",  # the largest value in the bound: 29 digits
        "-99999999999999999999.999999999",
        "1E+19",
        "0.000000001",
        "1E-9",
        "123.456789012",
        "12345678901234567890",
    ],
)
def test_values_within_the_bound_are_kept_exactly(value):
    r = one_reading(energy_json(value, energy_consumed_kwh="0"))

    assert r.energy_generated_kwh == Decimal(value)
    assert str(r.energy_generated_kwh) == str(Decimal(value))


@pytest.mark.parametrize(
    "value",
    [
        "1E+20",
        "-1E+20",
        "100000000000000000000",
        "100000000000000000000.000000001",
        "1e35",
        "1e400",
        "-1E+126",
        "99999999999999999999.9999999995",  # below 10^20 as written, 10^20 once rounded to 9 decimals
        "-99999999999999999999.99999999951",
        "123456789012345678901234567890123456789",  # 39 digits
    ],
)
@pytest.mark.parametrize("as_text", [False, True], ids=["json-number", "json-string"])
def test_values_outside_the_bound_are_out_of_range(value, as_text):
    parsed = energy_json(f'"{value}"' if as_text else value)

    assert one_reject(parsed).reasons == ("out_of_range:energy_generated_kwh",)


@pytest.mark.parametrize("value", ["1E+20", "-123456789012345678901.5"])
def test_out_of_range_in_csv(value):
    text = f"site_id,timestamp,energy_generated_kwh,energy_consumed_kwh\nS1,2025-06-11T12:00:00Z,1,{value}\n"

    assert one_reject(validate_text(text, "raw/f.csv")).reasons == ("out_of_range:energy_consumed_kwh",)


@pytest.mark.parametrize(
    ("generated", "consumed"),
    [
        ("60000000000000000000", "-40000000000000000000"),  # net 1E+20
        ("-99999999999999999999.999999999", "0.000000001"),  # net -1E+20
    ],
)
def test_a_net_outside_the_bound_is_out_of_range(generated, consumed):
    # GIVEN two values each within the bound whose difference is not: it would be stored, and summed
    text = json.dumps(reading(energy_generated_kwh="G", energy_consumed_kwh="C"))
    parsed = validate_text("[" + text.replace('"G"', generated).replace('"C"', consumed) + "]")

    assert one_reject(parsed).reasons == ("out_of_range:net_energy_kwh",)


def test_the_largest_net_inside_the_bound_is_kept():
    r = one_reading(energy_json("50000000000000000000", energy_consumed_kwh="-49999999999999999999.999999999"))

    assert r.net_energy_kwh == Decimal("99999999999999999999.999999999")


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("0", "0"),
        ("-0E-50", "0"),
        ("0E+99", "0"),
        ("1E-9", "1E-9"),
        ("12.50", "12.50"),  # at most 9 decimals: as written
        ("9.99E+19", "9.99E+19"),
        ("1E-10", "0"),
        ("-4E-10", "0"),  # rounds to zero: stored as plain 0, not -0
        ("5E-10", "0"),  # half to even: 0.000000000|5 -> 0
        ("1.5E-9", "2E-9"),  # half to even: 0.000000001|5 -> 0.000000002
        ("2.5E-9", "2E-9"),
        ("0.30000000000000004", "0.300000000"),
        ("-4.572918374629183", "-4.572918375"),
        ("1.5000000000", "1.500000000"),
        ("99999999999999999999.9999999994", "99999999999999999999.999999999"),
        ("1E-999999999", "0"),
        ("1E+20", None),
        ("99999999999999999999.9999999995", None),
        ("1E+999999999", None),
    ],
)
def test_stored_kwh(value, stored):
    result = stored_kwh(Decimal(value))
    assert (str(result) if result is not None else None) == stored


@pytest.mark.parametrize(
    ("value", "stored", "rounded"),
    [
        ("0.30000000000000004", "0.300000000", True),  # what 0.1 + 0.2 prints in Python, JavaScript, Java
        ("1.5000000000", "1.500000000", False),  # a fixed 10-decimal format: trailing zeros alone change nothing
        ("-4.572918374629183", "-4.572918375", True),
        ("12.5", "12.5", False),
        ("1e-3", "0.001", False),
        ("123456789.123456789", "123456789.123456789", False),
        ("0.0000000001", "0", True),
        ("1E-130", "0", True),
        ("10E-10", "1E-9", False),  # 0.0000000010: the same value with 9 decimals
    ],
)
@pytest.mark.parametrize("as_text", [False, True], ids=["json-number", "json-string"])
def test_more_than_9_decimals_are_rounded_half_to_even_and_named(value, stored, rounded, as_text):
    # GIVEN a value in a JSON number or string
    r = one_reading(energy_json(f'"{value}"' if as_text else value, "energy_consumed_kwh"))

    # THEN it is stored rounded to 9 decimals; the reading names the field when that changed its value
    assert str(r.energy_consumed_kwh) == stored
    assert r.rounded == (("energy_consumed_kwh",) if rounded else ())
    assert r.net_energy_kwh == r.energy_generated_kwh - Decimal(stored)


def test_rules_and_the_net_see_the_rounded_values():
    # GIVEN a consumption of -0.0000000004 kWh (rounds to 0) and a generation that rounds to a whole kWh
    r = one_reading(energy_json("-0.0000000004", "energy_consumed_kwh", energy_generated_kwh="7.9999999996"))

    # THEN neither is negative any more: no anomaly, and the net is that of the stored values
    assert (r.energy_generated_kwh, r.energy_consumed_kwh, r.net_energy_kwh) == (Decimal(8), 0, Decimal(8))
    assert not r.energy_consumed_kwh.is_signed()
    assert r.rounded == ("energy_generated_kwh", "energy_consumed_kwh")
    assert assess(r, Settings()).anomaly is False


def test_rounding_in_csv():
    text = "site_id,timestamp,energy_generated_kwh,energy_consumed_kwh\nS1,2025-06-11T12:00:00Z,1,1.0000000005\n"

    r = one_reading(validate_text(text, "raw/f.csv"))

    assert (r.energy_consumed_kwh, r.rounded) == (Decimal("1.000000000"), ("energy_consumed_kwh",))


def test_sums_of_a_billion_values_at_the_bound_fit_38_digits_and_decimal_38_9():
    # GIVEN the largest magnitude a stored value (generated, consumed or net) may have
    largest = Decimal("99999999999999999999.999999999")
    with localcontext(prec=38, traps=[Inexact, Rounded]):
        # WHEN 10^9 values are added (as the rollups do, DynamoDB keeping 38 digits): nearly all at the bound
        # and one with a ninth decimal, so the sum has all 29 + 9 digits
        total = largest * (10**9 - 1) + Decimal("0.000000001")
        # THEN nothing is rounded, and it is a DECIMAL(38, 9): 29 digits before the point, 9 after
        assert total == Decimal("99999999899999999999999999999.000000002")
        assert len(total.as_tuple().digits) == 38
        assert total.quantize(Decimal("1E-9")) == total
        # while nets up to 2 x 10^20 (two values at the bound, the net unbounded) could not be summed exactly
        with pytest.raises(Inexact):
            (2 * largest) * (10**9 - 1) + Decimal("0.000000001")


@pytest.mark.parametrize("value", ["0", "-0", "-0.0", "0e5", "-0E-7"])
def test_zero_of_any_form_is_stored_as_plain_zero(value):
    r = one_reading(energy_json(value, "energy_consumed_kwh"))

    assert r.energy_consumed_kwh == 0
    assert not r.energy_consumed_kwh.is_signed()
    assert str(r.energy_consumed_kwh) == "0"


@pytest.mark.parametrize("value", ['"12.5"', '" 12.5 "', '"-3"', '"1e2"'])
def test_numeric_strings_are_accepted(value):
    r = one_reading(energy_json(value))

    assert r.energy_generated_kwh == Decimal(json.loads(value).strip())


@pytest.mark.parametrize("value", ['"not a number"', '"12,5"', '"12.5 kWh"', "[1]", '{"v": 1}', '"0x10"'])
def test_non_numbers_are_not_a_number(value):
    assert one_reject(energy_json(value)).reasons == ("not_a_number:energy_generated_kwh",)


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", '"NaN"', '"Infinity"', '"-inf"', '"nan"'])
def test_nan_and_infinity_are_not_finite(value):
    assert one_reject(energy_json(value, "energy_consumed_kwh")).reasons == ("not_finite:energy_consumed_kwh",)


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "inf", "nan"])
def test_nan_and_infinity_in_csv_are_not_finite(value):
    text = f"site_id,timestamp,energy_generated_kwh,energy_consumed_kwh\nS1,2025-06-11T12:00:00Z,{value},1\n"

    assert one_reject(validate_text(text, "raw/f.csv")).reasons == ("not_finite:energy_generated_kwh",)


@pytest.mark.parametrize("value", ["true", "false"])
def test_booleans_are_rejected_not_taken_as_numbers(value):
    assert one_reject(energy_json(value)).reasons == ("boolean:energy_generated_kwh",)


@pytest.mark.parametrize("value", ["null", '""', '"   "'])
def test_null_or_blank_values_are_missing(value):
    assert one_reject(energy_json(value, "energy_consumed_kwh")).reasons == ("missing_field:energy_consumed_kwh",)


@pytest.mark.parametrize("field", ["site_id", "timestamp", "energy_generated_kwh", "energy_consumed_kwh"])
def test_absent_field_is_missing(field):
    assert one_reject(validate_json(reading(**{field: None}))).reasons == (f"missing_field:{field}",)


# --- timestamps ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-06-11T12:00:00Z", "2025-06-11T12:00:00Z"),
        ("2025-06-11T12:00:00+00:00", "2025-06-11T12:00:00Z"),
        ("2025-06-11T14:00:00+02:00", "2025-06-11T12:00:00Z"),
        ("2025-06-11T06:30:00-05:30", "2025-06-11T12:00:00Z"),
        ("2025-06-12T01:00:00+13:00", "2025-06-11T12:00:00Z"),  # crosses the day boundary
        ("2025-06-11T12:00:00", "2025-06-11T12:00:00Z"),  # no offset: UTC
        ("2025-06-11 12:00:00", "2025-06-11T12:00:00Z"),
        ("  2025-06-11T12:00:00Z  ", "2025-06-11T12:00:00Z"),
        ("2000-01-01T00:00:00Z", "2000-01-01T00:00:00Z"),  # the earliest accepted
        ("2199-12-31T23:59:59Z", "2199-12-31T23:59:59Z"),
    ],
)
def test_iso_timestamps_are_normalized_to_utc_text(value, expected):
    r = one_reading(validate_json(reading(timestamp=value)))

    assert r.timestamp_text == expected
    assert TIMESTAMP_TEXT.match(r.timestamp_text)
    assert r.timestamp.tzinfo is not None
    assert r.timestamp.utcoffset().total_seconds() == 0
    assert r.timestamp.microsecond == 0


@pytest.fixture
def local_zone_not_utc(monkeypatch):
    """Run with the process's local time zone at UTC-5/-4, so "local" and "UTC" differ."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_timestamp_without_offset_is_utc_whatever_the_local_zone(local_zone_not_utc):
    assert time.strftime("%z", time.localtime(NOON_EPOCH)) == "-0400"  # the fixture took effect

    r = one_reading(validate_json(reading(timestamp="2025-06-11T12:00:00")))

    assert r.timestamp_text == "2025-06-11T12:00:00Z"


@pytest.mark.parametrize("digits", range(1, 10))
def test_sub_second_parts_of_any_length_are_truncated_not_rounded(digits):
    # GIVEN 59.999..., which rounding would carry into the next minute
    value = "2025-06-11T12:00:59." + "9" * digits + "Z"

    r = one_reading(validate_json(reading(timestamp=value)))

    assert r.timestamp_text == "2025-06-11T12:00:59Z"
    assert r.timestamp == datetime(2025, 6, 11, 12, 0, 59, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (str(NOON_EPOCH), "2025-06-11T12:00:00Z"),  # JSON number
        (f'"{NOON_EPOCH}"', "2025-06-11T12:00:00Z"),  # numeric string
        (f"{NOON_EPOCH}.999", "2025-06-11T12:00:00Z"),  # fractional: floor to the second
        (f'"{NOON_EPOCH}.5"', "2025-06-11T12:00:00Z"),
        (f"{NOON_EPOCH + 59}.0", "2025-06-11T12:00:59Z"),
        ("1.7496432e9", "2025-06-11T12:00:00Z"),
        ("946684800", "2000-01-01T00:00:00Z"),  # the earliest accepted
    ],
)
def test_epoch_seconds_as_number_or_string(value, expected):
    text = json.dumps(reading(timestamp="TS")).replace('"TS"', value)

    r = one_reading(validate_text(f"[{text}]"))

    assert r.timestamp_text == expected


@pytest.mark.parametrize(
    "value",
    [
        '"2025-06-11"',  # a date only
        '"garbage"',
        '"not a timestamp at all"',
        '"2025-13-01T00:00:00Z"',
        '"2025-06-11T25:00:00Z"',
        '"11/06/2025 12:00"',
        '"1969-12-31T23:59:59Z"',  # before the epoch
        '"2200-01-01T00:00:00Z"',  # beyond the last accepted moment
        '"0001-01-01T00:00:00+01:00"',  # before year 1 once in UTC: rejected, never an OverflowError
        '"9999-12-31T23:59:59-01:00"',  # after year 9999 once in UTC
        "-1",
        "-0.5",
        "1e20",
        "NaN",
        '"Infinity"',
        "[1]",
        '{"t": 1}',
    ],
)
def test_bad_timestamps_are_rejected(value):
    text = json.dumps(reading(timestamp="TS")).replace('"TS"', value)

    assert one_reject(validate_text(f"[{text}]")).reasons == ("bad_timestamp",)


def test_boolean_timestamp_is_rejected_as_boolean():
    assert one_reject(validate_json(reading(timestamp=True))).reasons == ("boolean:timestamp",)


def test_timestamp_with_a_huge_exponent_is_rejected_quickly():
    # GIVEN an epoch value like 1e120000: it cannot be a moment before 2200, so no big integer is needed to say so
    record = json.dumps(reading(timestamp="TS")).replace('"TS"', "1e120000")

    started = time.perf_counter()
    reject = one_reject(validate_text(f"[{record}]"))
    elapsed = time.perf_counter() - started

    # THEN it is a bad timestamp, found in far less time than building a 120,000-digit integer takes
    # (the time grows with the square of the exponent: 1e1000000 takes ~40 s, a Lambda-timeout per record)
    assert reject.reasons == ("bad_timestamp",)
    assert elapsed < 0.25


def test_parse_timestamp_directly():
    assert parse_timestamp("2025-06-11T14:00:00.123+02:00") == NOON
    assert parse_timestamp(Decimal(NOON_EPOCH)) == NOON
    assert parse_timestamp("2025-06-11") is None
    assert parse_timestamp(None) is None


# --- site_id ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "site_id",
    ["A", "site-1", "SITE_001", "site.alpha", "a.b-c_D9", "0", "-", "_", ".", "x" * 128],
)
def test_allowed_site_ids(site_id):
    assert one_reading(validate_json(reading(site_id=site_id))).site_id == site_id


@pytest.mark.parametrize(
    "site_id",
    ["x" * 129, "site 1", "site/1", "site\\1", "Zürich", "site#1", "site:1", "SITE_1\n", "\tSITE", "a*"],
)
def test_bad_site_ids(site_id):
    assert one_reject(validate_json(reading(site_id=site_id))).reasons == ("bad_site_id",)


@pytest.mark.parametrize("site_id", ["1", "true", "1.5", '["A"]', '{"id": "A"}'])
def test_non_string_site_ids_are_bad(site_id):
    # GIVEN a site_id that is a JSON number, boolean, list or object
    text = json.dumps(reading(site_id="SID")).replace('"SID"', site_id)

    assert one_reject(validate_text(f"[{text}]")).reasons == ("bad_site_id",)


@pytest.mark.parametrize("site_id", ['""', '"  "', "null"])
def test_empty_site_id_is_missing(site_id):
    text = json.dumps(reading(site_id="SID")).replace('"SID"', site_id)

    assert one_reject(validate_text(f"[{text}]")).reasons == ("missing_field:site_id",)


# --- records that are not readings -------------------------------------------------------------------


@pytest.mark.parametrize("element", ["1", '"text"', "null", "[1, 2]", "true"])
def test_non_object_records_are_rejected(element):
    reject = one_reject(validate_text(f"[{element}]"))

    assert reject == Reject(1, element, ("not_an_object",))


def test_broken_json_lines_line_is_rejected_as_not_json_and_the_rest_kept():
    good = json.dumps(reading())
    broken = '{"site_id": "SITE_002", "timestamp": '
    text = f"{good}\n\n{broken}\n{json.dumps(reading(site_id='SITE_003'))}\n"

    parsed = validate_text(text, "raw/f.jsonl")

    assert [r.site_id for r in parsed.readings] == ["SITE_001", "SITE_003"]
    assert [r.position for r in parsed.readings] == [1, 4]
    assert parsed.rejects == (Reject(3, broken, ("not_json",)),)
    assert parsed.read == 3


# --- several problems at once -------------------------------------------------------------------------


def test_reject_with_several_problems_lists_every_reason():
    record = '{"site_id": "a b", "timestamp": "garbage", "energy_generated_kwh": true, "energy_consumed_kwh": "x"}'

    reject = one_reject(validate_text(f"[{record}]"))

    assert reject == Reject(
        1,
        record,
        ("bad_site_id", "bad_timestamp", "boolean:energy_generated_kwh", "not_a_number:energy_consumed_kwh"),
    )


def test_empty_object_lists_every_missing_field():
    assert one_reject(validate_text("[{}]")).reasons == (
        "missing_field:site_id",
        "missing_field:timestamp",
        "missing_field:energy_generated_kwh",
        "missing_field:energy_consumed_kwh",
    )


def test_csv_row_with_several_problems():
    text = "site_id,timestamp,energy_generated_kwh,energy_consumed_kwh\nS/1,2025-06-11,NaN\n"

    reject = one_reject(validate_text(text, "raw/f.csv"))

    assert reject == Reject(
        2,
        "S/1,2025-06-11,NaN",
        ("bad_site_id", "bad_timestamp", "not_finite:energy_generated_kwh", "missing_field:energy_consumed_kwh"),
    )


def test_one_bad_field_does_not_hide_another_numbers_problem():
    record = json.dumps(reading(energy_generated_kwh="1" * 21, energy_consumed_kwh=None))

    assert one_reject(validate_text(f"[{record}]")).reasons == (
        "out_of_range:energy_generated_kwh",
        "missing_field:energy_consumed_kwh",
    )


# --- duplicates within a file ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "second_timestamp",
    [
        "2025-06-11T12:00:00Z",
        "2025-06-11T12:00:00.999Z",
        "2025-06-11T14:00:00+02:00",
        "2025-06-11T12:00:00",
        str(NOON_EPOCH),
        f"{NOON_EPOCH}.7",
    ],
)
def test_second_reading_for_same_site_and_second_is_a_duplicate(second_timestamp):
    # GIVEN two readings of SITE_001 in the same second, written differently
    first = reading(timestamp="2025-06-11T12:00:00.1Z", energy_generated_kwh="1")
    second = reading(timestamp=second_timestamp, energy_generated_kwh="2")

    parsed = validate_json(first, second)

    # THEN the first is kept, the second rejected with its own position and text
    assert [(r.position, r.energy_generated_kwh) for r in parsed.readings] == [(1, Decimal("1"))]
    assert parsed.rejects == (Reject(2, json.dumps(second), ("duplicate_in_file",)),)


def test_same_second_at_different_sites_is_not_a_duplicate():
    parsed = validate_json(reading(site_id="A"), reading(site_id="B"), reading(site_id="a"))

    assert [r.site_id for r in parsed.readings] == ["A", "B", "a"]
    assert parsed.rejects == ()


def test_next_second_at_the_same_site_is_not_a_duplicate():
    parsed = validate_json(reading(timestamp="2025-06-11T12:00:00.999Z"), reading(timestamp="2025-06-11T12:00:01Z"))

    assert [r.timestamp_text for r in parsed.readings] == ["2025-06-11T12:00:00Z", "2025-06-11T12:00:01Z"]


def test_every_later_duplicate_is_rejected():
    parsed = validate_json(reading(), reading(), reading(site_id="B"), reading())

    assert [r.position for r in parsed.readings] == [1, 3]
    assert [(r.position, r.reasons) for r in parsed.rejects] == [
        (2, ("duplicate_in_file",)),
        (4, ("duplicate_in_file",)),
    ]
    assert parsed.read == 4


def test_a_rejected_record_does_not_claim_its_site_and_second():
    # GIVEN an invalid reading first, then a valid one for the same site and second
    parsed = validate_json(reading(energy_generated_kwh="x"), reading())

    assert [r.position for r in parsed.readings] == [2]
    assert [(r.position, r.reasons) for r in parsed.rejects] == [(1, ("not_a_number:energy_generated_kwh",))]


def test_readings_and_rejects_keep_file_order():
    parsed = validate_json(
        reading(site_id="A"),
        reading(site_id="bad id"),
        reading(site_id="B"),
        reading(site_id="A"),
        reading(site_id="C"),
    )

    assert [r.position for r in parsed.readings] == [1, 3, 5]
    assert [r.position for r in parsed.rejects] == [2, 4]


@pytest.mark.parametrize("value", ['"1999-12-31T23:59:59Z"', "0", '"20250611"', "946684799"])
def test_timestamps_before_2000_are_taken_for_mistakes(value):
    # GIVEN a date before 2000, or a compact date that would read as epoch seconds in 1970
    text = json.dumps(reading(timestamp="TS")).replace('"TS"', value)
    # THEN the reading is rejected rather than stored in the wrong decade
    [reject] = validate_text(f"[{text}]").rejects
    assert reject.reasons == ("bad_timestamp",)
