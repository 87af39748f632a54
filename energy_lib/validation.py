"""Decide for each record whether it is a storable reading, and say why not when it is not.

Reject reasons (a reason names its field after a colon):
``not_an_object``, ``not_json``, ``missing_field:F``, ``not_a_number:F``, ``not_finite:F`` (NaN or
Infinity), ``boolean:F``, ``out_of_range:F`` (more than DynamoDB's 38 digits), ``bad_timestamp``, ``bad_site_id``, ``duplicate_in_file`` (a second reading
for the same site and second in one file; the first one is kept).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from energy_lib.parsing import NotJson, Record
from energy_lib.readings import ParsedFile, Reading, Reject

SITE_ID = re.compile(r"[A-Za-z0-9_.\-]{1,128}")
ENERGY_FIELDS = ("energy_generated_kwh", "energy_consumed_kwh")
MAX_DIGITS = 38  # DynamoDB numbers keep 38 significant digits
EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(2200, 1, 1, tzinfo=timezone.utc)


def validate_records(records: Iterable[Record]) -> ParsedFile:
    """Split records into readings and rejects; duplicates of a site and second keep the first."""
    readings: list[Reading] = []
    rejects: list[Reject] = []
    seen: set[tuple[str, datetime]] = set()
    for record in records:
        result = validate(record)
        if isinstance(result, Reading):
            key = (result.site_id, result.timestamp)
            if key in seen:
                result = Reject(record.position, record.original, ("duplicate_in_file",))
            else:
                seen.add(key)
        (readings if isinstance(result, Reading) else rejects).append(result)  # type: ignore[arg-type]
    return ParsedFile(tuple(readings), tuple(rejects))


def validate(record: Record) -> Reading | Reject:
    value = record.value
    if isinstance(value, NotJson):
        return Reject(record.position, record.original, ("not_json",))
    if not isinstance(value, dict):
        return Reject(record.position, record.original, ("not_an_object",))
    reasons: list[str] = []
    site_id = _site_id(value.get("site_id"), reasons)
    timestamp = _timestamp(value.get("timestamp"), reasons)
    generated, consumed = (_energy(name, value.get(name), reasons) for name in ENERGY_FIELDS)
    if reasons:
        return Reject(record.position, record.original, tuple(reasons))
    return Reading(site_id, timestamp, generated, consumed, record.position)  # type: ignore[arg-type]


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _site_id(value: Any, reasons: list[str]) -> str | None:
    if _missing(value):
        reasons.append("missing_field:site_id")
    elif not isinstance(value, str) or not SITE_ID.fullmatch(value):
        reasons.append("bad_site_id")
    else:
        return value
    return None


def _energy(name: str, value: Any, reasons: list[str]) -> Decimal | None:
    if _missing(value):
        reasons.append(f"missing_field:{name}")
        return None
    if isinstance(value, bool):
        reasons.append(f"boolean:{name}")
        return None
    number = _decimal(value)
    if number is None:
        reasons.append(f"not_a_number:{name}")
    elif not number.is_finite():
        reasons.append(f"not_finite:{name}")
    elif len(number.as_tuple().digits) > MAX_DIGITS or not -130 < number.adjusted() < 126:
        reasons.append(f"out_of_range:{name}")
    else:
        return Decimal(0) if number.is_zero() else number  # -0 is stored as 0
    return None


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, str):
        try:
            return Decimal(value.strip())
        except InvalidOperation:
            return None
    return None


def _timestamp(value: Any, reasons: list[str]) -> datetime | None:
    if _missing(value):
        reasons.append("missing_field:timestamp")
        return None
    if isinstance(value, bool):
        reasons.append("boolean:timestamp")
        return None
    moment = parse_timestamp(value)
    if moment is None:
        reasons.append("bad_timestamp")
    return moment


def parse_timestamp(value: Any) -> datetime | None:
    """UTC, truncated to the second, from ISO-8601 text (``Z``, an offset or none: UTC) or epoch seconds."""
    number = _decimal(value)
    try:
        if number is not None:
            if not number.is_finite():
                return None
            moment = datetime.fromtimestamp(int(number.to_integral_value(rounding="ROUND_FLOOR")), timezone.utc)
        elif isinstance(value, str) and len(value.strip()) > 10:
            moment = datetime.fromisoformat(value.strip())
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=timezone.utc)
        else:
            return None
    except (ValueError, OverflowError, OSError):
        return None
    moment = moment.astimezone(timezone.utc).replace(microsecond=0)
    return moment if EARLIEST <= moment < LATEST else None
