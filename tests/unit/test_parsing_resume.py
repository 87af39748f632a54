"""energy_lib.parsing resume points: reading stopped after any record and started again from its resume
point (in a new reader, as another process would) gives exactly the records of one uninterrupted pass,
for every shape, plain or gzip, whatever the chunk sizes."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from energy_lib import parsing
from energy_lib.config import Settings
from energy_lib.errors import UnparseableFile
from energy_lib.parsing import BOM, Record, ResumePoint, read_records, source
from tests.conftest import REPO

SETTINGS = Settings()
A = '{"site_id": "S1", "timestamp": "2025-06-11T12:00:00Z", "energy_generated_kwh": 1.5, "energy_consumed_kwh": 2}'
B = '{"site_id": "Zürich", "note": "☀ a\u2028b", "energy_generated_kwh": "3", "energy_consumed_kwh": 0.25}'
C = '{"site_id": "S3", "tags": {"kind": ["pv", {"x": 1}]}, "energy_generated_kwh": -0}'

SHAPES = {
    "array": ("raw/f.json", f"[\n {A},\n\t{B} ,{C}\r\n]\n"),
    "array-of-anything": ("raw/f.json", '[1, "x]", null, [2, [3]], {"a": {"b": "}"}}, -1.5e3, true, {}]'),
    "records": (
        "raw/f.json",
        f'{{"source": {{"records": 1}}, "tags": [1, "]"], "records" : [ {A}, {B},\n{C} ], "n": 2, "x": {{"y": []}}}}',
    ),
    "records-first": ("raw/f.json", f'{{"records":[{A},{B}]}}'),
    "object": ("raw/f.json", f"  {B}  \n"),
    "lines": ("raw/f.ndjson", f"{A}\n\n  \n{{broken\r\n{B}\r\n[1]\r{C}"),
    "lines-by-content": ("raw/f.json", f"\n{A}\n{B}\n{C}\n"),
    "csv": (
        "raw/f.csv",
        "site_id,timestamp,energy_generated_kwh,energy_consumed_kwh,note\r\n"
        'S1,t,1,2,"two\nlines"\r\n\r\nS2,t,3,4,Zürich ☀\rS3,t,5,6,"a,""b"""\nS4,t,7\n',
    ),
}
ENCODINGS = {
    "plain": lambda body: body,
    "bom": lambda body: BOM + body,
    "gzip": gzip.compress,
    "gzip-two-members": lambda body: gzip.compress(body[: len(body) // 2]) + gzip.compress(body[len(body) // 2 :]),
}


@pytest.fixture(params=["default-chunks", "tiny-chunks"])
def chunks(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.param == "tiny-chunks":
        monkeypatch.setattr(parsing.source, "READ_BYTES", 2)
        monkeypatch.setattr(parsing.source, "CHUNK_BYTES", 3)


def read(body: bytes, key: str, point: ResumePoint | None = None) -> Iterator[Record]:
    """Records of ``body`` from ``point``, the stream starting where the point says (a ranged GET)."""
    start = point.source_offset if point else 0
    return read_records(io.BytesIO(body[start:]), key, SETTINGS, point)


def carried(point: ResumePoint) -> ResumePoint:
    """The point as it comes back from a checkpoint: JSON text and back."""
    return ResumePoint.from_dict(json.loads(json.dumps(point.as_dict())))


def one_at_a_time(body: bytes, key: str) -> list[Record]:
    """Every record read by a new reader started from the previous record's resume point."""
    records: list[Record] = []
    point = None
    while (record := next(read(body, key, point), None)) is not None:
        records.append(record)
        point = carried(record.resume)
    return records


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_stopping_after_every_record_and_resuming_gives_the_same_records(shape, encoding, chunks):
    # GIVEN a file of this shape and encoding
    key, text = SHAPES[shape]
    body = ENCODINGS[encoding](text.encode())
    full = list(read(body, key))
    assert len(full) >= 1

    # WHEN a reader stops after each record and a new one resumes from its point
    resumed = one_at_a_time(body, key)

    # THEN the records, their positions, texts, values and resume points are those of one pass
    assert resumed == full


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_resuming_from_any_single_point_reads_the_rest(shape):
    key, text = SHAPES[shape]
    body = gzip.compress(text.encode())
    full = list(read(body, key))

    for number, record in enumerate(full, start=1):
        assert full[:number] + list(read(body, key, carried(record.resume))) == full


def test_resume_points_say_where_each_record_ends():
    # GIVEN a plain JSON Lines file with a multi-byte character and a CRLF line ending
    body = f"{A}\r\n{B}\n".encode()

    first, second = read(body, "raw/f.jsonl")

    # THEN offsets count decompressed bytes (line ending included), the count is the line number
    assert first.resume == ResumePoint("lines", False, len(A) + 2, 1)
    assert second.resume == ResumePoint("lines", False, len(body), 2)
    assert second.resume.source_offset == len(body)
    # and a gzip point asks for the stream from its start
    gz_first = next(read(gzip.compress(body), "raw/f.jsonl.gz"))
    assert (gz_first.resume.offset, gz_first.resume.source_offset) == (len(A) + 2, 0)


def test_csv_resume_point_carries_the_header():
    body = b"site_id,timestamp\nS1,t\nS2,u\n"

    first = next(read(body, "raw/f.csv"))

    assert first.resume.as_dict() == {
        "shape": "csv",
        "gzip": False,
        "offset": len("site_id,timestamp\nS1,t\n"),
        "count": 2,
        "header": ["site_id", "timestamp"],
    }
    assert [r.value for r in read(body, "raw/f.csv", carried(first.resume))] == [{"site_id": "S2", "timestamp": "u"}]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (f'{{"records": [{A}, {B}], "records": []}}', "duplicate_field"),
        (f"[{A}, {B}, ", "not_json"),
        (f"[{A}, {B}] extra", "not_json"),
    ],
)
def test_a_problem_after_the_last_record_is_found_after_resuming_too(text, reason):
    body = text.encode()
    records = []
    with pytest.raises(UnparseableFile) as whole:
        records.extend(read(body, "raw/f.json"))
    assert len(records) == 2

    with pytest.raises(UnparseableFile) as resumed:
        list(read(body, "raw/f.json", carried(records[-1].resume)))

    assert whole.value.reason == resumed.value.reason == reason


@pytest.mark.parametrize("point", [{"shape": "xml", "gzip": False, "offset": 0, "count": 0}, {"offset": 3}])
def test_a_resume_point_of_the_wrong_form_is_refused(point):
    with pytest.raises(ValueError, match="resume point"):
        ResumePoint.from_dict(point)


def test_a_gzip_object_shorter_than_its_resume_point_is_corrupt():
    point = ResumePoint("lines", True, 10_000, 3)

    with pytest.raises(UnparseableFile, match="corrupt_gzip"):
        list(read(gzip.compress(f"{A}\n".encode()), "raw/f.jsonl.gz", point))


def test_another_process_resumes_from_a_point_it_is_given_as_json(tmp_path):
    # GIVEN a gzip JSON array read up to its second record in this process
    path = tmp_path / "f.json.gz"
    path.write_bytes(gzip.compress(f"[{A}, {B}, {C}]".encode()))
    with path.open("rb") as stream:
        records = read_records(stream, "raw/f.json.gz", SETTINGS)
        first, second = next(records), next(records)

    # WHEN a new interpreter resumes from the second record's point, given as JSON text
    child = (
        "import json, sys; from energy_lib.config import Settings; "
        "from energy_lib.parsing import ResumePoint, read_records; "
        "point = ResumePoint.from_dict(json.loads(sys.argv[2])); "
        "stream = open(sys.argv[1], 'rb'); stream.seek(point.source_offset); "
        "records = read_records(stream, 'raw/f.json.gz', Settings(), point); "
        "print(json.dumps([[r.position, r.original] for r in records]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", child, str(path), json.dumps(second.resume.as_dict())],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )

    # THEN it reads exactly the third record
    assert json.loads(done.stdout) == [[3, C]]
    assert first.position == 1


# --- property: any file of readings, any layout --------------------------------------------------------

SITES = st.sampled_from(["S1", "site-2", "Zürich", "a\u2028b", 'q"uote', "x,y"])
NUMBERS = st.decimals(allow_nan=False, allow_infinity=False, places=3, min_value=-(10**6), max_value=10**6)
READINGS = st.lists(st.tuples(SITES, st.integers(1_700_000_000, 1_800_000_000), NUMBERS, NUMBERS), max_size=12)
GAPS = st.sampled_from(["", " ", "\n", "\r\n", "\t ", "\n\n"])


def reading_json(site: str, epoch: int, generated: Decimal, consumed: Decimal) -> str:
    return json.dumps({"site_id": site, "timestamp": epoch}, ensure_ascii=False)[:-1] + (
        f', "energy_generated_kwh": {generated}, "energy_consumed_kwh": {consumed}}}'
    )


def csv_field(text: str) -> str:
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"\r\n') else text


@st.composite
def files(draw: st.DrawFn) -> tuple[str, bytes, list[str]]:
    """A file of drawn readings in a drawn shape and layout, with the original text of each record."""
    readings = draw(READINGS)
    shape = draw(st.sampled_from(["array", "records", "lines", "csv"]))
    gap, ending = draw(GAPS), draw(st.sampled_from(["\n", "\r\n"]))
    if shape == "csv":
        originals = [",".join([csv_field(site), str(epoch), str(g), str(c)]) for site, epoch, g, c in readings]
        text = ending.join(["site_id,timestamp,energy_generated_kwh,energy_consumed_kwh", *originals]) + ending
        key = "raw/f.csv"
    else:
        originals = [reading_json(*r) for r in readings]
        if shape == "lines":
            text, key = "".join(o + ending for o in originals), "raw/f.jsonl"
        else:
            array = f"[{gap}" + f"{gap},{gap}".join(originals) + f"{gap}]"
            text = array if shape == "array" else f'{{"meta": {{"records": [1]}},{gap}"records":{gap}{array}}}'
            key = "raw/f.json"
    if not readings and shape in ("lines",):
        text = "{}\n"  # an empty JSON Lines file is unparseable; one empty object keeps it a file
        originals = ["{}"]
    body = BOM + text.encode() if draw(st.booleans()) else text.encode()
    return key, gzip.compress(body) if draw(st.booleans()) else body, originals


@settings(max_examples=150, deadline=None)
@given(file=files(), read_bytes=st.integers(1, 40), chunk_bytes=st.integers(1, 40))
def test_any_layout_reads_every_original_and_resumes_anywhere(file, read_bytes, chunk_bytes):
    key, body, originals = file
    saved = source.READ_BYTES, source.CHUNK_BYTES
    source.READ_BYTES, source.CHUNK_BYTES = read_bytes, chunk_bytes
    try:
        full = list(read(body, key))
        resumed = one_at_a_time(body, key)
    finally:
        source.READ_BYTES, source.CHUNK_BYTES = saved

    assert [r.original for r in full] == originals
    assert resumed == full
    if not key.endswith(".csv"):
        assert [r.value for r in full] == [json.loads(o, parse_float=Decimal, parse_int=Decimal) for o in originals]
