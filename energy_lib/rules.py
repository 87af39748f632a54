"""Anomaly reasons and severity of a reading.

Reasons:
- ``negative_generation``: energy_generated_kwh < 0
- ``negative_consumption``: energy_consumed_kwh < 0
- ``implausible_magnitude``: |energy_generated_kwh| or |energy_consumed_kwh| > ``implausible_kwh``

Severity of an anomalous reading, from the thresholds in :class:`~energy_lib.config.Settings`
(``ENERGY_SEVERITY_MEDIUM_KWH`` 10, ``ENERGY_SEVERITY_HIGH_KWH`` 50, ``ENERGY_IMPLAUSIBLE_KWH`` 1000):
- CRITICAL: an implausible magnitude, or both values negative
- HIGH: the largest negative value is at least ``severity_high_kwh`` below zero
- MEDIUM: at least ``severity_medium_kwh`` below zero
- LOW: any other negative value
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from energy_lib.config import Settings
from energy_lib.readings import Reading

SEVERITIES = ("LOW", "MEDIUM", "HIGH", "CRITICAL")  # in rising order


@dataclass(frozen=True, slots=True)
class Assessment:
    reasons: tuple[str, ...]
    severity: str | None  # None when the reading is not an anomaly

    @property
    def anomaly(self) -> bool:
        return bool(self.reasons)


def assess(reading: Reading, settings: Settings) -> Assessment:
    generated, consumed = reading.energy_generated_kwh, reading.energy_consumed_kwh
    reasons = []
    if generated < 0:
        reasons.append("negative_generation")
    if consumed < 0:
        reasons.append("negative_consumption")
    if max(abs(generated), abs(consumed)) > settings.implausible_kwh:
        reasons.append("implausible_magnitude")
    if not reasons:
        return Assessment((), None)
    return Assessment(tuple(reasons), _severity(reasons, generated, consumed, settings))


def _severity(reasons: list[str], generated: Decimal, consumed: Decimal, settings: Settings) -> str:
    if "implausible_magnitude" in reasons or len(reasons) == 2:
        return "CRITICAL"
    deficit_kwh = -min(generated, consumed)
    if deficit_kwh >= settings.severity_high_kwh:
        return "HIGH"
    if deficit_kwh >= settings.severity_medium_kwh:
        return "MEDIUM"
    return "LOW"


def highest(severities: list[str]) -> str:
    """The most severe of ``severities`` (at least one)."""
    return max(severities, key=SEVERITIES.index)
