"""Every hostile input of issue 10, read and validated as the worker does it (a stream, chunk by chunk,
one SeenReadings for the file): what is stored, what is quarantined with which reason, or which reason
rejects the file; and read = stored + quarantined. The pipeline-level version runs against moto in
tests/integration."""

from __future__ import annotations

import gzip
import io
import time
from dataclasses import dataclass

import pytest

from energy_lib.config import Settings
from energy_lib.errors import UnparseableFile
from energy_lib.parsing import Record, read_records
from energy_lib.seen_readings import SeenReadings
from energy_lib.validation import validate_records
from tests.conftest import SAMPLES, documented_outcomes

CHUNK = 3  # records validated at a time: small, so duplicates also fall across chunks


def reading(site: str = "S1", second: int = 0, generated: str = "1.5", consumed: str = "0.5") -> str:
    return (
        f'{{"site_id": "{site}", "timestamp": "2025-06-11T12:00:{second:02d}Z", '
        f'"energy_generated_kwh": {generated}, "energy_consumed_kwh": {consumed}}}'
    )


@dataclass
class Outcome:
    read: int = 0
    stored: int = 0
    quarantined: dict[int, tuple[str, ...]] | None = None  # position -> reasons
    rejected: str | None = None  # the file's reason, when the file is quarantined whole

    def __post_init__(self) -> None:
        self.quarantined = {}


def outcome(body: bytes, key: str, settings: Settings | None = None) -> Outcome:
    result = Outcome()
    records = read_records(io.BytesIO(body), key, settings or Settings())
    chunk: list[Record] = []
    with SeenReadings() as seen:

        def validate() -> None:
            parsed = validate_records(chunk, seen)
            result.read += parsed.read
            result.stored += len(parsed.readings)
            result.quarantined.update((r.position, r.reasons) for r in parsed.rejects)
            chunk.clear()

        try:
            for record in records:
                chunk.append(record)
                if len(chunk) == CHUNK:
                    validate()
        except UnparseableFile as exc:
            result.rejected = exc.reason
        validate()  # what was read before the end, or before the problem
    assert result.read == result.stored + len(result.quarantined)
    return result


def test_a_reading_of_1e35_next_to_one_of_0_001_is_quarantined_and_the_others_stored():
    # GIVEN valid readings, one of them 1e35 kWh and one 0.001 kWh (their sum needs 39 digits)
    lines = [reading(second=0, generated="1e35"), reading(second=1, generated="0.001"), reading(second=2)]

    result = outcome("\n".join(lines).encode(), "raw/f.jsonl")

    # THEN the 1e35 reading is out of range, and every other reading is stored
    assert (result.read, result.stored, result.quarantined, result.rejected) == (
        3,
        2,
        {1: ("out_of_range:energy_generated_kwh",)},
        None,
    )


def test_a_json_lines_line_nested_100000_deep_is_quarantined_and_the_other_lines_stored():
    deep = '{"a": ' * 100_000 + "1" + "}" * 100_000
    body = "\n".join([reading(second=0), deep, reading(second=1)]).encode()

    result = outcome(body, "raw/f.jsonl")

    assert (result.read, result.stored, result.quarantined) == (3, 2, {2: ("too_deep",)})


def test_a_json_array_nested_100000_deep_rejects_the_file_as_too_deep():
    body = f"[{reading()}, {'[' * 100_000}{']' * 100_000}]".encode()

    result = outcome(body, "raw/f.json")

    assert result.rejected == "too_deep"
    assert result.read == result.stored == 1  # read before the problem was met


@pytest.mark.parametrize(
    ("text", "reasons"),
    [
        (
            '{"site_id": "S1", "site_id": "S2", "timestamp": 1749643200, "energy_generated_kwh": 1, '
            '"energy_consumed_kwh": 1}',
            ("duplicate_field:site_id",),
        ),
        (
            '{"site_id": "S1", "timestamp": 1749643200, "energy_generated_kwh": 1, "energy_generated_kwh": 2, '
            '"energy_consumed_kwh": 1}',
            ("duplicate_field:energy_generated_kwh",),
        ),
        (
            '{"site_id": "S1", "timestamp": 1749643200, "energy_generated_kwh": 1, "energy_consumed_kwh": 1, '
            '"note": "a", "note": "b"}',
            ("duplicate_field:note",),
        ),
    ],
    ids=["site_id", "energy", "another-field"],
)
@pytest.mark.parametrize("shape", ["array", "lines", "object"])
def test_a_reading_naming_a_field_twice_is_quarantined(text, reasons, shape):
    others = [reading(second=30), reading(second=31)]
    body = {
        "array": f"[{others[0]}, {text}, {others[1]}]",
        "lines": f"{others[0]}\n{text}\n{others[1]}\n",
        "object": text,
    }[shape]

    result = outcome(body.encode(), "raw/f.jsonl" if shape == "lines" else "raw/f.json")

    assert result.quarantined == {1 if shape == "object" else 2: reasons}
    assert result.stored == (0 if shape == "object" else 2)


def test_a_field_named_twice_inside_a_nested_object_is_not_a_reading_field():
    text = reading()[:-1] + ', "tags": {"a": 1, "a": 2}}'

    assert outcome(f"[{text}]".encode(), "raw/f.json").stored == 1


@pytest.mark.parametrize(
    "text",
    [
        f'{{"records": [{reading(second=1)}], "records": [{reading(second=2)}]}}',
        f'{{"records": "none", "records": [{reading(second=2)}]}}',
        f'{{"records": [{reading(second=1)}], "source": "x", "records": 5}}',
    ],
    ids=["two-arrays", "scalar-then-array", "array-then-scalar"],
)
def test_a_second_records_member_rejects_the_file_as_duplicate_field(text):
    assert outcome(text.encode(), "raw/f.json").rejected == "duplicate_field"


@pytest.mark.parametrize(
    "header",
    [
        "site_id,timestamp,energy_generated_kwh,energy_consumed_kwh,site_id",
        "site_id,timestamp,energy_generated_kwh, energy_consumed_kwh ,energy_consumed_kwh",
        "note,site_id,timestamp,energy_generated_kwh,energy_consumed_kwh,note",
    ],
)
def test_a_csv_column_named_twice_rejects_the_file_as_duplicate_field(header):
    body = f"{header}\nS1,2025-06-11T12:00:00Z,1,2,S2\n".encode()

    result = outcome(body, "raw/f.csv")

    assert (result.rejected, result.read) == ("duplicate_field", 0)


def test_extra_and_unnamed_csv_columns_are_ignored():
    body = (
        b"site_id,timestamp,energy_generated_kwh,energy_consumed_kwh,capacity_kw,,\n"
        b"S1,2025-06-11T12:00:00Z,1,2,400,x,y,surplus\n"
    )

    assert (outcome(body, "raw/f.csv").stored, outcome(body, "raw/f.csv").quarantined) == (1, {})


def test_a_gzip_of_1_mb_that_expands_to_1_gb_is_stopped_at_the_limit():
    # GIVEN a 1.1 GB JSON Lines file of one reading repeated: 1,100 gzip members of 1 MiB each, 4 MB in all
    line = (reading() + "\n").encode()
    body = gzip.compress(line * (2**20 // len(line)), 9) * 1_100
    assert len(body) < 5 * 2**20
    settings = Settings(max_decompressed_bytes=4 * 2**20)

    # WHEN it is read with a 4 MiB limit
    started = time.process_time()
    result = outcome(body, "raw/bomb.jsonl.gz", settings)

    # THEN it is too large; what came before the limit was read (the same reading: stored once)
    assert result.rejected == "too_large"
    assert result.stored == 1
    assert 0 < result.read <= 4 * 2**20 // len(line)
    assert time.process_time() - started < 60  # a loose bound: the 1.1 GB were never inflated


@pytest.mark.parametrize(
    ("body", "key", "rejected"),
    [
        (b"\x1f\x8b\x08\x00garbage", "raw/f.json", "corrupt_gzip"),
        (gzip.compress(reading().encode(), mtime=0)[:-10], "raw/f.json.gz", "corrupt_gzip"),
        (gzip.compress(reading().encode(), mtime=0) + b"trailing", "raw/f.json.gz", "corrupt_gzip"),
        (reading().encode(), "raw/f.json.gz", "not_gzip"),
        (b'[{"note": "caf\xe9"}]', "raw/f.json", "not_utf8"),
        (b"\xff\xfe[\x00]\x00", "raw/f.json", "not_utf8"),
        (b"[1, 2]\x00", "raw/f.json", "not_json"),
        (b"", "raw/f.json", "empty"),
        (b"\xef\xbb\xbf \n", "raw/f.csv", "empty"),
        (b",,\n ,\n", "raw/f.csv", "not_csv"),
        (b"42", "raw/f.json", "not_json"),
    ],
)
def test_unreadable_files_are_rejected_with_their_reason(body, key, rejected):
    assert outcome(body, key).rejected == rejected


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("1" * 60_000, "out_of_range:energy_generated_kwh"),
        ("1e999999999", "out_of_range:energy_generated_kwh"),
        ('"' + "9" * 60_000 + '"', "out_of_range:energy_generated_kwh"),
    ],
)
def test_huge_numbers_are_quarantined_quickly(value, reason):
    started = time.process_time()

    result = outcome(f"[{reading(generated=value)}]".encode(), "raw/f.json")

    assert result.quarantined == {1: (reason,)}
    assert time.process_time() - started < 1


@pytest.mark.parametrize("value", ["1e-999999999", "0." + "3" * 60_000, '"-0.' + "9" * 60_000 + '"'])
def test_numbers_with_huge_fractions_are_rounded_quickly(value):
    started = time.process_time()

    result = outcome(f"[{reading(generated=value)}]".encode(), "raw/f.json")

    assert (result.stored, result.quarantined) == (1, {})
    assert time.process_time() - started < 1


def test_a_duplicate_reading_in_a_later_chunk_is_quarantined():
    lines = [reading(site="A", second=s) for s in range(10)] + [reading(site="A", second=3, generated="9")]

    result = outcome("\n".join(lines).encode(), "raw/f.jsonl")

    assert (result.stored, result.quarantined) == (10, {11: ("duplicate_in_file",)})


def test_the_samples_keep_their_documented_outcome_when_streamed():
    for name, (read, stored, quarantined, _) in documented_outcomes().items():
        result = outcome((SAMPLES / name).read_bytes(), f"raw/{name}")
        assert (result.read, result.stored, len(result.quarantined)) == (read, stored, quarantined), name


def test_values_are_stored_exactly_as_sent():
    body = f"[{reading(generated='0.001')}]".encode()

    [stored] = validate_records(read_records(io.BytesIO(body), "raw/f.json", Settings())).readings

    assert (str(stored.energy_generated_kwh), str(stored.net_energy_kwh)) == ("0.001", "-0.499")
