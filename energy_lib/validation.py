"""Decide for each record whether it is a storable reading, and say why not when it is not.

Reject reasons (a reason names its field after a colon):
``not_an_object``, ``not_json``, ``missing_field:F``, ``not_a_number:F``, ``not_finite:F`` (NaN or
Infinity), ``boolean:F``, ``out_of_range:F`` (a number DynamoDB cannot keep exactly), ``bad_timestamp``,
``bad_site_id``, ``duplicate_in_file`` (a second reading for the same site and second in one file; the
first one is kept).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timezone
from decimal import Decimal, DecimalException, InvalidOperation
from typing import Any

from energy_lib import timeutil
from energy_lib.parsing import NotJson, Record
from energy_lib.readings import ParsedFile, Reading, Reject, net_energy_kwh

SITE_ID = re.compile(r"[A-Za-z0-9_.\-]{1,128}")
ENERGY_FIELDS = ("energy_generated_kwh", "energy_consumed_kwh")
MAX_DIGITS = 38  # DynamoDB numbers keep 38 significant digits
NUMBER_TEXT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?(nan|inf|infinity)", re.IGNORECASE | re.ASCII)
EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)  # earlier readings are taken for mistakes (e.g. 20250611 as epoch)
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
    if not reasons and not _net_storable(generated, consumed):  # type: ignore[arg-type]
        reasons.append("out_of_range:net_energy_kwh")
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
    elif not storable(number):
        reasons.append(f"out_of_range:{name}")
    else:
        return Decimal(0) if number.is_zero() else number  # -0 is stored as 0
    return None


def storable(number: Decimal) -> bool:
    """True when DynamoDB keeps ``number`` exactly: at most 38 digits, magnitude 1E-130 to below 1E+126."""
    return number.is_zero() or (len(number.as_tuple().digits) <= MAX_DIGITS and -130 <= number.adjusted() < 126)


def _net_storable(generated: Decimal, consumed: Decimal) -> bool:
    try:
        return storable(net_energy_kwh(generated, consumed))
    except DecimalException:
        return False


def _decimal(value: Any) -> Decimal | None:
    """A Decimal from a JSON number, or from text that is a plain ASCII number (or NaN / Infinity)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, str) and NUMBER_TEXT.fullmatch(value.strip()):
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
            if not number.is_finite() or not EARLIEST.timestamp() <= number < LATEST.timestamp():
                return None
            moment = timeutil.from_epoch_s(int(number.to_integral_value(rounding="ROUND_FLOOR")))
        elif isinstance(value, str) and len(value.strip()) > 10:  # a bare date is no reading's moment
            moment = timeutil.utc(value)
        else:
            return None
    except (ValueError, OverflowError, OSError):
        return None
    moment = moment.replace(microsecond=0)
    return moment if EARLIEST <= moment < LATEST else None
