"""The simulation as files under raw/: shapes, keys, upload and the continuous producer."""

from __future__ import annotations

import io
import json
import math
import os
import re
import signal
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from energy_lib.config import Settings
from energy_lib.parsing import read_records
from energy_lib.validation import validate_records
from energy_lib.workbook.simulator import (
    FIELDS,
    FORMATS,
    default_fleet,
    run_continuous,
    simulate,
    to_files,
    upload,
)
from tests.unit.workbook.simulator.conftest import (
    BUCKET,
    PHOENIX,
    SITE_ID,
    START,
    TIMESTAMP,
    FakeClock,
    parse_body,
    stored_readings,
)

# --- repeatability


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_the_same_seed_gives_the_same_keys_and_bytes_and_another_seed_does_not(fmt):
    fleet = default_fleet(3)

    # WHEN the same run is made twice, and once with another seed
    first = to_files(simulate(fleet, START, 6, seed=7), fmt=fmt)
    again = to_files(simulate(fleet, START, 6, seed=7), fmt=fmt)
    other = to_files(simulate(fleet, START, 6, seed=8), fmt=fmt)

    # THEN the repeat is identical to the byte; the other seed changes the bodies
    assert [(f.key, f.body) for f in first] == [(f.key, f.body) for f in again]
    assert len(first) == len(other)
    assert all(a.body != b.body for a, b in zip(first, other, strict=True))
    if fmt == "json.gz":
        assert all(file.body[4:8] == bytes(4) for file in first)  # gzip header mtime 0: no clock in the bytes


def test_consecutive_periods_share_the_weather_of_a_day_but_not_the_noise():
    # GIVEN one day simulated whole and as two halves
    whole = simulate([PHOENIX], START, 24, anomaly_rate=0)
    first = simulate([PHOENIX], START, 12, anomaly_rate=0)
    second = simulate([PHOENIX], START + timedelta(hours=12), 12, anomaly_rate=0)
    halves = first.readings + second.readings

    # THEN timestamps line up and daily totals stay close (same cloudiness), yet values are not copies
    assert [r["timestamp"] for r in halves] == [r["timestamp"] for r in whole.readings]
    total_whole = sum(r["energy_generated_kwh"] for r in whole.readings)
    total_halves = sum(r["energy_generated_kwh"] for r in halves)
    assert total_halves == pytest.approx(total_whole, rel=0.02)
    assert halves != whole.readings


# --- files


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_each_format_parses_back_to_the_simulated_readings(fmt):
    simulation = simulate(default_fleet(2), START, 3, anomaly_rate=0.2)

    files = to_files(simulation, fmt=fmt)
    parsed = [reading for file in files for reading in parse_body(file.body, fmt)]

    assert all(file.key.endswith("." + fmt) for file in files)
    assert sorted(parsed, key=lambda r: (r["site_id"], r["timestamp"])) == simulation.readings
    assert [file.readings for file in files] == [len(parse_body(file.body, fmt)) for file in files]


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_every_reading_in_the_files_is_a_valid_contract_reading(fmt):
    # GIVEN files with anomalies, across a UTC midnight
    simulation = simulate(default_fleet(4), START + timedelta(hours=20), 8, anomaly_rate=0.1)

    for file in to_files(simulation, fmt=fmt):
        # THEN each field has the contract's shape ...
        for reading in parse_body(file.body, fmt):
            assert set(reading) == set(FIELDS)
            assert SITE_ID.fullmatch(reading["site_id"])
            assert TIMESTAMP.fullmatch(reading["timestamp"])
            datetime.strptime(reading["timestamp"], "%Y-%m-%dT%H:%M:%SZ")
            for field in ("energy_generated_kwh", "energy_consumed_kwh"):
                value = reading[field]
                assert isinstance(value, float) and math.isfinite(value)
                assert round(value, 3) == value

        # ... and the pipeline's parser stores every one of them, rejecting none
        parsed = validate_records(read_records(io.BytesIO(file.body), file.key, Settings()))
        assert parsed.rejects == ()
        assert len(parsed.readings) == file.readings


def test_keys_hold_one_file_per_site_and_utc_day_under_raw():
    # GIVEN 10 hours from 20:00 UTC: two UTC days
    simulation = simulate(default_fleet(3), START + timedelta(hours=20), 10)

    files = to_files(simulation)

    key = re.compile(r"raw/(\d{4})/(\d{2})/(\d{2})/(SITE_\d{3})-(\d{8}T\d{6}Z)-s42\.json")
    assert len(files) == 3 * 2
    for file in files:
        year, month, day, site_id, first = key.fullmatch(file.key).groups()
        readings = json.loads(file.body)
        assert {r["timestamp"][:10] for r in readings} == {f"{year}-{month}-{day}"}
        assert {r["site_id"] for r in readings} == {site_id}
        # each file is named after its own first reading: the first day's at 20:00, the next day's at midnight
        assert first == readings[0]["timestamp"].replace("-", "").replace(":", "")
        assert first == ("20250611T200000Z" if day == "11" else "20250612T000000Z")
    assert sum(file.readings for file in files) == len(simulation.readings)


def test_batch_id_and_prefix_can_be_chosen():
    files = to_files(simulate(default_fleet(1), START, 1), batch_id="run.7", fmt="json.gz", raw_prefix="in/raw/")

    assert [file.key for file in files] == ["in/raw/2025/06/11/SITE_001-20250611T000000Z-run.7.json.gz"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fmt": "xml"}, "fmt"),
        ({"batch_id": "a/b"}, "batch_id"),
        ({"batch_id": ""}, "batch_id"),
        ({"raw_prefix": "raw"}, "raw_prefix"),
        ({"raw_prefix": "/raw/"}, "raw_prefix"),
    ],
)
def test_to_files_rejects_bad_arguments(kwargs, message):
    simulation = simulate([PHOENIX], START, 1)

    with pytest.raises(ValueError, match=message):
        to_files(simulation, **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"every_minutes": 0}, "every_minutes"),
        ({"max_batches": 0}, "max_batches"),
        ({"interval_minutes": 0}, "interval_minutes"),
        ({"anomaly_rate": 2}, "anomaly_rate"),
        ({"now": lambda: datetime(2025, 6, 11)}, "now\\(\\) must be a timezone-aware UTC"),
    ],
)
def test_run_continuous_rejects_bad_arguments_before_uploading(kwargs, message):
    clock = FakeClock(START)
    arguments = {"every_minutes": 15, "max_batches": 1, "sleep": clock.sleep, "now": clock.now} | kwargs

    with pytest.raises(ValueError, match=message):
        run_continuous([PHOENIX], BUCKET, None, **arguments)
    assert clock.sleeps == []


# --- upload (moto)


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_upload_puts_every_file_with_its_content_type(s3, fmt):
    files = to_files(simulate(default_fleet(2), START + timedelta(hours=22), 4), fmt=fmt)

    uploaded = upload(files, BUCKET, s3, progress=False)

    assert uploaded == len(files) == 4
    listed = [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert listed == [file.key for file in files]
    for file in files:
        stored = s3.get_object(Bucket=BUCKET, Key=file.key)
        assert stored["Body"].read() == file.body
        assert stored["ContentType"] == FORMATS[fmt]


def test_upload_shows_a_progress_bar(s3, capsys):
    files = to_files(simulate(default_fleet(3), START, 1))

    upload(files, BUCKET, s3)

    assert f"s3://{BUCKET}" in capsys.readouterr().err
    assert len(s3.list_objects_v2(Bucket=BUCKET)["Contents"]) == 3


# --- run_continuous (moto, fake clock)


def test_run_continuous_uploads_max_batches_of_contiguous_readings(s3):
    # GIVEN a clock at 23:52:30 UTC, batches every 15 minutes of 5-minute readings
    clock = FakeClock(datetime(2025, 6, 11, 23, 52, 30, tzinfo=UTC))
    fleet = default_fleet(2)

    # WHEN three batches run
    done = run_continuous(fleet, BUCKET, s3, 15, 3, anomaly_rate=0, sleep=clock.sleep, now=clock.now)

    # THEN it slept between batches only, and stored 45 minutes per site with no gap or overlap
    assert (done.batches, done.files, done.readings) == (3, 2 * 4, 2 * 9)  # a file per site and day of a batch
    assert clock.sleeps == [900, 900]
    readings = stored_readings(s3)
    first = datetime(2025, 6, 11, 23, 35, tzinfo=UTC)  # 15 min before 23:50, the last whole interval
    expected = [(first + n * timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ") for n in range(9)]
    for site in fleet:
        assert sorted(r["timestamp"] for r in readings if r["site_id"] == site.site_id) == expected
    assert len(readings) == 2 * 9

    # THEN each batch wrote its own keys, split at the UTC midnight, each named after its first reading
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert len(keys) == done.files == 8
    firsts = {key.rsplit("-", 2)[1] for key in keys}
    assert firsts == {"20250611T233500Z", "20250611T235000Z", "20250612T000000Z", "20250612T000500Z"}
    assert {key[:15] for key in keys} == {"raw/2025/06/11/", "raw/2025/06/12/"}
    assert all(key[4:14].replace("/", "") == key.rsplit("-", 2)[1][:8] for key in keys)  # the folder's day


def test_run_continuous_stops_cleanly_when_sleep_is_interrupted(s3):
    # GIVEN a Ctrl-C arriving during the second wait
    clock = FakeClock(START, interrupt_on_sleep=2)

    done = run_continuous([PHOENIX], BUCKET, s3, 10, None, sleep=clock.sleep, now=clock.now)

    # THEN it returns the two finished batches, both uploaded
    assert (done.batches, done.readings) == (2, 2 * 2)
    assert len(stored_readings(s3)) == 2 * 2


def test_run_continuous_stops_when_its_stop_event_is_set_from_another_thread(s3):
    # GIVEN batches every 10 minutes of real waiting, with no batch limit, run in a background thread
    stop, seen = threading.Event(), []
    clock = FakeClock(START)
    runner = threading.Thread(
        target=lambda: seen.append(
            run_continuous([PHOENIX], BUCKET, s3, 10, None, now=clock.now, stop=stop, on_batch=seen.append)
        )
    )
    runner.start()
    # WHEN the first batch is reported and stop is set (a Stop button), the wait for the second ends at once
    deadline = time.monotonic() + 60
    while not seen and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    runner.join(60)
    # THEN it returned after that one batch (it would wait 10 minutes for the next one otherwise)
    assert not runner.is_alive()
    assert seen[0].batches == 1 and seen[-1] == seen[0]
    assert len(stored_readings(s3)) == seen[0].readings


def test_run_continuous_finishes_the_upload_under_way_when_interrupted(s3):
    # GIVEN a real SIGINT sent while the first file of the first batch is being put
    sent = []

    def interrupt(**_):
        if not sent:
            sent.append(True)
            os.kill(os.getpid(), signal.SIGINT)

    found = signal.getsignal(signal.SIGINT)  # default_int_handler, or SIG_IGN in a job started in the background
    s3.meta.events.register("before-call.s3.PutObject", interrupt)
    clock = FakeClock(START + timedelta(hours=23, minutes=30))
    fleet = default_fleet(3)

    done = run_continuous(fleet, BUCKET, s3, 60, 5, sleep=clock.sleep, now=clock.now)

    # THEN every file of that batch is stored, the batch counts, and no further batch starts
    assert sent == [True]
    assert (done.batches, done.files, done.readings) == (1, 3, 3 * 12)
    assert clock.sleeps == []
    assert len(s3.list_objects_v2(Bucket=BUCKET)["Contents"]) == 3
    assert len(stored_readings(s3)) == 3 * 12
    assert signal.getsignal(signal.SIGINT) is found  # the handler it found is back
