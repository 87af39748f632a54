"""Every hostile input of issue 10 through the real lambda/handler.py on the local stack (moto): each file's
outcome (processed with which readings quarantined for which reason, or rejected whole with which reason), the
ledger's counts (read = stored + quarantined, also for a file rejected part way: what was read before the
problem is counted and stays stored), and rollups that equal the stored readings. The limits reach the function
as ENERGY_* variables, as on AWS."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from energy_lib import query, raw_objects
from energy_lib.clients import client
from energy_lib.config import Settings
from energy_lib.workbook.aws import ops
from tests.conftest import fresh_stack
from tests.integration.harness import Pipeline, assert_rollups_exact, put

pytestmark = pytest.mark.stack

LIMIT_BYTES = 4 * 2**20  # ENERGY_MAX_DECOMPRESSED_BYTES of this stack: the bomb stops at 4 MiB, not 512


def reading(site: str, second: int = 0, generated: str = "1.5", consumed: str = "0.5") -> str:
    return (
        f'{{"site_id": "{site}", "timestamp": "2025-06-11T12:00:{second:02d}Z", '
        f'"energy_generated_kwh": {generated}, "energy_consumed_kwh": {consumed}}}'
    )


BOMB_LINE = (reading("BOMB") + "\n").encode()
BOMB_READ = LIMIT_BYTES // len(BOMB_LINE)  # whole lines within the limit
TWICE = (
    '{"site_id": "TWICE", "timestamp": 1749643230, "energy_generated_kwh": 1, "energy_generated_kwh": 2, '
    '"energy_consumed_kwh": 1}'
)

# name: (body, status, read, stored, {position: reasons} quarantined, the file's reason when rejected)
FILES: dict[str, tuple[bytes, str, int, int, dict[int, list[str]], str]] = {
    "huge-next-to-tiny.jsonl": (
        "\n".join(
            [reading("HUGE", 0, "1e35"), reading("HUGE", 1, "0.001"), reading("HUGE", 2, "0.000000001")]
        ).encode(),
        "processed",
        3,
        2,
        {1: ["out_of_range:energy_generated_kwh"]},
        "",
    ),
    "deep-line.jsonl": (
        "\n".join([reading("DEEP", 0), '{"a": ' * 100_000 + "1" + "}" * 100_000, reading("DEEP", 1)]).encode(),
        "processed",
        3,
        2,
        {2: ["too_deep"]},
        "",
    ),
    "deep-array.json": (
        f"[{reading('NEST')}, {'[' * 100_000}{']' * 100_000}]".encode(),
        "rejected",
        1,
        1,
        {},
        "too_deep",
    ),
    "field-twice.json": (
        f"[{reading('TWICE', 0)}, {TWICE}, {reading('TWICE', 1)}]".encode(),
        "processed",
        3,
        2,
        {2: ["duplicate_field:energy_generated_kwh"]},
        "",
    ),
    "records-twice.json": (
        f'{{"records": [{reading("RECS", 1)}], "records": [{reading("RECS", 2)}]}}'.encode(),
        "rejected",
        1,
        1,
        {},
        "duplicate_field",
    ),
    "column-twice.csv": (
        b"site_id,timestamp,energy_generated_kwh,energy_consumed_kwh,site_id\nCOL,2025-06-11T12:00:00Z,1,2,X\n",
        "rejected",
        0,
        0,
        {},
        "duplicate_field",
    ),
    "extra-columns.csv": (
        b"site_id,timestamp,energy_generated_kwh,energy_consumed_kwh,capacity_kw,,\n"
        b"EXTRA,2025-06-11T12:00:00Z,1,2,400,x,y,surplus\n",
        "processed",
        1,
        1,
        {},
        "",
    ),
    "bomb.jsonl.gz": (
        gzip.compress(BOMB_LINE * (2**20 // len(BOMB_LINE)), 9) * 1_100,  # 4 MB that expand to 1.1 GB
        "rejected",
        BOMB_READ,
        1,
        {position: ["duplicate_in_file"] for position in range(2, BOMB_READ + 1)},
        "too_large",
    ),
    "long-line.jsonl": (
        (reading("LONG") + "\n" + '{"note": "' + "x" * (2 * 2**20) + '"}\n').encode(),
        "rejected",
        1,
        1,
        {},
        "record_too_large",
    ),
    "huge-digits.json": (
        f"[{reading('DIGITS', 0, '1' * 60_000)}, {reading('DIGITS', 1)}]".encode(),
        "processed",
        2,
        1,
        {1: ["out_of_range:energy_generated_kwh"]},
        "",
    ),
    "not-gzip.json.gz": (reading("PLAIN").encode(), "rejected", 0, 0, {}, "not_gzip"),
}


@pytest.fixture
def limited(moto_port: int, tmp_path: Path) -> Settings:
    return fresh_stack(moto_port, tmp_path, max_decompressed_bytes=LIMIT_BYTES)


def test_every_hostile_file_has_its_outcome_through_the_handler(limited: Settings) -> None:
    settings = limited
    pipeline = Pipeline(settings)
    # GIVEN every hostile file uploaded under raw/
    for name, (body, *_) in FILES.items():
        put(settings, f"raw/2025/06/11/{name}", body)
    # WHEN the local runtime hands the notifications to lambda/handler.py and the stream to the aggregator
    pipeline.drain()
    # THEN every file has its outcome, its counts, its quarantined readings and reasons
    dynamodb, s3 = client("dynamodb", settings), client("s3", settings)
    rows = {row["key"].rsplit("/", 1)[-1]: row for row in raw_objects.ingest_status(settings, s3, dynamodb)}
    quarantine = ops.quarantine(settings)
    for name, (_, status, read, stored, quarantined, reason) in FILES.items():
        row, key = rows[name], f"raw/2025/06/11/{name}"
        counts = (row["status"], row["read"], row["stored"], row["quarantined"])
        assert counts == (status, read, stored, len(quarantined)), name
        assert row["read"] == row["stored"] + row["quarantined"], name
        lines = {
            line["position"]: line["reasons"]
            for q in quarantine
            if q["key"].startswith(f"{settings.quarantine_prefix}readings/{key}.")
            for line in ops.quarantined_readings(settings, q["key"])
        }
        assert lines == quarantined, name
        copy = f"{settings.quarantine_prefix}files/{key}"
        if reason:
            assert row["error"].startswith(f"{reason}: "), (name, row["error"])
            document = json.loads(s3.get_object(Bucket=settings.bucket, Key=f"{copy}.reason.json")["Body"].read())
            assert document["reason"] == row["error"]
            assert s3.head_object(Bucket=settings.bucket, Key=copy)["ContentLength"] == len(FILES[name][0])
        else:
            assert not any(q["key"].startswith(copy) for q in quarantine), name
    # AND the readings stored are exact, and every rollup equals them (the 1e35 reading never reached a sum)
    tiny = query.readings(settings, dynamodb, "HUGE")
    assert [str(r["energy_generated_kwh"]) for r in tiny] == ["0.001", "1E-9"]
    assert assert_rollups_exact(settings) > 0
    assert ops.queue_depth(settings, settings.dead_letter_queue) == 0
