"""energy_lib.parsing limits: decompressed size, record length and nesting depth, each a setting; past one
the file is quarantined with its reason (in JSON Lines a line nested too deep is a rejected record
instead), read in bounded memory and time, never a RecursionError or MemoryError."""

from __future__ import annotations

import gzip
import io
import json
import tracemalloc
import zlib
from decimal import Decimal

import pytest

from energy_lib.config import Settings
from energy_lib.errors import UnparseableFile
from energy_lib.parsing import Record, Unreadable, read_records

LIMITS = Settings(max_decompressed_bytes=4096, max_record_bytes=1024, max_depth=4)
A = '{"site_id": "S1", "timestamp": "2025-06-11T12:00:00Z", "energy_generated_kwh": 1.5, "energy_consumed_kwh": 2}'


def read(body: bytes, key: str, settings: Settings = LIMITS) -> list[Record]:
    return list(read_records(io.BytesIO(body), key, settings))


def reason(body: bytes, key: str, settings: Settings = LIMITS) -> str:
    with pytest.raises(UnparseableFile) as caught:
        read(body, key, settings)
    return caught.value.reason


def nested(depth: int, inner: str = "1") -> str:
    return '{"a": ' * depth + inner + "}" * depth


# --- decompressed size ------------------------------------------------------------------------------------


def test_a_file_of_exactly_the_size_limit_is_read():
    body = ((A + "\n") * 30).encode()
    settings = Settings(max_decompressed_bytes=len(body), max_record_bytes=1024)

    assert len(read(body, "raw/f.jsonl", settings)) == 30


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_one_byte_more_than_the_size_limit_is_too_large(compress):
    body = f"[{A}]".encode() + b" " * (4097 - len(A) - 2)
    assert len(body) == 4097

    problem = reason(gzip.compress(body) if compress else body, "raw/f.json")

    assert problem == "too_large"


def test_too_large_names_the_setting():
    with pytest.raises(UnparseableFile, match="too_large: more than 4096 bytes .ENERGY_MAX_DECOMPRESSED_BYTES."):
        read(b"[" + b" " * 5000 + b"]", "raw/f.json")


def test_records_before_the_size_limit_are_read_then_the_file_is_too_large():
    # GIVEN a gzip JSON Lines file of valid readings that expands far past the limit
    body = gzip.compress((A + "\n").encode() * 50_000)
    settings = Settings(max_decompressed_bytes=1_000_000, max_record_bytes=1024)
    records = []

    # WHEN it is read
    with pytest.raises(UnparseableFile, match="too_large"):
        records.extend(read_records(io.BytesIO(body), "raw/f.jsonl.gz", settings))

    # THEN reading stopped at the limit: only the records of the first megabyte came out
    assert 0 < len(records) * (len(A) + 1) <= 1_000_000
    assert [r.position for r in records] == list(range(1, len(records) + 1))


def test_a_gzip_bomb_is_stopped_at_the_limit_in_bounded_memory():
    # GIVEN 64 MiB of whitespace inside an array, gzip-compressed to about 64 KiB
    deflate = zlib.compressobj(9, zlib.DEFLATED, 31)
    body = deflate.compress(b"[") + b"".join(deflate.compress(b" " * 2**20) for _ in range(64))
    body += deflate.compress(b"]") + deflate.flush()
    assert len(body) < 2**17
    settings = Settings(max_decompressed_bytes=16 * 2**20)

    # WHEN it is read, THEN it is too large, found while streaming: Python memory stays a few chunks
    tracemalloc.start()
    try:
        assert reason(body, "raw/bomb.json.gz", settings) == "too_large"
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2 * 2**20


# --- record length ------------------------------------------------------------------------------------


def long_reading(length: int) -> str:
    """A reading whose JSON text is exactly ``length`` bytes."""
    text = '{"site_id": "S1", "note": ""}'
    return text[:-2] + "x" * (length - len(text)) + '"}'


@pytest.mark.parametrize(
    ("key", "body"),
    [
        ("raw/f.jsonl", f"{A}\n{long_reading(1024)}\n"),
        ("raw/f.json", f"[{A}, {long_reading(1024)}]"),
        ("raw/f.json", long_reading(1024)),
        ("raw/f.csv", "site_id,note\nS1," + "x" * 1021 + "\n"),
    ],
    ids=["json-lines", "array-element", "object", "csv-row"],
)
def test_a_record_of_exactly_the_record_limit_is_read(key, body):
    records = read(body.encode(), key)

    assert max(len(r.original.encode()) for r in records) == 1024


@pytest.mark.parametrize(
    ("key", "body"),
    [
        ("raw/f.jsonl", f"{A}\n{long_reading(1025)}\n{A}\n"),
        ("raw/f.jsonl", f"{A}\n{long_reading(1025)}"),  # the last line, without a line ending
        ("raw/f.jsonl", f"{A}\n" + "x" * 10**6),  # a megabyte without a line ending
        ("raw/f.json", f"[{A}, {long_reading(1025)}]"),
        ("raw/f.json", f'[{A}, "' + "x" * 10**6),  # a string that never ends
        ("raw/f.json", f"[{A}, {nested(3, '[' + ', '.join(['1'] * 400) + ']')}]"),  # nested and long
        ("raw/f.json", long_reading(1025)),
        ("raw/f.json", '{"meta": "' + "x" * 2000 + f'", "records": [{A}]}}'),  # before records: may be one reading
        ("raw/f.json", f'{{"records": [{A}], "meta": "' + "x" * 2000 + '"}'),  # after records: one member
        ("raw/f.csv", "site_id,note\nS1," + "x" * 1022 + "\n"),
        ("raw/f.csv", 'site_id,note\nS1,"' + "x\n" * 600 + '"\n'),  # a quoted field over many lines
        ("raw/f.csv", 'site_id,note\nS1,"never closed\n' + "x\n" * 10**5),
    ],
    ids=[
        "json-lines",
        "json-lines-last",
        "json-lines-endless",
        "array-element",
        "endless-string",
        "nested-element",
        "object",
        "member-before-records",
        "member-after-records",
        "csv-row",
        "csv-multiline-row",
        "csv-unclosed-quote",
    ],
)
def test_a_longer_record_quarantines_the_file(key, body):
    assert reason(body.encode(), key, Settings(max_decompressed_bytes=10**7, max_record_bytes=1024)) == (
        "record_too_large"
    )


def test_record_too_large_names_the_setting_and_where():
    with pytest.raises(UnparseableFile, match=r"longer than 1024 bytes \(ENERGY_MAX_RECORD_BYTES\) \(byte 2\)"):
        read(f"[ {long_reading(2000)}]".encode(), "raw/f.json")


# --- nesting depth ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "element",
    [nested(4), '{"a": [[["x"]]]}', f'{{"deep": "{"[" * 100}"}}', '[[["[[[[[["]]]'],
    ids=["objects", "arrays", "brackets-in-a-string", "array-with-brackets-in-a-string"],
)
def test_an_element_as_deep_as_the_limit_is_read(element):
    assert read(f"[{A}, {element}]".encode(), "raw/f.json")[1].value == json.loads(element)


@pytest.mark.parametrize(
    "text",
    [
        f"[{A}, {nested(5)}]",
        f"[{A}, " + "[" * 100_000 + "]" * 100_000 + "]",
        f"[{A}, " + "[" * 100_000,  # and never closed
        nested(5),  # a single object
        f'{{"records": [{A}, {nested(5)}]}}',
        f'{{"meta": {nested(4)}, "records": [{A}]}}',  # a member nested 5 deep counting the object itself
        f'{{"records": [{A}], "meta": ' + "[" * 100_000 + "]" * 100_000 + "}",
    ],
    ids=["element", "100000-deep", "100000-deep-unclosed", "object", "records-element", "member", "member-after"],
)
def test_a_deeper_json_document_quarantines_the_file(text):
    with pytest.raises(UnparseableFile, match=r"too_deep: nested deeper than 4 \(ENERGY_MAX_DEPTH\)"):
        read(text.encode(), "raw/f.json", Settings(max_depth=4))


def test_a_json_lines_line_nested_100000_deep_is_a_rejected_record_and_the_others_are_kept():
    # GIVEN three lines, the middle one nested 100,000 levels (it fits the record limit)
    deep = '{"a": ' * 100_000 + "1" + "}" * 100_000
    body = f"{A}\n{deep}\n{A}\n".encode()

    records = read(body, "raw/f.jsonl", Settings())

    # THEN with the default limits it is a record marked too deep, with its text; the others are read
    assert [r.position for r in records] == [1, 2, 3]
    assert records[1].value == Unreadable("too_deep")
    assert records[1].original == deep
    assert records[0].value == records[2].value == json.loads(A, parse_float=Decimal, parse_int=Decimal)


@pytest.mark.parametrize(
    ("line", "value"),
    [
        (nested(4), json.loads(nested(4))),
        ('{"s": "' + "{[" * 50 + '"}', {"s": "{[" * 50}),  # brackets only inside a string
        ('[1, {"a": [2, {"b": 3}]}]', [1, {"a": [2, {"b": 3}]}]),
    ],
)
def test_json_lines_lines_within_the_depth_are_read(line, value):
    assert read(f"{line}\n".encode(), "raw/f.jsonl")[0].value == value


@pytest.mark.parametrize("line", [nested(5), "[" * 5 + "]" * 5, "[" * 50])
def test_json_lines_lines_past_the_depth_are_too_deep(line):
    records = read(f"{A}\n{line}\n".encode(), "raw/f.jsonl")

    assert records[1].value == Unreadable("too_deep")


def test_depth_one_takes_flat_readings_only():
    settings = Settings(max_depth=1)

    assert read(f"[{A}]".encode(), "raw/f.json", settings)[0].value["site_id"] == "S1"
    assert read(A.encode(), "raw/f.json", settings)[0].value["site_id"] == "S1"
    with pytest.raises(UnparseableFile, match="too_deep"):
        read(b'[{"a": {}}]', "raw/f.json", settings)
    with pytest.raises(UnparseableFile, match="too_deep"):
        read(b'{"site_id": "S1", "a": []}', "raw/f.json", settings)
