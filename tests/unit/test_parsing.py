"""energy_lib.parsing: every input shape producers send, each record with its position and exact text.

read_records() only splits a file into records; whether a record is a storable reading is validation's
job (tests/unit/test_validation.py). Here a record's ``value`` is checked as parsed: JSON numbers are
Decimals read from their text, CSV values stay strings.
"""

from __future__ import annotations

import gzip
import io
from decimal import Decimal

import pytest

from energy_lib import parsing
from energy_lib.config import Settings
from energy_lib.errors import UnparseableFile
from energy_lib.parsing import Record, RepeatedFields, Unreadable, read_records

FIELDS = ("site_id", "timestamp", "energy_generated_kwh", "energy_consumed_kwh")
CSV_HEADER = ",".join(FIELDS)

ONE = '{"site_id": "S1", "timestamp": "2025-06-11T12:00:00Z", "energy_generated_kwh": 1.5, "energy_consumed_kwh": 2}'
TWO = '{"site_id": "S2", "timestamp": "2025-06-11T12:00:00Z", "energy_generated_kwh": 3, "energy_consumed_kwh": 0.25}'


@pytest.fixture(autouse=True, params=["default-chunks", "3-byte-chunks"])
def chunk_bytes(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test twice: with the real chunk sizes, and reading 3 bytes at a time (inflating 5), so every
    token, line ending, multi-byte character and record also falls across a chunk boundary."""
    if request.param == "3-byte-chunks":
        monkeypatch.setattr(parsing.source, "READ_BYTES", 3)
        monkeypatch.setattr(parsing.source, "CHUNK_BYTES", 5)


def parse_body(body: bytes, key: str) -> list[Record]:
    return list(read_records(io.BytesIO(body), key, Settings()))


def parse(text: str, key: str = "raw/2025/06/11/file.json") -> list[Record]:
    return parse_body(text.encode("utf-8"), key)


def summary(records: list[Record]) -> list[tuple[int, object, str]]:
    return [(r.position, r.value, r.original) for r in records]


# --- JSON documents ---------------------------------------------------------------------------------


def test_json_array_gives_one_record_per_element_with_values_as_decimals():
    # GIVEN a JSON array of two readings
    records = parse(f"[{ONE}, {TWO}]")

    # THEN both come back, numbered from 1, numbers as Decimal (never float), text kept exactly
    assert summary(records) == [
        (
            1,
            {
                "site_id": "S1",
                "timestamp": "2025-06-11T12:00:00Z",
                "energy_generated_kwh": Decimal("1.5"),
                "energy_consumed_kwh": Decimal("2"),
            },
            ONE,
        ),
        (
            2,
            {
                "site_id": "S2",
                "timestamp": "2025-06-11T12:00:00Z",
                "energy_generated_kwh": Decimal("3"),
                "energy_consumed_kwh": Decimal("0.25"),
            },
            TWO,
        ),
    ]
    assert all(type(v) is Decimal for r in records for k, v in r.value.items() if k.startswith("energy"))


def test_json_array_element_with_odd_spacing_keeps_its_exact_text():
    # GIVEN elements separated by tabs, newlines and spaces inside and around them
    text = '[ \n\t{ "site_id" :  "S1" ,"timestamp":"x"  } ,\r\n  {"a":1}\t]\n'

    records = parse(text)

    # THEN each original is exactly the element's text, nothing around it
    assert [r.original for r in records] == ['{ "site_id" :  "S1" ,"timestamp":"x"  }', '{"a":1}']
    assert [r.position for r in records] == [1, 2]


def test_json_array_elements_that_are_not_objects_are_still_records():
    # GIVEN an array holding a number, a string, null and a nested array besides an object
    records = parse('[1, "x", null, [2], {"a": 3}]')

    # THEN each is a record at its element number (validation rejects the non-objects)
    assert summary(records) == [
        (1, Decimal("1"), "1"),
        (2, "x", '"x"'),
        (3, None, "null"),
        (4, [Decimal("2")], "[2]"),
        (5, {"a": Decimal("3")}, '{"a": 3}'),
    ]


def test_empty_json_array_gives_no_records():
    assert parse("[]") == []
    assert parse(" [ \n ] ") == []


def test_single_json_object_is_one_record_with_its_exact_text():
    # GIVEN a single object with surrounding whitespace
    records = parse(f"\n  {ONE}  \n")

    # THEN it is record 1 and its original is the object without the whitespace
    assert summary(records) == [(1, records[0].value, ONE)]
    assert records[0].value["site_id"] == "S1"


def test_records_wrapper_gives_its_elements_with_their_exact_text():
    # GIVEN {"records": [...]} after another array member and a nested "records", with odd spacing
    first = '{ "site_id" : "S1"  }'
    second = '{"site_id":"S2"}'
    text = f'{{"tags": [{{"a": 1}}], "source": {{"records": 1}}, "records" :\n [ {first} ,\n  {second}\n ], "n": 2}}'

    records = parse(text)

    # THEN the elements of the top-level records array come back, each with its own text and number
    assert summary(records) == [(1, {"site_id": "S1"}, first), (2, {"site_id": "S2"}, second)]


def test_records_wrapper_that_is_the_only_member():
    records = parse(f'{{"records": [{ONE}, {TWO}]}}')

    assert [r.original for r in records] == [ONE, TWO]
    assert [r.position for r in records] == [1, 2]


def test_records_wrapper_with_an_empty_array_gives_no_records():
    assert parse('{"records": []}') == []


def test_object_whose_records_member_is_not_an_array_is_a_single_record():
    # GIVEN an object with "records" that is a string: it is not a wrapper
    text = '{"records": "none", "site_id": "S1"}'

    records = parse(text)

    assert summary(records) == [(1, {"records": "none", "site_id": "S1"}, text)]


@pytest.mark.parametrize(
    "text",
    ["NaN", "Infinity", "-Infinity"],
)
def test_json_constants_nan_and_infinity_are_read_as_decimals(text):
    # GIVEN Python's JSON extensions NaN / Infinity as values (validation rejects them as not_finite)
    records = parse(f'[{{"energy_generated_kwh": {text}}}]')

    value = records[0].value["energy_generated_kwh"]
    assert isinstance(value, Decimal)
    assert not value.is_finite()


def test_json_numbers_keep_their_exact_text_as_decimal():
    records = parse('{"a": 0.1, "b": 1e-7, "c": 123456789012345678901234567890123456789, "d": -0, "e": 1.10}')

    assert records[0].value == {
        "a": Decimal("0.1"),
        "b": Decimal("1E-7"),
        "c": Decimal("123456789012345678901234567890123456789"),
        "d": Decimal("-0"),
        "e": Decimal("1.10"),
    }
    assert str(records[0].value["e"]) == "1.10"  # not via float: trailing zero kept


# --- JSON Lines ---------------------------------------------------------------------------------------


def test_json_lines_give_one_record_per_line_numbered_by_line():
    records = parse(f"{ONE}\n{TWO}\n", "raw/x.jsonl")

    assert [(r.position, r.original) for r in records] == [(1, ONE), (2, TWO)]
    assert records[1].value["site_id"] == "S2"


def test_json_lines_skip_blank_lines_but_keep_line_numbers():
    # GIVEN a blank line and a whitespace-only line between two readings
    records = parse(f"{ONE}\n\n   \n{TWO}\n", "raw/x.jsonl")

    # THEN only two records, the second at physical line 4
    assert [(r.position, r.original) for r in records] == [(1, ONE), (4, TWO)]


def test_json_lines_broken_line_becomes_not_json_record_and_the_rest_is_kept():
    # GIVEN a broken line between two good ones
    broken = '{"site_id": "S9", "timestamp": '
    records = parse(f"{ONE}\n{broken}\n{TWO}\n", "raw/x.jsonl")

    # THEN three records: the broken one is marked not_json, with its line text and number
    assert [r.position for r in records] == [1, 2, 3]
    assert records[1].value == Unreadable("not_json")
    assert records[1].original == broken
    assert records[0].value["site_id"] == "S1"
    assert records[2].value["site_id"] == "S2"


def test_json_lines_with_crlf_line_endings_keep_text_without_the_line_ending():
    records = parse(f"{ONE}\r\n{TWO}\r\n", "raw/x.jsonl")

    assert [r.original for r in records] == [ONE, TWO]


def test_json_lines_a_line_that_is_json_but_not_an_object_is_a_record():
    records = parse(f"{ONE}\n[1, 2]\n42\n", "raw/x.jsonl")

    assert [(r.position, r.value) for r in records][1:] == [(2, [Decimal(1), Decimal(2)]), (3, Decimal(42))]


@pytest.mark.parametrize("key", ["raw/x.ndjson", "raw/X.JSONL"])
def test_json_lines_suffixes_are_recognised(key):
    # GIVEN a single broken line: as JSON Lines it is a record, as a JSON document the file would be unparseable
    records = parse("not json at all\n", key)

    assert len(records) == 1
    assert records[0].value == Unreadable("not_json")


@pytest.mark.parametrize("key", ["raw/x.json", "raw/x", "raw/x.txt"])
def test_json_lines_content_without_jsonl_suffix_is_recognised(key):
    # GIVEN two objects on two lines under a name that does not say JSON Lines
    records = parse(f"{ONE}\n{TWO}\n", key)

    assert [(r.position, r.original) for r in records] == [(1, ONE), (2, TWO)]


def test_json_lines_content_without_suffix_keeps_a_broken_line_that_starts_like_an_object():
    records = parse(f'{ONE}\n{{"site_id": \n{TWO}\n', "raw/x.json")

    assert [r.position for r in records] == [1, 2, 3]
    assert records[1].value == Unreadable("not_json")


@pytest.mark.parametrize("key", ["raw/x.jsonl", "raw/x.json"])
def test_json_lines_line_separator_inside_a_string_does_not_split_the_record(key):
    # GIVEN a JSON Lines record whose string value holds U+2028 (valid unescaped inside a JSON string)
    first = ONE[:-1] + ', "note": "a\u2028b"}'
    records = parse(f"{first}\n{TWO}\n", key)

    # THEN it is still one record at line 1 and the next is at line 2
    # (str.splitlines() also splits on U+2028, U+2029, \x0b, \x0c, \x1c-\x1e, \x85)
    assert [(r.position, r.original) for r in records] == [(1, first), (2, TWO)]
    assert records[0].value["note"] == "a\u2028b"


# --- CSV -----------------------------------------------------------------------------------------------


def test_csv_with_header_gives_dicts_of_strings_numbered_by_line():
    text = f"{CSV_HEADER}\nS1,2025-06-11T12:00:00Z,1.5,2\nS2,2025-06-11T12:05:00Z,3,0.25\n"

    records = parse(text, "raw/x.csv")

    assert summary(records) == [
        (
            2,
            {
                "site_id": "S1",
                "timestamp": "2025-06-11T12:00:00Z",
                "energy_generated_kwh": "1.5",
                "energy_consumed_kwh": "2",
            },
            "S1,2025-06-11T12:00:00Z,1.5,2",
        ),
        (
            3,
            {
                "site_id": "S2",
                "timestamp": "2025-06-11T12:05:00Z",
                "energy_generated_kwh": "3",
                "energy_consumed_kwh": "0.25",
            },
            "S2,2025-06-11T12:05:00Z,3,0.25",
        ),
    ]


def test_csv_quoted_fields_with_commas_quotes_and_newlines():
    # GIVEN quoted values: one with a comma, one with an escaped quote, one spanning two lines
    text = f'{CSV_HEADER},note\n"S1","2025-06-11T12:00:00Z","1,5","2","say ""hi"""\nS2,t,1,2,"two\nlines"\nS3,t,1,2,x\n'

    records = parse(text, "raw/x.csv")

    assert [r.position for r in records] == [2, 3, 5]
    assert records[0].value["energy_generated_kwh"] == "1,5"
    assert records[0].value["note"] == 'say "hi"'
    assert records[0].original == '"S1","2025-06-11T12:00:00Z","1,5","2","say ""hi"""'
    assert records[1].value["note"] == "two\nlines"
    assert records[1].original == 'S2,t,1,2,"two\nlines"'
    assert records[2].original == "S3,t,1,2,x"


def test_csv_crlf_line_endings():
    text = f"{CSV_HEADER}\r\nS1,2025-06-11T12:00:00Z,1.5,2\r\nS2,2025-06-11T12:05:00Z,3,4\r\n"

    records = parse(text, "raw/x.csv")

    assert [(r.position, r.original) for r in records] == [
        (2, "S1,2025-06-11T12:00:00Z,1.5,2"),
        (3, "S2,2025-06-11T12:05:00Z,3,4"),
    ]
    assert records[1].value["energy_consumed_kwh"] == "4"  # no stray "\r"


def test_csv_row_shorter_than_header_has_none_for_missing_columns():
    records = parse(f"{CSV_HEADER}\nS1,2025-06-11T12:00:00Z,1.5\n", "raw/x.csv")

    assert records[0].value == {
        "site_id": "S1",
        "timestamp": "2025-06-11T12:00:00Z",
        "energy_generated_kwh": "1.5",
        "energy_consumed_kwh": None,
    }


def test_csv_header_missing_a_column_leaves_the_field_out():
    records = parse("site_id,timestamp,energy_generated_kwh\nS1,2025-06-11T12:00:00Z,1.5\n", "raw/x.csv")

    assert "energy_consumed_kwh" not in records[0].value
    assert records[0].value["energy_generated_kwh"] == "1.5"


def test_csv_extra_columns_in_header_and_rows_are_kept_or_ignored():
    # GIVEN an extra named column, and a row with one more value than the header names
    text = f"{CSV_HEADER},capacity_kw\nS1,2025-06-11T12:00:00Z,1.5,2,400,surplus\n"

    records = parse(text, "raw/x.csv")

    assert records[0].value == {
        "site_id": "S1",
        "timestamp": "2025-06-11T12:00:00Z",
        "energy_generated_kwh": "1.5",
        "energy_consumed_kwh": "2",
        "capacity_kw": "400",
    }
    assert records[0].original == "S1,2025-06-11T12:00:00Z,1.5,2,400,surplus"


def test_csv_header_names_are_stripped_and_blank_rows_skipped():
    text = " site_id , timestamp ,energy_generated_kwh,energy_consumed_kwh\n\nS1,t,1,2\n\n"

    records = parse(text, "raw/x.csv")

    assert [(r.position, sorted(r.value)) for r in records] == [(3, sorted(FIELDS))]


def test_csv_line_separator_inside_a_quoted_field_keeps_line_numbers_right():
    # GIVEN a quoted value holding U+2028 on line 2, and a plain row on line 3
    text = f'{CSV_HEADER},note\nS1,t,1,2,"a\u2028b"\nS2,t,1,2,x\n'

    records = parse(text, "raw/x.csv")

    assert [(r.position, r.original) for r in records] == [(2, 'S1,t,1,2,"a\u2028b"'), (3, "S2,t,1,2,x")]


def test_csv_with_header_only_gives_no_records():
    assert parse(f"{CSV_HEADER}\n", "raw/x.csv") == []


def test_csv_suffix_is_case_insensitive():
    records = parse(f"{CSV_HEADER}\nS1,t,1,2\n", "raw/READINGS.CSV")

    assert records[0].value["site_id"] == "S1"


# --- encodings, gzip --------------------------------------------------------------------------------

SHAPES = {
    "array": ("raw/f.json", f"[{ONE},\n{TWO}]", [ONE, TWO]),
    "object": ("raw/f.json", ONE, [ONE]),
    "records": ("raw/f.json", f'{{"records": [{ONE}, {TWO}]}}', [ONE, TWO]),
    "lines": ("raw/f.jsonl", f"{ONE}\n{TWO}\n", [ONE, TWO]),
    "csv": ("raw/f.csv", f"{CSV_HEADER}\nS1,t,1,2\nS2,t,3,4\n", ["S1,t,1,2", "S2,t,3,4"]),
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("with_suffix", [True, False], ids=["gz-suffix", "no-gz-suffix"])
def test_gzip_of_every_shape_is_recognised_by_its_magic_bytes(shape, with_suffix):
    # GIVEN the shape compressed with gzip, named with or without ".gz"
    key, text, originals = SHAPES[shape]
    body = gzip.compress(text.encode())
    assert body[:2] == b"\x1f\x8b"

    records = parse_body(body, key + ".gz" if with_suffix else key)

    # THEN the records are the same as for the plain file
    assert [r.original for r in records] == originals
    assert summary(records) == summary(parse(text, key))


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_utf8_byte_order_mark_is_tolerated(shape):
    key, text, originals = SHAPES[shape]

    records = parse_body(b"\xef\xbb\xbf" + text.encode(), key)

    assert [r.original for r in records] == originals
    # the CSV header's first name must not carry the BOM
    assert all("\ufeff" not in str(r.value) for r in records)


def test_gzip_with_byte_order_mark_inside():
    key, text, originals = SHAPES["csv"]

    records = parse_body(gzip.compress(b"\xef\xbb\xbf" + text.encode()), key + ".gz")

    assert [r.original for r in records] == originals
    assert records[0].value["site_id"] == "S1"


def test_non_ascii_utf8_text_is_kept():
    text = '[{"site_id": "S1", "note": "Zürich ☀"}]'

    records = parse(text)

    assert records[0].original == '{"site_id": "S1", "note": "Zürich ☀"}'


# --- files that cannot be parsed at all ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "key", "message"),
    [
        (ONE.encode(), "raw/f.json.gz", "not gzip"),
        (b"\x1f\x8b\x08\x00garbage", "raw/f.json", "gzip"),
        (gzip.compress(ONE.encode())[:-10], "raw/f.json.gz", "gzip"),
        ('[{"note": "caf\xe9"}]'.encode("latin-1"), "raw/f.json", "UTF-8"),
        (b"\xff\xfe[\x00]\x00", "raw/f.json", "UTF-8"),
        (b"", "raw/f.json", "empty"),
        (b"   \n\t\r\n", "raw/f.jsonl", "empty"),
        (gzip.compress(b""), "raw/f.json.gz", "empty"),
        (b"\xef\xbb\xbf", "raw/f.csv", "empty"),
    ],
    ids=[
        "gz-suffix-not-gzip",
        "corrupt-gzip",
        "truncated-gzip",
        "latin-1",
        "utf-16",
        "empty",
        "whitespace-only",
        "empty-gzip",
        "bom-only",
    ],
)
def test_unreadable_files_raise_unparseable_file(body, key, message):
    with pytest.raises(UnparseableFile, match=message):
        parse_body(body, key)


@pytest.mark.parametrize(
    "text",
    [
        f"[{ONE}, {TWO}",  # truncated array
        f"[{ONE}, {TWO[:40]}",  # truncated inside an element
        ONE[:50],  # truncated object
        f'{{"records": [{ONE}, ',  # truncated wrapper
        f"[{ONE},]",  # trailing comma
        f"[{ONE}] [{TWO}]",  # two documents
        f"[\n{ONE},\n{TWO}\n",  # truncated array, one element per line
    ],
    ids=["array", "element", "object", "records", "trailing-comma", "extra-data", "multiline-array"],
)
def test_truncated_or_malformed_json_is_unparseable(text):
    with pytest.raises(UnparseableFile, match="JSON"):
        parse(text)


@pytest.mark.parametrize("text", ["42", '"a string"', "null", "true", "-1.5"])
def test_json_scalar_document_is_unparseable(text):
    with pytest.raises(UnparseableFile, match="array or an object"):
        parse(text)


def test_plain_text_under_a_json_name_is_unparseable():
    with pytest.raises(UnparseableFile):
        parse("site_id timestamp\nS1 now\n")


# --- fields named twice ------------------------------------------------------------------------------


def test_an_object_naming_a_field_twice_is_marked_with_the_names_and_keeps_the_last_values():
    [record] = parse('[{"a": 1, "b": 2, "a": 3, "b": 4, "b": 5, "c": {"d": 1, "d": 2}}]')

    assert isinstance(record.value, RepeatedFields)
    assert record.value.repeated == ("a", "b")
    assert record.value == {"a": Decimal(3), "b": Decimal(5), "c": {"d": Decimal(2)}}
    assert record.value["c"].repeated == ("d",)  # nested objects are marked too; validation looks at the top


def test_an_object_with_distinct_fields_is_a_plain_dict():
    assert type(parse(ONE)[0].value) is dict


@pytest.mark.parametrize(
    "text",
    [f'{{"records": [{ONE}], "records": [{TWO}]}}', f'{{"records": 1, "records": [{TWO}]}}'],
)
def test_a_second_records_member_is_a_duplicate_field(text):
    with pytest.raises(UnparseableFile, match="duplicate_field: the object has a second 'records' member"):
        parse(text)


@pytest.mark.parametrize("header", ["site_id,site_id", "site_id, site_id ,timestamp", "a,b,,,a"])
def test_a_csv_header_naming_a_column_twice_is_a_duplicate_field(header):
    with pytest.raises(UnparseableFile, match="duplicate_field: the CSV header names .* twice"):
        parse(f"{header}\n1,2,3\n", "raw/f.csv")


def test_csv_unnamed_columns_may_repeat_and_are_ignored():
    [record] = parse("site_id,,timestamp,\nS1,x,t,y\n", "raw/f.csv")

    assert record.value == {"site_id": "S1", "timestamp": "t"}


def test_csv_header_is_the_first_row_that_names_a_column():
    records = parse(f"\n,,\n{CSV_HEADER}\nS1,t,1,2\n", "raw/f.csv")

    assert [(r.position, r.value["site_id"]) for r in records] == [(4, "S1")]


def test_csv_whose_rows_name_no_column_has_no_header():
    with pytest.raises(UnparseableFile, match="not_csv: CSV without a header"):
        parse(",,\n , \n", "raw/f.csv")
