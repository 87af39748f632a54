"""Zones, thresholds and colours of everything the notebooks draw, from one place, so that a chart, a table
and a sentence about the same number agree.

Efficiency = generated / consumed x 100 [%]. Its zones: at or above :data:`EFFICIENCY_GOOD_PCT` the site
generates well beyond its needs (green); at or above :data:`EFFICIENCY_FAIR_PCT` it covers them (amber);
below, it does not (red); with nothing consumed the efficiency is undefined (grey). The zone labels and the
words that describe them are written from the two thresholds.
"""

from __future__ import annotations

import math

from energy_lib.rules import SEVERITIES

EFFICIENCY_GOOD_PCT = 120.0  # at or above: green
EFFICIENCY_FAIR_PCT = 100.0  # at or above, below good: amber; below: red
ZONE_GOOD = f"≥ {EFFICIENCY_GOOD_PCT:g} %"
ZONE_FAIR = f"{EFFICIENCY_FAIR_PCT:g}–{EFFICIENCY_GOOD_PCT:g} %"
ZONE_POOR = f"< {EFFICIENCY_FAIR_PCT:g} %"
ZONE_NONE = "no consumption"  # efficiency undefined (NaN): nothing consumed
ZONE_COLOURS = {ZONE_GOOD: "#2ca02c", ZONE_FAIR: "#ffbf00", ZONE_POOR: "#d62728", ZONE_NONE: "#9e9e9e"}
ZONE_TEXT_COLOURS = {ZONE_GOOD: "white", ZONE_FAIR: "black", ZONE_POOR: "white", ZONE_NONE: "black"}  # readable
ZONE_WORDS = {
    ZONE_GOOD: f"zone: {EFFICIENCY_GOOD_PCT:g} % or more",
    ZONE_FAIR: f"zone: {EFFICIENCY_FAIR_PCT:g} to {EFFICIENCY_GOOD_PCT:g} %",
    ZONE_POOR: f"zone: below {EFFICIENCY_FAIR_PCT:g} %",
    ZONE_NONE: "nothing consumed",
}

# energy_lib.rules.SEVERITIES, in rising order, from light to dark red
SEVERITY_COLOURS = dict(zip(SEVERITIES, ("#fdd49e", "#fc8d59", "#d7301f", "#7f0000"), strict=True))
SERIES_COLOURS = {"generated": "#2ca02c", "consumed": "#1f77b4", "net": "#9467bd"}
ANOMALY_MARKER_COLOUR = "#d62728"
# One colour per site where sites are the series: no red, green or amber, which mean zones and severities.
SITE_COLOURS = ("#1f77b4", "#9467bd", "#17becf", "#8c564b", "#7f7f7f", "#e377c2", "#393b79", "#bcbd22", "#637939")
# Ledger status of a source object (energy_lib.schema).
STATUS_COLOURS = {"processed": "#2ca02c", "processing": "#9e9e9e", "rejected": "#ff7f0e", "failed": "#d62728"}

MUTED = "#616161"  # secondary text
LABEL_GROUND = "rgba(255, 255, 255, 0.9)"  # behind a label drawn over a chart (a bar's, an off-scale value's)
NEUTRAL = "#bdbdbd"  # accent of a KPI that is neither good nor bad
HEALTHY, WARNING, UNHEALTHY = ZONE_COLOURS[ZONE_GOOD], ZONE_COLOURS[ZONE_FAIR], ZONE_COLOURS[ZONE_POOR]
ERROR_TEXT = "#b00020"  # an error message
ANOMALY_ROW_STYLE = "background-color: #fde0dc; color: #7f0000"  # CSS of an anomalous (flagged) reading's row
REJECTED_ROW_STYLE = "background-color: #ffe0b2; color: #6d3200; text-decoration: line-through"  # quarantined
ROUNDED_CELL_STYLE = "background-color: #fff3cd; color: #5c4400"  # CSS of a value stored rounded to 9 decimals
PASS_STYLE = "background-color: #e8f5e9; color: #1b5e20; font-weight: bold; text-align: center"
FAIL_STYLE = f"background-color: {UNHEALTHY}; color: white; font-weight: bold; text-align: center"  # stands out


def _undefined(efficiency_pct: float | None) -> bool:
    try:
        return efficiency_pct is None or math.isnan(efficiency_pct)
    except TypeError:  # pandas.NA and other missing markers
        return True


def efficiency_zone(efficiency_pct: float | None) -> str:
    """The zone of an efficiency [%]: ``ZONE_GOOD``, ``ZONE_FAIR``, ``ZONE_POOR`` or ``ZONE_NONE`` (NaN/None)."""
    if _undefined(efficiency_pct):
        return ZONE_NONE
    if efficiency_pct >= EFFICIENCY_GOOD_PCT:
        return ZONE_GOOD
    if efficiency_pct >= EFFICIENCY_FAIR_PCT:
        return ZONE_FAIR
    return ZONE_POOR


def efficiency_text(efficiency_pct: float | None, decimals: int = 0) -> str:
    """An efficiency [%] as text, e.g. ``"132 %"``; ``"n/a"`` when undefined.

    Rounded to ``decimals``, except that a value is never shown in the next zone up: 119.9 with no
    decimals is ``"119 %"`` (amber), not ``"120 %"`` (the green threshold).
    """
    if _undefined(efficiency_pct):
        return "n/a"
    value = float(efficiency_pct)
    shown = round(value, decimals)
    if efficiency_zone(shown) != efficiency_zone(value):
        shown = math.floor(value * 10**decimals) / 10**decimals
    return f"{shown:,.{decimals}f} %"
