"""energy_lib.query pure helpers: UTC conversion, checked ranges, days, and the rollup buckets of a range."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

from energy_lib.errors import EnergyError, QueryError
from energy_lib.query import (
    MAX_RANGE,
    bounded_range,
    days,
    hour_buckets,
    summary_buckets,
    time_range,
    utc,
)

UTC = timezone.utc
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
FAR_FUTURE = datetime(2200, 1, 1, tzinfo=UTC)


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- utc() ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [None, ""])
def test_utc_of_nothing_is_none(value):
    assert utc(value) is None


def test_utc_of_a_naive_datetime_takes_it_as_utc():
    result = utc(datetime(2025, 6, 11, 12, 30, 15))

    assert result == at(2025, 6, 11, 12, 30, 15)
    assert result.tzinfo is not None
    assert result.utcoffset() == timedelta(0)


@pytest.fixture
def local_zone_not_utc(monkeypatch):
    """Run with the process's local time zone at UTC-5/-4, so "local" and "UTC" differ."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_naive_values_are_utc_whatever_the_local_zone(local_zone_not_utc):
    assert time.strftime("%z", time.localtime(1749643200)) == "-0400"  # the fixture took effect

    assert utc(datetime(2025, 6, 11, 12)) == at(2025, 6, 11, 12)
    assert utc("2025-06-11T12:00:00") == at(2025, 6, 11, 12)
    assert utc("2025-06-11") == at(2025, 6, 11)


def test_utc_of_an_aware_datetime_converts_it():
    result = utc(datetime(2025, 6, 11, 14, 30, tzinfo=timezone(timedelta(hours=2))))

    assert result == at(2025, 6, 11, 12, 30)
    assert result.utcoffset() == timedelta(0)
    assert (result.hour, result.minute) == (12, 30)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-06-11T12:00:00Z", at(2025, 6, 11, 12)),
        ("2025-06-11T14:00:00+02:00", at(2025, 6, 11, 12)),
        ("2025-06-11T07:00:00-05:00", at(2025, 6, 11, 12)),
        ("2025-06-11T12:00:00", at(2025, 6, 11, 12)),
        ("2025-06-11", at(2025, 6, 11)),
        ("  2025-06-11  ", at(2025, 6, 11)),
        ("2024-02-29", at(2024, 2, 29)),
    ],
)
def test_utc_of_text(text, expected):
    result = utc(text)

    assert result == expected
    assert result.utcoffset() == timedelta(0)


def test_utc_of_text_and_of_a_datetime_agree_on_sub_second_moments():
    # GIVEN the same moment with a sub-second part, as text and as a datetime
    moment = datetime(2025, 6, 11, 12, 0, 0, 750000, tzinfo=UTC)

    # THEN utc() gives one answer for both (today text is truncated to the second, a datetime is not)
    assert utc("2025-06-11T12:00:00.75Z") == utc(moment)
    assert utc("2025-06-11T14:00:00.75+02:00") == utc(moment)


@pytest.mark.parametrize(
    "text",
    ["garbage", "yesterday", "2025-13-01", "2025-02-30", "2025-06-11T25:00:00Z", "11/06/2025", "2025-06", "   "],
)
def test_utc_of_bad_text_raises_query_error(text):
    with pytest.raises(QueryError, match="not a timestamp"):
        utc(text)


@pytest.mark.parametrize(
    "value",
    [
        "1999-12-31T23:59:59Z",
        "2200-01-01T00:00:01Z",
        "9999-12-31T23:59:59.5",
        "9999-12-31T23:59:59-05:00",
        "0001-01-01",
    ],
)
def test_utc_outside_the_years_the_pipeline_keeps_raises_query_error(value):
    with pytest.raises(QueryError, match="outside the years the pipeline keeps"):
        utc(value)


def test_utc_accepts_the_last_moment_as_an_end():
    assert utc("2200-01-01") == FAR_FUTURE


def test_query_error_is_an_energy_error():
    assert issubclass(QueryError, EnergyError)


# --- time_range(), bounded_range() ----------------------------------------------------------------------


def test_time_range_converts_both_ends():
    assert time_range("2025-06-11", "2025-06-12T02:00:00+02:00") == (at(2025, 6, 11), at(2025, 6, 12))


def test_time_range_open_ends_are_the_first_and_last_moment_the_pipeline_keeps():
    assert time_range(None, None) == (EARLIEST, FAR_FUTURE)
    assert time_range("2025-06-11", None) == (at(2025, 6, 11), FAR_FUTURE)
    assert time_range(None, "2025-06-11") == (EARLIEST, at(2025, 6, 11))
    assert time_range("", "") == (EARLIEST, FAR_FUTURE)


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2025-06-11", "2025-06-11"),
        ("2025-06-12", "2025-06-11"),
        ("2025-06-11T12:00:00Z", "2025-06-11T13:00:00+02:00"),  # 11:00Z, before the start
        (at(2025, 6, 11, 12), at(2025, 6, 11, 12)),
    ],
)
def test_time_range_end_not_after_start_raises(start, end):
    with pytest.raises(QueryError, match="must be after start"):
        time_range(start, end)


def test_time_range_of_one_second_is_fine():
    assert time_range(at(2025, 6, 11), at(2025, 6, 11, 0, 0, 1)) == (at(2025, 6, 11), at(2025, 6, 11, 0, 0, 1))


def test_time_range_bad_text_raises():
    with pytest.raises(QueryError):
        time_range("soon", None)


@pytest.mark.parametrize(("start", "end"), [(None, "2025-06-11"), ("2025-06-11", None), (None, None)])
def test_bounded_range_needs_both_ends(start, end):
    with pytest.raises(QueryError, match="both start and end"):
        bounded_range(start, end)


def test_bounded_range_at_most_ten_years():
    start = at(2020, 1, 1)

    assert bounded_range(start, start + MAX_RANGE) == (start, start + MAX_RANGE)
    with pytest.raises(QueryError, match="ten years"):
        bounded_range(start, start + MAX_RANGE + timedelta(seconds=1))


def test_bounded_range_checks_the_order_too():
    with pytest.raises(QueryError):
        bounded_range("2025-06-12", "2025-06-11")


# --- days() -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        (at(2025, 6, 11), at(2025, 6, 12), ["2025-06-11"]),
        (at(2025, 6, 11, 5), at(2025, 6, 11, 6), ["2025-06-11"]),
        (at(2025, 6, 11, 23), at(2025, 6, 12, 1), ["2025-06-11", "2025-06-12"]),
        (at(2025, 6, 11, 23), at(2025, 6, 12), ["2025-06-11"]),  # the end is exclusive
        (at(2025, 6, 11, 23), at(2025, 6, 12, 0, 0, 1), ["2025-06-11", "2025-06-12"]),
        (at(2025, 2, 27, 12), at(2025, 3, 2, 12), ["2025-02-27", "2025-02-28", "2025-03-01", "2025-03-02"]),
        (at(2024, 12, 31), at(2025, 1, 1, 1), ["2024-12-31", "2025-01-01"]),
    ],
)
def test_days_every_utc_day_the_range_touches(first, last, expected):
    assert list(days(first, last)) == expected


# --- summary_buckets() -----------------------------------------------------------------------------


def test_no_range_is_the_all_time_bucket():
    assert summary_buckets(None, None) == ["T"]


@pytest.mark.parametrize(("start", "end"), [(None, "2025-06-11"), ("2025-06-11", None)])
def test_half_open_range_raises(start, end):
    with pytest.raises(QueryError):
        summary_buckets(start, end)


def test_whole_days_give_day_buckets_only():
    assert summary_buckets("2025-06-10", "2025-06-13") == ["D#2025-06-10", "D#2025-06-11", "D#2025-06-12"]


def test_one_whole_day():
    assert summary_buckets(at(2025, 6, 11), at(2025, 6, 12)) == ["D#2025-06-11"]


def test_partial_edges_give_hour_buckets_and_days_inside():
    result = summary_buckets("2025-06-10T22:00:00Z", "2025-06-13T02:00:00Z")

    assert result == [
        "H#2025-06-10T22",
        "H#2025-06-10T23",
        "D#2025-06-11",
        "D#2025-06-12",
        "H#2025-06-13T00",
        "H#2025-06-13T01",
    ]


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2025-06-10T22:30:00Z", "2025-06-12T01:00:00Z"),
        ("2025-06-10T22:00:00Z", "2025-06-12T01:15:00Z"),
        (at(2025, 6, 11, 5, 59, 59), at(2025, 6, 11, 6, 0, 1)),
        (datetime(2025, 6, 11, 5, 0, 0, 0, UTC), datetime(2025, 6, 11, 6, 0, 0, 1, UTC)),
    ],
    ids=["start-half-past", "end-quarter-past", "seconds", "microsecond-past-the-hour"],
)
def test_a_summary_range_off_the_hour_is_refused_not_widened(start, end):
    # rollups are hourly: answering 10:00-13:00 for 10:30-12:15 would look exact and be wrong
    with pytest.raises(QueryError, match="whole hours"):
        summary_buckets(start, end)


def test_one_whole_hour():
    assert summary_buckets(at(2025, 6, 11, 5), at(2025, 6, 11, 6)) == ["H#2025-06-11T05"]


def test_range_across_midnight_without_a_whole_day_uses_hours_only():
    result = summary_buckets("2025-06-11T20:00:00Z", "2025-06-12T04:00:00Z")

    assert result == [f"H#2025-06-11T{h:02d}" for h in range(20, 24)] + [f"H#2025-06-12T{h:02d}" for h in range(4)]
    assert not any(b.startswith("D#") for b in result)


def test_range_in_another_zone_is_bucketed_in_utc():
    # GIVEN local midnight to midnight at +02:00: in UTC that is 22:00 to 22:00
    result = summary_buckets("2025-06-11T00:00:00+02:00", "2025-06-12T00:00:00+02:00")

    assert result == ["H#2025-06-10T22", "H#2025-06-10T23"] + [f"H#2025-06-11T{h:02d}" for h in range(22)]


def test_buckets_cover_the_range_without_gaps_or_overlaps():
    # GIVEN an irregular range over a month boundary
    start, end = at(2025, 6, 28, 17), at(2025, 7, 3, 7)

    result = summary_buckets(start, end)

    # THEN the buckets, as hour sets, are disjoint and their union is exactly the range
    hours: list[datetime] = []
    for bucket in result:
        kind, _, period = bucket.partition("#")
        if kind == "D":
            first = datetime.fromisoformat(period).replace(tzinfo=UTC)
            hours += [first + timedelta(hours=h) for h in range(24)]
        else:
            hours.append(datetime.fromisoformat(period + ":00").replace(tzinfo=UTC))
    first_hour, end_hour = at(2025, 6, 28, 17), at(2025, 7, 3, 7)
    expected = [first_hour + timedelta(hours=h) for h in range((end_hour - first_hour) // timedelta(hours=1))]
    assert sorted(hours) == expected
    assert len(hours) == len(set(hours))
    assert [b for b in result if b.startswith("D#")] == ["D#2025-06-29", "D#2025-06-30", "D#2025-07-01", "D#2025-07-02"]


# --- hour_buckets() -------------------------------------------------------------------------------


def test_hour_buckets_name_every_hour_the_range_touches_as_storage_names_them():
    # GIVEN a range that starts and ends inside an hour and crosses midnight
    start, end = "2025-06-11T22:30:15.5Z", "2025-06-12T01:00:00.000001Z"
    # THEN every hour it touches, the first and the last included
    assert hour_buckets(start, end) == [
        "H#2025-06-11T22",
        "H#2025-06-11T23",
        "H#2025-06-12T00",
        "H#2025-06-12T01",
    ]
    assert hour_buckets("2025-06-11T00:00:00+02:00", "2025-06-11T02:00:00+02:00") == [
        "H#2025-06-10T22",
        "H#2025-06-10T23",
    ]
    with pytest.raises(QueryError):
        hour_buckets(None, end)
