"""Colours, efficiency zones and their thresholds: one place, so that a table and a chart of the same
numbers agree (:mod:`charts`, :mod:`views` and :mod:`widgets` read them from here)."""

from __future__ import annotations

import math

import pandas as pd

from energy_lib.rules import SEVERITIES

__all__ = [
    "ANOMALY_MARKER_COLOUR",
    "EFFICIENCY_FAIR_PCT",
    "EFFICIENCY_GOOD_PCT",
    "HEALTHY",
    "MUTED",
    "NEUTRAL",
    "SERIES_COLOURS",
    "SEVERITIES",
    "SEVERITY_COLOURS",
    "SITE_COLOURS",
    "STATUS_COLOURS",
    "UNHEALTHY",
    "WARNING",
    "ZONE_COLOURS",
    "ZONE_FAIR",
    "ZONE_GOOD",
    "ZONE_NONE",
    "ZONE_POOR",
    "ZONE_TEXT_COLOURS",
    "ZONE_WORDS",
    "efficiency_text",
    "efficiency_zone",
]

# Efficiency zones: efficiency = generated / consumed x 100.
EFFICIENCY_GOOD_PCT = 120.0  # at or above: the site generates well beyond its needs (green)
EFFICIENCY_FAIR_PCT = 100.0  # at or above, below good: it covers its needs (amber); below: it does not (red)
ZONE_GOOD = f"≥ {EFFICIENCY_GOOD_PCT:g} %"
ZONE_FAIR = f"{EFFICIENCY_FAIR_PCT:g}–{EFFICIENCY_GOOD_PCT:g} %"
ZONE_POOR = f"< {EFFICIENCY_FAIR_PCT:g} %"
ZONE_NONE = "no consumption"  # efficiency undefined (NaN): nothing consumed
ZONE_COLOURS = {ZONE_GOOD: "#2ca02c", ZONE_FAIR: "#ffbf00", ZONE_POOR: "#d62728", ZONE_NONE: "#9e9e9e"}
ZONE_TEXT_COLOURS = {ZONE_GOOD: "white", ZONE_FAIR: "black", ZONE_POOR: "white", ZONE_NONE: "black"}  # on the zone
ZONE_WORDS = {  # what a zone means, for a KPI's note
    ZONE_GOOD: f"zone: {EFFICIENCY_GOOD_PCT:g} % or more",
    ZONE_FAIR: f"zone: {EFFICIENCY_FAIR_PCT:g} to {EFFICIENCY_GOOD_PCT:g} %",
    ZONE_POOR: f"zone: below {EFFICIENCY_FAIR_PCT:g} %",
    ZONE_NONE: "nothing consumed",
}

SEVERITY_COLOURS = {"LOW": "#fdd49e", "MEDIUM": "#fc8d59", "HIGH": "#d7301f", "CRITICAL": "#7f0000"}
SERIES_COLOURS = {"generated": "#2ca02c", "consumed": "#1f77b4", "net": "#9467bd"}
ANOMALY_MARKER_COLOUR = "#d62728"
# One colour per site where sites are the series: no red, green or amber, which mean zones and severities.
SITE_COLOURS = ("#1f77b4", "#9467bd", "#17becf", "#8c564b", "#7f7f7f", "#e377c2", "#393b79", "#bcbd22", "#637939")
# Ledger status of a source object (energy_lib.schema).
STATUS_COLOURS = {"processed": "#2ca02c", "processing": "#9e9e9e", "rejected": "#ff7f0e", "failed": "#d62728"}

MUTED = "#616161"  # secondary text
NEUTRAL = "#bdbdbd"  # accent of a figure that is neither good nor bad
HEALTHY, WARNING, UNHEALTHY = "#2ca02c", ZONE_COLOURS[ZONE_FAIR], "#d62728"


def efficiency_zone(efficiency_pct: float | None) -> str:
    """The zone of an efficiency [%]: ``ZONE_GOOD``, ``ZONE_FAIR``, ``ZONE_POOR`` or ``ZONE_NONE`` (NaN/None)."""
    if efficiency_pct is None or pd.isna(efficiency_pct):
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
    if efficiency_pct is None or pd.isna(efficiency_pct):
        return "n/a"
    value = float(efficiency_pct)
    shown = round(value, decimals)
    if efficiency_zone(shown) != efficiency_zone(value):
        shown = math.floor(value * 10**decimals) / 10**decimals
    return f"{shown:,.{decimals}f} %"
