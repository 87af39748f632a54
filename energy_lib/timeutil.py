"""UTC moments: the one module that parses and formats them, for the Lambda side and the workbook alike.

Inside the code a moment is a timezone-aware UTC datetime; text only at the edges. Stored and exchanged
text is ``2025-06-11T20:00:00Z`` (:data:`TIMESTAMP_FORMAT`: UTC, fixed width, to the second); people read
``2025-06-11 20:00`` (:func:`clock`). Standard library only.
"""

from __future__ import annotations

from datetime import date, datetime, time, timezone

TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"  # stored readings, ledger, run records, every ``...Z`` we write
EXAMPLE = "2025-06-11T00:00:00Z"  # what error messages show as the expected form
CLOCK_FORMAT = "%Y-%m-%d %H:%M"  # for people, on whole minutes
CLOCK_SECONDS_FORMAT = "%Y-%m-%d %H:%M:%S"  # for people, when a moment has seconds


def now() -> datetime:
    """The current moment, UTC."""
    return datetime.now(timezone.utc)


def as_utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive datetime is taken as UTC."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def utc(value: datetime | date | str) -> datetime:
    """A UTC datetime from a datetime (naive taken as UTC), a date (its midnight) or ISO-8601 text.

    Text may end in ``Z``, carry an offset or none (UTC), and have any sub-second part; a bare date
    (``2025-06-11``) is that day's midnight. Raises ``ValueError`` for text that is not ISO-8601.
    """
    if isinstance(value, str):
        text = value.strip()
        value = date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
    if not isinstance(value, datetime):
        return datetime.combine(value, time(), timezone.utc)
    return as_utc(value)


def from_epoch_s(seconds: int) -> datetime:
    """The UTC moment ``seconds`` after 1970-01-01T00:00:00Z."""
    return datetime.fromtimestamp(seconds, timezone.utc)


def format_timestamp(moment: datetime) -> str:
    """``2025-06-11T20:00:00Z``: UTC, fixed width, to the second."""
    return moment.astimezone(timezone.utc).strftime(TIMESTAMP_FORMAT)


def clock(moment: datetime) -> str:
    """``moment`` for people: ``2025-06-11 20:00``, with seconds only when it has some."""
    return moment.strftime(CLOCK_SECONDS_FORMAT if moment.second else CLOCK_FORMAT)
