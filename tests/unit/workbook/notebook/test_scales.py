"""No single value makes a chart unreadable: ranges from robust percentiles, off-scale values clipped and
labelled with their true value."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from energy_lib.workbook.notebook import charts, palette, scales

FLEET_PCT = [104.0, 105.5, 107.0, 103.2]  # efficiencies of a healthy fleet


def test_one_extreme_value_is_left_out_of_the_range_and_the_others_fill_it():
    low, high = scales.readable_range([*FLEET_PCT, 96_356.0], include=(0.0, 120.0))
    assert (low, high) == (0.0, 120.0)


def test_a_value_near_the_bulk_widens_the_range_instead_of_being_clipped():
    # GIVEN values within 0..120 and one at 300: the bulk still keeps more than a third of the axis
    assert scales.readable_range([*FLEET_PCT, 300.0], include=(0.0, 120.0)) == (0.0, 300.0)
    # one at 400 is further beyond 0..120 than twice its width: set aside
    assert scales.readable_range([*FLEET_PCT, 400.0], include=(0.0, 120.0)) == (0.0, 120.0)


def test_a_cluster_is_never_set_aside_only_lone_extremes_are():
    # GIVEN a big site (10 x the others) whose hours form a cluster of their own, and one reading far beyond
    small, big = list(np.linspace(-8, 8, 96)), list(np.linspace(-80, 80, 24))
    assert scales.readable_range(small + big) == (-80.0, 80.0)
    assert scales.readable_range(small + big + [5_000.0]) == (-80.0, 80.0)


def test_spread_values_are_all_in_range_and_nan_is_ignored():
    assert scales.readable_range([60.0, 130.0, 100.0, float("nan"), 119.9]) == (60.0, 130.0)
    assert scales.readable_range([], include=(0.0,)) == (0.0, 0.0)
    assert scales.readable_range([]) == (0.0, 1.0)


@pytest.mark.parametrize("extreme", [5_000.0, -5_000.0, 1e15, -1e15])
def test_net_energy_trend_keeps_its_axis_on_the_fleet_whatever_one_value(extreme):
    # GIVEN a day of hourly net energy of three sites between -3 and +6 kWh, and one extreme hour
    hours = pd.date_range("2025-06-11T00:00Z", periods=24, freq="h")
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(
        [{"site_id": s, "hour_start": h, "net_energy_kwh": rng.uniform(-3, 6)} for s in ("A", "B", "C") for h in hours]
    )
    frame.loc[30, "net_energy_kwh"] = extreme
    # WHEN it is drawn
    fig = charts.net_energy_trend(frame)
    # THEN the axis spans the fleet's values, not the extreme one, which is drawn at the edge and labelled
    low, high = fig.layout.yaxis.range
    assert high - low < 15
    off = {trace.name: trace for trace in fig.data}["off scale"]
    assert off.customdata[0] == extreme
    assert low <= off.y[0] <= high
    [label] = [a for a in fig.layout.annotations if a.name == scales.OFF_SCALE_LABEL]
    assert label.text == f"{'▲' if extreme > 0 else '▼'} {extreme:,.0f} kWh" and label.y == off.y[0]


def test_efficiency_zones_clip_an_implausible_site_and_label_its_true_value():
    # GIVEN four sites around 105 % and one at 96,356 % (a 5,000 kWh reading counted as generated)
    summary = pd.DataFrame({"site_id": ["S1", "S2", "S3", "S4", "S5"], "efficiency_pct": [*FLEET_PCT, 96_356.0]})
    fig = charts.efficiency_zones(summary)
    labels = {a.x: a.text for a in fig.layout.annotations if a.name == charts.BAR_LABEL}
    bars = {x: (y, labels[x], trace) for trace in fig.data for x, y in zip(trace.x, trace.y, strict=True)}
    # THEN the axis is that of the fleet and the thresholds, and every ordinary bar keeps its height
    assert fig.layout.yaxis.range[1] < 150
    assert [bars[s][0] for s in ("S1", "S2", "S3", "S4")] == FLEET_PCT
    # the extreme site reaches the top, hatched, in the colour of its true zone, labelled with its value
    height, label, trace = bars["S5"]
    assert height == 120.0 and label == "▲ 96,356 %"
    assert trace.marker.color == palette.ZONE_COLOURS[palette.ZONE_GOOD]
    assert list(trace.marker.pattern.shape) == ["/"]
    assert trace.customdata[0][0] == 96_356.0


def test_hourly_heatmap_colour_scale_comes_from_the_fleet_and_an_extreme_cell_is_written_out():
    # GIVEN 3 sites x 24 hours of net energy within +-8 kWh, and one hour at 5,000 kWh
    hours = pd.date_range("2025-06-11T00:00Z", periods=24, freq="h")
    frame = pd.DataFrame(
        [
            {"site_id": s, "hour_start": h, "net_energy_kwh": 8 * np.sin(i / 4) + k}
            for k, s in enumerate(("A", "B", "C"))
            for i, h in enumerate(hours)
        ]
    )
    frame.loc[(frame["site_id"] == "B") & (frame["hour_start"].dt.hour == 12), "net_energy_kwh"] = 5_000.0
    fig = charts.hourly_heatmap(frame)
    low, high = fig.layout.coloraxis.cmin, fig.layout.coloraxis.cmax
    # THEN the colour scale is symmetric around 0 and as wide as the ordinary cells (not +-5,000)
    assert low == -high and 8 <= high < 12
    heat = fig.data[0]
    assert heat.z[1][12] == 5_000.0  # the hover keeps the true value
    assert heat.text[1][12] == "5,000"
    assert sum(1 for row in heat.text for text in row if text) == 1
