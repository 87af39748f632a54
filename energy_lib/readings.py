"""The reading model: what a valid reading is, what a rejected one keeps, how a stored one looks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Context, Decimal, Inexact

from energy_lib.timeutil import format_timestamp

DYNAMODB_DIGITS = Context(prec=38, traps=[Inexact])  # what a DynamoDB number keeps


@dataclass(frozen=True, slots=True)
class Reading:
    """One valid reading. ``timestamp`` is timezone-aware UTC, whole seconds."""

    site_id: str
    timestamp: datetime
    energy_generated_kwh: Decimal  # [kWh], exact as sent, or rounded to validation's 9 decimals
    energy_consumed_kwh: Decimal  # [kWh], likewise
    position: int  # 1-based record number in the source file
    rounded: tuple[str, ...] = ()  # the energy fields whose value was rounded (more than 9 decimals sent)

    @property
    def net_energy_kwh(self) -> Decimal:
        """Generated minus consumed, exact. [kWh]"""
        return net_energy_kwh(self.energy_generated_kwh, self.energy_consumed_kwh)

    @property
    def timestamp_text(self) -> str:
        return format_timestamp(self.timestamp)


@dataclass(frozen=True, slots=True)
class Reject:
    """A record that cannot be stored, with where it was, what it said and why."""

    position: int
    original: str
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ParsedFile:
    """Everything one source file held: ``len(readings) + len(rejects)`` records were read."""

    readings: tuple[Reading, ...]
    rejects: tuple[Reject, ...]

    @property
    def read(self) -> int:
        return len(self.readings) + len(self.rejects)


def net_energy_kwh(generated_kwh: Decimal, consumed_kwh: Decimal) -> Decimal:
    """``generated_kwh - consumed_kwh``, exact: of two values within validation's number bound it needs at
    most 30 digits (``decimal.Inexact`` is raised past DynamoDB's 38, never silently rounded). [kWh]"""
    return DYNAMODB_DIGITS.subtract(generated_kwh, consumed_kwh)
