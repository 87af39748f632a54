"""Zones, thresholds and the words and colours derived from them."""

from __future__ import annotations

import pytest

from energy_lib.rules import SEVERITIES
from energy_lib.workbook.notebook import palette


@pytest.mark.parametrize(
    ("efficiency_pct", "zone"),
    [
        (130.0, palette.ZONE_GOOD),
        (palette.EFFICIENCY_GOOD_PCT, palette.ZONE_GOOD),
        (119.99, palette.ZONE_FAIR),
        (palette.EFFICIENCY_FAIR_PCT, palette.ZONE_FAIR),
        (99.99, palette.ZONE_POOR),
        (0.0, palette.ZONE_POOR),
        (float("nan"), palette.ZONE_NONE),
        (None, palette.ZONE_NONE),
    ],
)
def test_efficiency_zone_thresholds(efficiency_pct, zone):
    assert palette.efficiency_zone(efficiency_pct) == zone


@pytest.mark.parametrize(
    ("efficiency_pct", "decimals", "text"),
    [
        (132.4, 0, "132 %"),
        (119.96, 1, "119.9 %"),
        (99.96, 1, "99.9 %"),
        (120.0, 0, "120 %"),
        (1234.5, 1, "1,234.5 %"),
        (None, 0, "n/a"),
        (float("nan"), 1, "n/a"),
    ],
)
def test_efficiency_text_rounds_within_the_zone(efficiency_pct, decimals, text):
    assert palette.efficiency_text(efficiency_pct, decimals) == text


def test_severity_colours_are_those_of_the_rules_severities_in_rising_order():
    assert tuple(palette.SEVERITY_COLOURS) == SEVERITIES
    assert palette.SEVERITY_COLOURS["CRITICAL"] == "#7f0000"


def test_every_zone_has_a_colour_a_readable_text_colour_and_words_that_name_its_thresholds():
    zones = [palette.ZONE_GOOD, palette.ZONE_FAIR, palette.ZONE_POOR, palette.ZONE_NONE]
    assert list(palette.ZONE_COLOURS) == list(palette.ZONE_TEXT_COLOURS) == list(palette.ZONE_WORDS) == zones
    assert palette.ZONE_WORDS == {
        palette.ZONE_GOOD: "zone: 120 % or more",
        palette.ZONE_FAIR: "zone: 100 to 120 %",
        palette.ZONE_POOR: "zone: below 100 %",
        palette.ZONE_NONE: "nothing consumed",
    }
    assert (palette.ZONE_GOOD, palette.ZONE_FAIR, palette.ZONE_POOR) == ("≥ 120 %", "100–120 %", "< 100 %")
