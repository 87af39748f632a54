from __future__ import annotations

import csv
import gzip
import io
import json
import math
import os
import re
import signal
import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import boto3
import pytest
from moto import mock_aws

from energy_lib.parsing import parse_records
from energy_lib.validation import validate_records
from energy_lib.workbook.simulator import (
    FIELDS,
    FORMATS,
    Site,
    default_fleet,
    run_continuous,
    simulate,
    to_files,
    upload,
)

START = datetime(2025, 6, 11, tzinfo=UTC)
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
SITE_ID = re.compile(r"[A-Za-z0-9_.\-]{1,128}")
BUCKET = "energy-test-data"
PHOENIX = Site("PHX-1", 33.448, -112.074, "America/Phoenix", "solar", 400.0, 100.0)
SYDNEY = Site("SYD.2", -33.869, 151.209, "Australia/Sydney", "hybrid", 300.0, 80.0)


def parse_body(body: bytes, fmt: str) -> list[dict]:
    """Read a file back with the standard library only; CSV numbers become floats."""
    if fmt == "json.gz":
        body, fmt = gzip.decompress(body), "json"
    text = body.decode()
    if fmt == "json":
        return json.loads(text)
    if fmt == "jsonl":
        return [json.loads(line) for line in text.splitlines()]
    rows = list(csv.DictReader(io.StringIO(text)))
    assert text.splitlines()[0] == ",".join(FIELDS)
    return [
        {
            **row,
            "energy_generated_kwh": float(row["energy_generated_kwh"]),
            "energy_consumed_kwh": float(row["energy_consumed_kwh"]),
        }
        for row in rows
    ]


@pytest.fixture
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def stored_readings(s3) -> list[dict]:
    readings = []
    for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        readings += json.loads(s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read())
    return readings


class FakeClock:
    """``now`` and ``sleep`` for run_continuous: sleeping moves the clock, nothing waits."""

    def __init__(self, moment: datetime, interrupt_on_sleep: int | None = None):
        self.moment = moment
        self.sleeps: list[float] = []
        self.interrupt_on_sleep = interrupt_on_sleep

    def now(self) -> datetime:
        return self.moment

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if len(self.sleeps) == self.interrupt_on_sleep:
            raise KeyboardInterrupt
        self.moment += timedelta(seconds=seconds)


# --- fleet


def test_default_fleet_is_deterministic_with_distinct_sites_in_distinct_time_zones():
    # GIVEN / WHEN two fleets asked for the same way
    fleet = default_fleet(5)

    # THEN they are equal, numbered SITE_001..., each in its own time zone
    assert fleet == default_fleet(5)
    assert [site.site_id for site in fleet] == [f"SITE_{n:03d}" for n in range(1, 6)]
    assert len({site.timezone for site in fleet}) == 5
    assert all(site.capacity_kw > 0 and site.base_load_kw > 0 for site in fleet)


def test_a_large_default_fleet_keeps_ids_and_locations_distinct():
    fleet = default_fleet(30)

    assert len({site.site_id for site in fleet}) == 30
    assert len({(site.latitude, site.longitude) for site in fleet}) == 30


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


# --- the solar day


@pytest.mark.parametrize("site", [PHOENIX, SYDNEY], ids=lambda site: site.timezone)
def test_generation_is_zero_at_local_night_and_centred_on_local_solar_noon(site):
    # GIVEN three days without anomalies
    simulation = simulate([site], START, 72, interval_minutes=5, anomaly_rate=0)
    zone = ZoneInfo(site.timezone)
    by_day: dict[str, list[tuple[float, float]]] = {}
    for reading in simulation.readings:
        midpoint = datetime.fromisoformat(reading["timestamp"]) + timedelta(minutes=2.5)
        local = midpoint.astimezone(zone)
        hour = local.hour + local.minute / 60 + local.second / 3600
        by_day.setdefault(local.date().isoformat(), []).append((hour, reading["energy_generated_kwh"]))

        # THEN nothing is generated between local midnight and 03:00
        if hour < 3:
            assert reading["energy_generated_kwh"] == 0, reading

    # THEN on each whole local day generation is centred on solar noon of that longitude, in local time
    offset_h = START.astimezone(zone).utcoffset() / timedelta(hours=1)
    solar_noon_h = 12 + (offset_h * 15 - site.longitude) / 15  # within ~15 min (equation of time)
    whole_days = [day for day in by_day.values() if len(day) == 288]
    assert len(whole_days) >= 2
    for day in whole_days:
        total_kwh = sum(kwh for _, kwh in day)
        assert total_kwh > 0
        centre_h = sum(hour * kwh for hour, kwh in day) / total_kwh
        assert abs(centre_h - solar_noon_h) < 0.3, (centre_h, solar_noon_h)
        peak_h = max(day, key=lambda item: item[1])[0]
        assert abs(peak_h - solar_noon_h) < 1.5, (peak_h, solar_noon_h)


def test_generation_scales_with_interval_length_and_consumption_has_two_daily_peaks():
    # GIVEN the same day at 5 and 60 minute intervals
    fine = simulate([PHOENIX], START, 24, interval_minutes=5, anomaly_rate=0)
    coarse = simulate([PHOENIX], START, 24, interval_minutes=60, anomaly_rate=0)

    # THEN the day's energy agrees whatever the interval
    for field in ("energy_generated_kwh", "energy_consumed_kwh"):
        fine_kwh = sum(r[field] for r in fine.readings)
        coarse_kwh = sum(r[field] for r in coarse.readings)
        assert coarse_kwh == pytest.approx(fine_kwh, rel=0.03)

    # THEN hourly consumption is higher in the local morning and evening than at night (Phoenix: UTC-7)
    by_local_hour = {(int(r["timestamp"][11:13]) - 7) % 24: r["energy_consumed_kwh"] for r in coarse.readings}
    night_kwh = by_local_hour[3]
    assert by_local_hour[7] > 1.3 * night_kwh
    assert by_local_hour[19] > 1.5 * night_kwh
    assert by_local_hour[19] > by_local_hour[13]


# --- anomalies


def test_anomaly_count_follows_the_rate_and_is_reported_exactly():
    # GIVEN 5 sites for 48 h at 5 minutes: 2,880 readings
    simulation = simulate(default_fleet(5), START, 48, anomaly_rate=0.1, seed=3)
    readings = simulation.readings
    negatives = [
        value for r in readings for value in (r["energy_generated_kwh"], r["energy_consumed_kwh"]) if value < 0
    ]

    # THEN about 10 % are anomalies (binomial sd ~16), and each has exactly one negative value
    assert len(readings) == 2880
    assert 2880 * 0.1 - 80 <= simulation.injected_anomalies <= 2880 * 0.1 + 80
    assert len(negatives) == simulation.injected_anomalies

    # THEN magnitudes range from small to large, within -80 .. -0.5 kWh
    assert all(-80 <= value <= -0.5 for value in negatives)
    assert min(negatives) < -20
    assert max(negatives) > -2
    generated = sum(r["energy_generated_kwh"] < 0 for r in readings)
    assert 0.3 < generated / len(negatives) < 0.7


def test_no_anomalies_at_rate_zero_and_every_reading_at_rate_one():
    none = simulate(default_fleet(3), START, 24, anomaly_rate=0)
    every = simulate(default_fleet(3), START, 24, anomaly_rate=1)

    assert none.injected_anomalies == 0
    assert all(r["energy_generated_kwh"] >= 0 and r["energy_consumed_kwh"] >= 0 for r in none.readings)
    assert every.injected_anomalies == len(every.readings)
    assert all(r["energy_generated_kwh"] < 0 or r["energy_consumed_kwh"] < 0 for r in every.readings)


# --- the period


@pytest.mark.parametrize(
    ("hours", "interval_minutes", "per_site"),
    [(1, 5, 12), (0.1, 5, 2), (24, 60, 24), (24, 1440, 1), (1 / 6, 5, 2)],
)
def test_one_reading_per_site_for_each_interval_starting_in_the_period(hours, interval_minutes, per_site):
    simulation = simulate(default_fleet(2), START, hours, interval_minutes)

    stamps = [r["timestamp"] for r in simulation.readings if r["site_id"] == "SITE_001"]
    step = timedelta(minutes=interval_minutes)
    assert stamps == [(START + n * step).strftime("%Y-%m-%dT%H:%M:%SZ") for n in range(per_site)]
    assert len(simulation.readings) == 2 * per_site


def test_a_utc_start_from_zoneinfo_is_accepted():
    simulation = simulate(default_fleet(1), datetime(2025, 6, 11, 8, tzinfo=ZoneInfo("UTC")), 1)

    assert simulation.readings[0]["timestamp"] == "2025-06-11T08:00:00Z"


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
        parsed = validate_records(parse_records(file.body, file.key))
        assert parsed.rejects == ()
        assert len(parsed.readings) == file.readings


def test_keys_hold_one_file_per_site_and_utc_day_under_raw():
    # GIVEN 10 hours from 20:00 UTC: two UTC days
    simulation = simulate(default_fleet(3), START + timedelta(hours=20), 10)

    files = to_files(simulation)

    key = re.compile(r"raw/(\d{4})/(\d{2})/(\d{2})/(SITE_\d{3})-20250611T200000Z-s42\.json")
    assert len(files) == 3 * 2
    for file in files:
        year, month, day, site_id = key.fullmatch(file.key).groups()
        readings = json.loads(file.body)
        assert {r["timestamp"][:10] for r in readings} == {f"{year}-{month}-{day}"}
        assert {r["site_id"] for r in readings} == {site_id}
    assert sum(file.readings for file in files) == len(simulation.readings)


def test_batch_id_and_prefix_can_be_chosen():
    files = to_files(simulate(default_fleet(1), START, 1), batch_id="run.7", fmt="json.gz", raw_prefix="in/raw/")

    assert [file.key for file in files] == ["in/raw/2025/06/11/SITE_001-run.7.json.gz"]


# --- bad arguments


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"start": datetime(2025, 6, 11)}, "timezone-aware UTC"),
        ({"start": datetime(2025, 6, 11, tzinfo=timezone(timedelta(hours=2)))}, "timezone-aware UTC"),
        ({"start": "2025-06-11T00:00:00Z"}, "timezone-aware UTC"),
        ({"hours": 0}, "hours"),
        ({"hours": -1}, "hours"),
        ({"hours": math.nan}, "hours"),
        ({"interval_minutes": 0}, "interval_minutes"),
        ({"interval_minutes": 1441}, "interval_minutes"),
        ({"interval_minutes": 2.5}, "interval_minutes"),
        ({"anomaly_rate": -0.1}, "anomaly_rate"),
        ({"anomaly_rate": 1.5}, "anomaly_rate"),
        ({"seed": -1}, "seed"),
        ({"fleet": []}, "at least one site"),
        ({"fleet": [PHOENIX, PHOENIX]}, "distinct"),
        ({"start": datetime(1960, 1, 1, tzinfo=UTC)}, "the years the pipeline keeps"),
        ({"start": datetime(2199, 12, 31, 23, tzinfo=UTC), "hours": 2}, "the years the pipeline keeps"),
        ({"hours": 1e9}, "the years the pipeline keeps"),
        ({"hours": 24 * 366 * 10, "interval_minutes": 1}, "simulate the period in parts"),
    ],
)
def test_simulate_rejects_bad_arguments(kwargs, message):
    arguments = {"fleet": [PHOENIX], "start": START, "hours": 1} | kwargs

    with pytest.raises(ValueError, match=message):
        simulate(**arguments)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"site_id": "site 1"}, "site_id"),
        ({"site_id": ""}, "site_id"),
        ({"latitude": 91.0}, "latitude"),
        ({"longitude": -181.0}, "longitude"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"site_type": ""}, "site_type"),
        ({"capacity_kw": -1.0}, "capacity_kw"),
        ({"base_load_kw": math.inf}, "base_load_kw"),
    ],
)
def test_site_rejects_bad_values(changes, message):
    fields = {
        "site_id": "S1",
        "latitude": 1.0,
        "longitude": 2.0,
        "timezone": "UTC",
        "site_type": "solar",
        "capacity_kw": 1.0,
        "base_load_kw": 1.0,
    } | changes

    with pytest.raises(ValueError, match=message):
        Site(**fields)


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


@pytest.mark.parametrize("n_sites", [0, -1, 2.0])
def test_default_fleet_rejects_bad_sizes(n_sites):
    with pytest.raises(ValueError, match="n_sites"):
        default_fleet(n_sites)


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

    # THEN each batch wrote its own keys, split at the UTC midnight
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert len({key.rsplit("-", 2)[1] for key in keys}) == 3
    assert {key[:15] for key in keys} == {"raw/2025/06/11/", "raw/2025/06/12/"}


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
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
