"""Decide for each record whether it is a storable reading, and say why not when it is not.

Reject reasons (a reason names its field after a colon):
``not_an_object``, ``not_json``, ``too_deep`` (a JSON Lines line nested deeper than ``ENERGY_MAX_DEPTH``),
``duplicate_field:F`` (an object naming F twice), ``missing_field:F``, ``not_a_number:F``, ``not_finite:F``
(NaN or Infinity), ``boolean:F``, ``out_of_range:F`` (a magnitude of 10^20 kWh or more, see below),
``bad_timestamp``, ``bad_site_id``, ``duplicate_in_file`` (a second reading for the same site and second in
one file; the first one is kept).

The number bound: every stored kWh value (generated, consumed and their difference, the net) has at most
``KWH_DECIMAL_PLACES`` digits after the point and a magnitude below ``KWH_MAGNITUDE_LIMIT``. So a value
has at most 29 significant digits, and a sum of up to 10^9 of them is below 10^29 with 9 decimals: it fits
DynamoDB's 38 digits and a ``DECIMAL(38, 9)`` exactly. The rollups and the lake import these constants.

A value written with more than ``KWH_DECIMAL_PLACES`` digits after the point (``0.30000000000000004``, a
float as JSON libraries print it) is rounded to that many, half to even, before anything else sees it: the
anomaly rules, the net, the stored item, the rollups and the lake all have the rounded value. A reading whose
value changed by it names the field in ``Reading.rounded``; trailing zeros alone (``1.5000000000``) change
nothing. The magnitude bound holds for the rounded value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timezone
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation
from typing import Any

from energy_lib import timeutil
from energy_lib.parsing import Record, RepeatedFields, Unreadable
from energy_lib.readings import ParsedFile, Reading, Reject, net_energy_kwh
from energy_lib.seen_readings import SeenReadings

KWH_DECIMAL_PLACES = 9  # stored values have at most this many digits after the point; more are rounded away
KWH_MAGNITUDE_LIMIT = Decimal("1E+20")  # |value| strictly below this [kWh]
KWH_QUANTUM = Decimal(1).scaleb(-KWH_DECIMAL_PLACES)  # 1E-9 kWh, a microwatt-hour
ROUNDING = Context(prec=38, rounding=ROUND_HALF_EVEN)  # room for the 29 digits of any value below the limit
SITE_ID = re.compile(r"[A-Za-z0-9_.\-]{1,128}")
ENERGY_FIELDS = ("energy_generated_kwh", "energy_consumed_kwh")
NUMBER_TEXT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?(nan|inf|infinity)", re.IGNORECASE | re.ASCII)
EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)  # earlier readings are taken for mistakes (e.g. 20250611 as epoch)
LATEST = datetime(2200, 1, 1, tzinfo=timezone.utc)


def validate_records(records: Iterable[Record], seen: SeenReadings | None = None) -> ParsedFile:
    """Split records into readings and rejects; of the readings of one site and second the first is kept.

    ``seen`` holds the readings of the file met so far (pass the same one for every chunk of a file);
    without it, ``records`` are taken for a whole file."""
    if seen is None:
        with SeenReadings() as own:
            return validate_records(records, own)
    readings: list[Reading] = []
    rejects: list[Reject] = []
    for record in records:
        result = validate(record)
        if (
            isinstance(result, Reading)
            and seen.first(result.site_id, result.timestamp, record.position) != record.position
        ):
            result = Reject(record.position, record.original, ("duplicate_in_file",))
        (readings if isinstance(result, Reading) else rejects).append(result)  # type: ignore[arg-type]
    return ParsedFile(tuple(readings), tuple(rejects))


def validate(record: Record) -> Reading | Reject:
    value = record.value
    if isinstance(value, Unreadable):
        return Reject(record.position, record.original, (value.reason,))
    if not isinstance(value, dict):
        return Reject(record.position, record.original, ("not_an_object",))
    repeated = value.repeated if isinstance(value, RepeatedFields) else ()
    reasons = [f"duplicate_field:{name}" for name in repeated]
    site_id = None if "site_id" in repeated else _site_id(value.get("site_id"), reasons)
    timestamp = None if "timestamp" in repeated else _timestamp(value.get("timestamp"), reasons)
    rounded: list[str] = []
    generated, consumed = (
        None if name in repeated else _energy(name, value.get(name), reasons, rounded) for name in ENERGY_FIELDS
    )
    # the net has as many decimals as its inputs at most; only its magnitude can leave the bound
    if not reasons and net_energy_kwh(generated, consumed).copy_abs() >= KWH_MAGNITUDE_LIMIT:  # type: ignore[arg-type]
        reasons.append("out_of_range:net_energy_kwh")
    if reasons:
        return Reject(record.position, record.original, tuple(reasons))
    return Reading(site_id, timestamp, generated, consumed, record.position, tuple(rounded))  # type: ignore[arg-type]


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


def _energy(name: str, value: Any, reasons: list[str], rounded: list[str]) -> Decimal | None:
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
    elif (stored := stored_kwh(number)) is None:
        reasons.append(f"out_of_range:{name}")
    else:
        if stored != number:
            rounded.append(name)
        return stored
    return None


def stored_kwh(number: Decimal) -> Decimal | None:
    """The value stored for finite ``number`` [kWh]: rounded half to even to ``KWH_DECIMAL_PLACES`` digits after
    the point when it has more (otherwise as written), zero in any form as 0; None when its magnitude, rounded, is
    not below ``KWH_MAGNITUDE_LIMIT``."""
    if number.copy_abs() >= KWH_MAGNITUDE_LIMIT:  # first: a huge number is never quantized
        return None
    if number.as_tuple().exponent < -KWH_DECIMAL_PLACES:  # type: ignore[operator]
        number = number.quantize(KWH_QUANTUM, context=ROUNDING)
        if number.copy_abs() >= KWH_MAGNITUDE_LIMIT:  # 99999999999999999999.9999999995 rounds to 1E+20
            return None
    return Decimal(0) if number.is_zero() else number  # -0 is stored as 0


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
