"""energy_lib.seen_readings: a file's readings by (site, second), across chunks and across a resume in
another process (the database file copied at a checkpoint, as the pipeline keeps it)."""

from __future__ import annotations

import io
import shutil
from datetime import datetime, timedelta, timezone
from itertools import islice
from pathlib import Path

from energy_lib.config import Settings
from energy_lib.parsing import Record, ResumePoint, read_records
from energy_lib.readings import Reject
from energy_lib.seen_readings import SeenReadings
from energy_lib.validation import validate_records

NOON = datetime(2025, 6, 11, 12, tzinfo=timezone.utc)


def test_first_gives_the_position_of_the_first_record_of_a_site_and_second():
    with SeenReadings() as seen:
        assert seen.first("A", NOON, 1) == 1
        assert seen.first("B", NOON, 2) == 2
        assert seen.first("A", NOON + timedelta(seconds=1), 3) == 3
        assert seen.first("A", NOON, 4) == 1
        assert seen.first("A", NOON, 1) == 1  # the first record again (read again after a resume)
        assert seen.first("a", NOON, 5) == 5


def test_a_saved_database_answers_the_same_in_another_connection(tmp_path: Path):
    path = tmp_path / "seen.sqlite3"
    seen = SeenReadings(path)
    seen.first("A", NOON, 1)
    seen.first("B", NOON, 2)
    seen.save()
    shutil.copy(path, tmp_path / "copy.sqlite3")  # what the checkpoint uploads
    seen.first("C", NOON, 3)  # after the save: not in the copy
    seen.close()

    with SeenReadings(tmp_path / "copy.sqlite3") as restored:
        assert restored.first("A", NOON, 7) == 1
        assert restored.first("B", NOON, 2) == 2
        assert restored.first("C", NOON, 3) == 3


def lines(count: int) -> bytes:
    """JSON Lines of ``count`` readings of 7 sites in a cycle, every 5th a repeat of an earlier reading."""
    out = []
    for number in range(count):
        site, second = (f"S{number % 7}", number // 7) if number % 5 else ("S1", number // 35)
        out.append(
            f'{{"site_id": "{site}", "timestamp": {1749643200 + second}, '
            f'"energy_generated_kwh": {number}, "energy_consumed_kwh": 1}}'
        )
    return ("\n".join(out) + "\n").encode()


def outcomes(records: list[Record], seen: SeenReadings, chunk: int) -> list[tuple[int, object]]:
    """(position, stored or the reject reasons) of every record, validated ``chunk`` at a time."""
    result: list[tuple[int, object]] = []
    iterator = iter(records)
    while batch := list(islice(iterator, chunk)):
        parsed = validate_records(batch, seen)
        result += [(r.position, "stored") for r in parsed.readings]
        result += [(r.position, r.reasons) for r in parsed.rejects]
    return sorted(result)


def read(body: bytes, point: ResumePoint | None = None) -> list[Record]:
    return list(read_records(io.BytesIO(body[point.source_offset if point else 0 :]), "raw/f.jsonl", Settings(), point))


def test_chunks_sharing_one_seen_readings_find_what_one_pass_finds():
    body = lines(500)
    whole = validate_records(read(body))
    expected = sorted(
        [(r.position, "stored") for r in whole.readings] + [(r.position, r.reasons) for r in whole.rejects]
    )
    assert sum(1 for r in whole.rejects if r.reasons == ("duplicate_in_file",)) > 50

    for chunk in (1, 7, 100):
        with SeenReadings() as seen:
            assert outcomes(read(body), seen, chunk) == expected


def test_a_resume_in_another_process_finds_duplicates_of_readings_before_the_checkpoint(tmp_path: Path):
    # GIVEN a file whose duplicates fall on both sides of a checkpoint at record 200
    body = lines(500)
    records = read(body)
    with SeenReadings() as seen:
        expected = outcomes(records, seen, 50)

    # WHEN a first process validates up to the checkpoint, saves and copies its database (the checkpoint),
    # goes on past it and dies; a second one restores the copy and resumes from the checkpoint's point
    first = SeenReadings(tmp_path / "first.sqlite3")
    before = outcomes(records[:200], first, 50)
    first.save()
    shutil.copy(tmp_path / "first.sqlite3", tmp_path / "checkpoint.sqlite3")
    outcomes(records[200:260], first, 50)  # lost with the process
    first.save()
    shutil.copy(tmp_path / "first.sqlite3", tmp_path / "later.sqlite3")  # a copy saved after the checkpoint
    first.close()
    for saved in ("checkpoint.sqlite3", "later.sqlite3"):
        with SeenReadings(tmp_path / saved) as second:
            after = outcomes(read(body, records[199].resume), second, 50)

        # THEN together they give exactly the outcome of one pass (a later copy changes nothing either)
        assert before + after == expected, saved
    assert ("duplicate_in_file",) in dict(after).values()


def test_a_reading_rejected_for_another_reason_does_not_claim_its_site_and_second():
    body = (
        b'[{"site_id": "S1", "timestamp": 1749643200, "energy_generated_kwh": "x", "energy_consumed_kwh": 1},'
        b' {"site_id": "S1", "timestamp": 1749643200, "energy_generated_kwh": 1, "energy_consumed_kwh": 1}]'
    )
    parsed = validate_records(read_records(io.BytesIO(body), "raw/f.json", Settings()))

    assert [r.position for r in parsed.readings] == [2]
    assert parsed.rejects == (Reject(1, parsed.rejects[0].original, ("not_a_number:energy_generated_kwh",)),)
