"""energy_lib.rules: anomaly reasons and severity, at every threshold boundary."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from energy_lib.config import Settings
from energy_lib.readings import Reading
from energy_lib.rules import SEVERITIES, Assessment, assess, highest

NOON = datetime(2025, 6, 11, 12, tzinfo=timezone.utc)
DEFAULTS = Settings()


def make(generated: str, consumed: str) -> Reading:
    return Reading("SITE_001", NOON, Decimal(generated), Decimal(consumed), 1)


def test_default_thresholds_are_the_documented_ones():
    assert (DEFAULTS.severity_medium_kwh, DEFAULTS.severity_high_kwh, DEFAULTS.implausible_kwh) == (
        Decimal("10"),
        Decimal("50"),
        Decimal("1000"),
    )


@pytest.mark.parametrize(
    ("generated", "consumed"),
    [("0", "0"), ("152.37", "98.12"), ("1000", "1000"), ("0.0001", "999.9999"), ("-0", "5")],
)
def test_normal_reading_is_not_an_anomaly(generated, consumed):
    result = assess(make(generated, consumed), DEFAULTS)

    assert result == Assessment((), None)
    assert result.anomaly is False


@pytest.mark.parametrize(
    ("generated", "consumed", "reasons"),
    [
        ("-0.001", "5", ("negative_generation",)),
        ("5", "-0.001", ("negative_consumption",)),
        ("-1", "-1", ("negative_generation", "negative_consumption")),
        ("1000.001", "5", ("implausible_magnitude",)),
        ("5", "1000.001", ("implausible_magnitude",)),
        ("-1000.001", "5", ("negative_generation", "implausible_magnitude")),
        ("5", "-1000.001", ("negative_consumption", "implausible_magnitude")),
        ("-2000", "-2000", ("negative_generation", "negative_consumption", "implausible_magnitude")),
    ],
)
def test_each_reason(generated, consumed, reasons):
    result = assess(make(generated, consumed), DEFAULTS)

    assert result.reasons == reasons
    assert result.anomaly is True


@pytest.mark.parametrize(
    ("value", "implausible"),
    [("1000", False), ("-1000", False), ("1000.0000000001", True), ("-1000.0000000001", True), ("1E+6", True)],
)
@pytest.mark.parametrize("field", ["generated", "consumed"])
def test_implausible_above_the_limit_not_at_it(value, implausible, field):
    reading = make(value, "1") if field == "generated" else make("1", value)

    result = assess(reading, DEFAULTS)

    assert ("implausible_magnitude" in result.reasons) is implausible
    if implausible:
        assert result.severity == "CRITICAL"


@pytest.mark.parametrize(
    ("deficit", "severity"),
    [
        ("0.000001", "LOW"),
        ("9.999999", "LOW"),
        ("10", "MEDIUM"),
        ("10.000001", "MEDIUM"),
        ("49.999999", "MEDIUM"),
        ("50", "HIGH"),
        ("999.999", "HIGH"),
        ("1000", "HIGH"),
        ("1000.000001", "CRITICAL"),  # implausible
    ],
)
@pytest.mark.parametrize("field", ["generated", "consumed"])
def test_severity_at_each_default_threshold(deficit, severity, field):
    # GIVEN one value this far below zero and the other normal
    negative = f"-{deficit}"
    reading = make(negative, "3") if field == "generated" else make("3", negative)

    assert assess(reading, DEFAULTS).severity == severity


@pytest.mark.parametrize(
    ("generated", "consumed"),
    [("-0.001", "-0.001"), ("-0.5", "-60"), ("-60", "-0.5")],
)
def test_both_negative_is_critical_whatever_the_size(generated, consumed):
    result = assess(make(generated, consumed), DEFAULTS)

    assert result.severity == "CRITICAL"
    assert result.reasons == ("negative_generation", "negative_consumption")


def test_implausible_positive_value_alone_is_critical():
    assert assess(make("5000", "1"), DEFAULTS) == Assessment(("implausible_magnitude",), "CRITICAL")


CUSTOM = Settings(severity_medium_kwh=Decimal("1.5"), severity_high_kwh=Decimal("2.5"), implausible_kwh=Decimal("7"))


@pytest.mark.parametrize(
    ("generated", "consumed", "severity"),
    [
        ("-1.4999", "1", "LOW"),
        ("-1.5", "1", "MEDIUM"),
        ("1", "-2.4999", "MEDIUM"),
        ("1", "-2.5", "HIGH"),
        ("-7", "1", "HIGH"),
        ("-7.0001", "1", "CRITICAL"),
        ("7", "7", None),
        ("7.0001", "1", "CRITICAL"),
        ("-0.1", "-0.1", "CRITICAL"),
        ("10", "3", "CRITICAL"),  # normal with the defaults
    ],
)
def test_severity_with_custom_thresholds(generated, consumed, severity):
    assert assess(make(generated, consumed), CUSTOM).severity == severity


def test_custom_thresholds_change_the_verdict_for_the_same_reading():
    reading = make("-20", "5")

    assert assess(reading, DEFAULTS).severity == "MEDIUM"
    assert assess(reading, CUSTOM).severity == "CRITICAL"
    assert assess(reading, Settings(severity_medium_kwh=Decimal("25"), severity_high_kwh=Decimal("40"))).severity == (
        "LOW"
    )


def test_equal_medium_and_high_thresholds_give_high():
    settings = Settings(severity_medium_kwh=Decimal("5"), severity_high_kwh=Decimal("5"))

    assert assess(make("-5", "1"), settings).severity == "HIGH"
    assert assess(make("-4.99", "1"), settings).severity == "LOW"


def test_severities_are_in_rising_order():
    assert SEVERITIES == ("LOW", "MEDIUM", "HIGH", "CRITICAL")


@pytest.mark.parametrize(
    ("severities", "expected"),
    [
        (["LOW"], "LOW"),
        (["LOW", "MEDIUM"], "MEDIUM"),
        (["HIGH", "LOW", "MEDIUM"], "HIGH"),
        (["MEDIUM", "CRITICAL", "HIGH", "LOW"], "CRITICAL"),
        (["CRITICAL", "LOW"], "CRITICAL"),
        (["MEDIUM", "MEDIUM"], "MEDIUM"),
    ],
)
def test_highest(severities, expected):
    assert highest(severities) == expected


def test_highest_of_nothing_or_an_unknown_severity_raises():
    with pytest.raises(ValueError):
        highest([])
    with pytest.raises(ValueError):
        highest(["LOW", "SEVERE"])
