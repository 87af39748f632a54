"""Charts: traces, axis titles with units, zone colours, empty frames; the offline display bundle."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from energy_lib.workbook.notebook import charts, operations, palette, scales


def readings_frame() -> pd.DataFrame:
    timestamps = pd.date_range("2025-06-11T00:00Z", periods=6, freq="h")
    frame = pd.DataFrame(
        {
            "site_id": "site-a",
            "timestamp": timestamps,
            "energy_generated_kwh": [10.0, -3.0, 12.0, 11.0, 9.0, 2000.0],
            "energy_consumed_kwh": [8.0, 8.0, -1.5, 8.0, 8.0, 8.0],
        }
    )
    frame["net_energy_kwh"] = frame["energy_generated_kwh"] - frame["energy_consumed_kwh"]
    frame["anomaly"] = [False, True, True, False, False, True]
    frame["anomaly_reasons"] = ["", "negative_generation", "negative_consumption", "", "", "implausible_magnitude"]
    frame["severity"] = [None, "LOW", "LOW", None, None, "CRITICAL"]
    return frame


def site_summary() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "site_id": ["site-c", "site-a", "site-b", "site-d", "site-e"],
            "energy_generated_kwh": [60.0, 130.0, 100.0, 5.0, 119.9],
            "energy_consumed_kwh": [100.0, 100.0, 100.0, 0.0, 100.0],
            "efficiency_pct": [60.0, 130.0, 100.0, np.nan, 119.9],
            "anomalies_low": [1, 0, 2, 0, 0],
            "anomalies_medium": [0, 0, 1, 0, 0],
            "anomalies_high": [0, 0, 0, 0, 0],
            "anomalies_critical": [4, 0, 0, 0, 0],
        }
    )


def hourly_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "site_id": ["site-a", "site-a", "site-a", "site-b"],
            "hour_start": pd.to_datetime(
                ["2025-06-11T05:00Z", "2025-06-12T05:00Z", "2025-06-11T23:00Z", "2025-06-11T05:00Z"], utc=True
            ),
            "net_energy_kwh": [2.0, 4.0, -1.0, 7.0],
        }
    )


def by_name(fig):
    return {trace.name: trace for trace in fig.data}


def test_energy_over_time_draws_three_series_and_marks_anomalies_on_the_faulty_value():
    # GIVEN readings with a negative generation, a negative consumption and an implausible generation
    fig = charts.energy_over_time(readings_frame(), "site-a")

    # THEN three lines and one marker trace, with units on both axes
    traces = by_name(fig)
    assert list(traces) == ["generated", "consumed", "net", "anomaly"]
    assert fig.layout.xaxis.title.text == "Time [UTC]"
    assert fig.layout.yaxis.title.text == "Energy [kWh]"
    assert fig.layout.title.text == "Energy of site-a"
    # the hover text has every true value; the flagged values (-3, -1.5, 2000 kWh) do not set the axis
    assert [row[0] for row in traces["generated"].customdata] == [10.0, -3.0, 12.0, 11.0, 9.0, 2000.0]
    low, high = fig.layout.yaxis.range
    low_edge = 0.0  # the valid values' range starts at 0
    assert -3 < low < 0 and 12 < high < 14  # the valid values 0...12 kWh and the flagged reading's valid 12 kWh
    assert list(traces["generated"].y) == [10.0, 0.0, 12.0, 11.0, 9.0, 12.0]  # flagged ones at the edge
    # markers sit on the negative value, else on the larger one, at the edge with their true value
    assert [row[0] for row in traces["anomaly"].customdata] == [-3.0, -1.5, 2000.0]
    assert list(traces["anomaly"].y) == [0.0, 0.0, 12.0]
    assert traces["anomaly"].customdata[2][1] == "CRITICAL implausible_magnitude"
    labels = off_scale_labels(fig)
    assert [label.text for label in labels] == ["▼ -3.0 kWh", "▼ -1.5 kWh", "▲ 2,000 kWh"]
    assert [(label.y, label.yanchor) for label in labels] == [(low_edge, "bottom"), (low_edge, "bottom"), (12, "top")]


def off_scale_labels(fig) -> list:
    return [a for a in fig.layout.annotations if a.name == scales.OFF_SCALE_LABEL]


def five_minute_day(flagged: dict[int, float]) -> pd.DataFrame:
    """A day of 5-minute readings of one site (generation 0-13 kWh by day, consumption 1-3 kWh), with the
    readings at the positions of ``flagged`` given that generation [kWh] and flagged (HIGH when negative)."""
    timestamps = pd.date_range("2025-06-11T00:00Z", periods=288, freq="5min")
    hours = np.arange(288) / 12
    generated = np.round(np.clip(13 * np.sin((hours - 6) / 12 * np.pi), 0, None), 3)
    consumed = np.round(2 + np.cos(hours / 24 * 2 * np.pi), 3)
    frame = pd.DataFrame({"site_id": "SITE_003", "timestamp": timestamps})
    frame["energy_generated_kwh"], frame["energy_consumed_kwh"] = generated, consumed
    frame.loc[list(flagged), "energy_generated_kwh"] = list(flagged.values())
    frame["net_energy_kwh"] = frame["energy_generated_kwh"] - frame["energy_consumed_kwh"]
    frame["anomaly"] = frame.index.isin(list(flagged))
    frame["anomaly_reasons"] = ["negative_generation" if flag else "" for flag in frame["anomaly"]]
    frame["severity"] = ["HIGH" if flag else None for flag in frame["anomaly"]]
    return frame


@pytest.mark.parametrize("flagged", [{140: -75.4, 150: -74.9}, {140: 900.0, 150: 880.5}, {140: -75.4, 150: 900.0}])
def test_flagged_values_of_either_sign_never_set_the_axis_and_are_drawn_at_its_edge(flagged):
    # GIVEN SITE_003's day of 5-minute readings with two flagged readings (about -75 kWh, as in issue 21, or
    # about +900 kWh, or one of each)
    frame = five_minute_day(flagged)
    valid = frame[~frame["anomaly"]]
    fig = charts.energy_over_time(frame, "SITE_003")
    traces = by_name(fig)
    low, high = fig.layout.yaxis.range
    # THEN the axis is that of the valid readings (0...13 kWh generated, their net down to -3 kWh), padded
    bottom = min(valid["net_energy_kwh"].min(), 0.0)
    top = max(valid["energy_generated_kwh"].max(), valid["energy_consumed_kwh"].max())
    assert bottom - 0.09 * (top - bottom) < low <= bottom and top <= high < top + 0.09 * (top - bottom)
    # the valid readings use the whole height: no flagged value stretched it
    assert (top - bottom) / (high - low) > 0.85
    # each flagged value is drawn at the edge of its sign, labelled with its true value
    labels = off_scale_labels(fig)
    assert len(traces["anomaly"].y) == len(labels) == len(flagged)
    for drawn, label, value in zip(traces["anomaly"].y, labels, flagged.values(), strict=True):
        assert drawn == pytest.approx(bottom if value < 0 else top) == pytest.approx(label.y)
        assert label.text == f"{'▼' if value < 0 else '▲'} {value:,.{0 if abs(value) >= 100 else 1}f} kWh"
        assert label.yanchor == ("bottom" if value < 0 else "top")  # inside the plot, off the axis' ticks
    # two labels 50 minutes apart at one edge are stacked in rows, not printed one over the other
    shifts = [abs(label.yshift) for label in labels]
    same_edge = len({value > 0 for value in flagged.values()}) == 1
    assert shifts == ([10, 26] if same_edge else [10, 10])
    assert "off scale" not in traces  # no valid value is off scale


def test_energy_over_time_takes_the_only_site_and_refuses_to_guess_among_several():
    assert charts.energy_over_time(readings_frame()).layout.title.text == "Energy of site-a"
    two_sites = pd.concat([readings_frame(), readings_frame().assign(site_id="site-b")])
    with pytest.raises(ValueError, match="give site_id"):
        charts.energy_over_time(two_sites)
    assert len(charts.energy_over_time(two_sites, "site-b").data) == 4


def test_energy_over_time_without_anomalies_has_no_marker_trace():
    frame = readings_frame().assign(anomaly=False)
    fig = charts.energy_over_time(frame, "site-a")
    # the 2,000 kWh reading, valid here, lies far outside the others: marked off scale with its true value
    assert [trace.name for trace in fig.data] == ["generated", "consumed", "net", "off scale"]
    assert [label.text for label in off_scale_labels(fig)] == ["▲ 2,000 kWh", "▲ 1,992 kWh"]


def test_site_comparison_groups_generated_and_consumed_bars_per_site():
    fig = charts.site_comparison(site_summary())

    traces = by_name(fig)
    assert set(traces) == {"generated", "consumed"}
    assert fig.layout.barmode == "group"
    assert dict(zip(traces["generated"].x, traces["generated"].y, strict=True))["site-a"] == 130.0
    assert dict(zip(traces["consumed"].x, traces["consumed"].y, strict=True))["site-d"] == 0.0
    assert fig.layout.yaxis.title.text == "Energy [kWh]"
    assert fig.layout.xaxis.title.text == "Site"
    assert list(fig.layout.xaxis.categoryarray) == ["site-a", "site-b", "site-c", "site-d", "site-e"]


def test_efficiency_zones_colour_each_site_by_its_zone():
    fig = charts.efficiency_zones(site_summary())

    colour_of_site = {site: trace.marker.color for trace in fig.data for site in trace.x}
    assert colour_of_site == {
        "site-a": "#2ca02c",  # 130 %: green
        "site-e": "#ffbf00",  # 119.9 %: amber
        "site-b": "#ffbf00",  # 100 %: amber
        "site-c": "#d62728",  # 60 %: red
        "site-d": "#9e9e9e",  # nothing consumed: no efficiency
    }
    assert palette.ZONE_COLOURS[palette.ZONE_GOOD] == "#2ca02c"
    assert fig.layout.yaxis.title.text == "Efficiency [%]"
    assert sorted(shape.y0 for shape in fig.layout.shapes) == [100.0, 120.0]


def test_anomaly_distribution_stacks_severities_from_the_site_summary():
    fig = charts.anomaly_distribution(site_summary())

    traces = by_name(fig)
    assert list(traces) == ["LOW", "MEDIUM", "HIGH", "CRITICAL"]
    assert fig.layout.barmode == "stack"
    assert dict(zip(traces["CRITICAL"].x, traces["CRITICAL"].y, strict=True))["site-c"] == 4
    assert dict(zip(traces["LOW"].x, traces["LOW"].y, strict=True))["site-b"] == 2
    assert traces["CRITICAL"].marker.color == palette.SEVERITY_COLOURS["CRITICAL"]
    assert fig.layout.yaxis.title.text == "Anomalies [count]"


def test_anomaly_distribution_counts_anomalous_readings():
    fig = charts.anomaly_distribution(readings_frame())

    counts = {trace.name: sum(trace.y) for trace in fig.data}
    assert counts == {"LOW": 2, "CRITICAL": 1}


def test_anomaly_distribution_without_anomalies_lists_every_site_at_zero_and_says_so():
    quiet = site_summary().assign(anomalies_low=0, anomalies_medium=0, anomalies_critical=0)
    fig = charts.anomaly_distribution(quiet)
    assert {site for trace in fig.data for site in trace.x} == {"site-a", "site-b", "site-c", "site-d", "site-e"}
    assert sum(sum(trace.y) for trace in fig.data) == 0
    assert fig.layout.annotations[0].text == "No anomalies"
    assert charts.has_data(fig)  # a real answer (zero everywhere), not a missing one


def test_net_energy_trend_draws_a_line_per_site_from_hourly_or_daily_frames():
    hourly = charts.net_energy_trend(hourly_frame())
    assert [trace.name for trace in hourly.data] == ["site-a", "site-b"]
    assert hourly.layout.xaxis.title.text == "Hour start [UTC]"
    assert hourly.layout.yaxis.title.text == "Net energy [kWh]"

    daily = charts.net_energy_trend(hourly_frame().rename(columns={"hour_start": "day_start"}))
    assert daily.layout.xaxis.title.text == "Day start [UTC]"
    with pytest.raises(ValueError, match="hour_start"):
        charts.net_energy_trend(hourly_frame().rename(columns={"hour_start": "when"}))


def test_hourly_heatmap_averages_net_energy_per_site_and_hour_of_day():
    fig = charts.hourly_heatmap(hourly_frame())

    (heatmap,) = fig.data
    z = np.asarray(heatmap.z, dtype=float)
    assert list(heatmap.y) == ["site-a", "site-b"]
    assert z.shape == (2, 24)
    assert z[0, 5] == 3.0  # mean of 2 and 4 at 05:00 UTC
    assert z[0, 23] == -1.0
    assert z[1, 5] == 7.0
    assert math.isnan(z[1, 6])
    assert fig.layout.xaxis.title.text == "Hour of day [UTC]"
    assert fig.layout.coloraxis.colorbar.title.text == "Mean net energy [kWh]"


def test_hourly_heatmap_takes_the_hour_in_the_given_time_zone():
    fig = charts.hourly_heatmap(hourly_frame(), tz="Europe/Berlin")  # UTC+2 in June

    z = np.asarray(fig.data[0].z, dtype=float)
    assert z[0, 7] == 3.0
    assert z[0, 1] == -1.0  # 23:00 UTC is 01:00 the next day in Berlin
    assert fig.layout.xaxis.title.text == "Hour of day [Europe/Berlin]"


def test_ingestion_statistics_sums_the_ledger_by_file_status():
    status = pd.DataFrame(
        {
            "key": ["raw/a.json", "raw/b.json", "raw/c.csv"],
            "etag": ["1", "2", "3"],
            "status": ["processed", "processed", "failed"],
            "read": [10, 5, 0],
            "stored": [9, 5, 0],
            "quarantined": [1, 0, 0],
            "anomalies": [2, 1, 0],
            "error": [None, None, "not parseable"],
        }
    )
    fig = operations.ingestion_statistics(status)

    processed = by_name(fig)["processed"]
    assert dict(zip(processed.x, processed.y, strict=True)) == {
        "read": 15,
        "stored": 14,
        "quarantined": 1,
        "anomalies": 3,
    }
    assert "3 files" in fig.layout.title.text
    assert "1 failed" in fig.layout.title.text
    assert fig.layout.yaxis.title.text == "Readings [count]"
    assert fig.layout.xaxis.title.text == "Ledger metric"
    assert processed.marker.color == palette.STATUS_COLOURS["processed"]


CHARTS = [
    charts.energy_over_time,
    charts.site_comparison,
    charts.efficiency_zones,
    charts.anomaly_distribution,
    charts.net_energy_trend,
    charts.hourly_heatmap,
    operations.ingestion_statistics,
    charts.generated_vs_consumed,
]
EMPTY_WITH_COLUMNS = [
    readings_frame().iloc[0:0],
    site_summary().iloc[0:0],
    site_summary().iloc[0:0],
    site_summary().iloc[0:0],
    hourly_frame().iloc[0:0],
    hourly_frame().iloc[0:0],
    pd.DataFrame(columns=["key", "etag", "status", "read", "stored", "quarantined", "anomalies", "error"]),
    site_summary().iloc[0:0],
]


@pytest.mark.parametrize("chart", CHARTS, ids=lambda f: f.__name__)
def test_a_frame_with_no_columns_gives_an_annotated_empty_figure(chart):
    fig = chart(pd.DataFrame())
    assert len(fig.data) == 0
    assert fig.layout.annotations[0].text.startswith("No ")
    assert fig.layout.title.text
    assert not charts.has_data(fig)


@pytest.mark.parametrize(
    ("chart", "frame"), list(zip(CHARTS, EMPTY_WITH_COLUMNS, strict=True)), ids=[f.__name__ for f in CHARTS]
)
def test_a_frame_with_columns_and_no_rows_gives_an_annotated_empty_figure(chart, frame):
    fig = chart(frame)
    assert len(fig.data) == 0
    assert fig.layout.annotations[0].text.startswith("No ")


def test_a_frame_with_rows_but_missing_columns_is_an_error():
    with pytest.raises(ValueError, match="efficiency_pct"):
        charts.efficiency_zones(pd.DataFrame({"site_id": ["a"]}))


# --- labels, palettes, the generated-vs-consumed scatter -----------------------------------------------------


def test_efficiency_zones_label_every_bar_without_rounding_it_into_the_next_zone():
    fig = charts.efficiency_zones(site_summary())

    label_of_site = {a.x: a.text for a in fig.layout.annotations if a.name == charts.BAR_LABEL}
    assert label_of_site["site-a"] == "130 %"
    assert label_of_site["site-e"] == "119 %"  # 119.9 % is amber: not labelled 120 %
    assert label_of_site["site-c"] == "60 %"
    assert fig.layout.yaxis.range[1] > 130  # room above the highest label
    assert any(a.text == "no consumption" for a in fig.layout.annotations)


def test_net_energy_trend_colours_sites_without_the_zone_and_severity_colours():
    sites = pd.concat([hourly_frame().assign(site_id=f"site-{i}") for i in range(9)])

    fig = charts.net_energy_trend(sites)

    colours = {trace.line.color for trace in fig.data}
    assert len(colours) == 9
    meaningful = {*palette.ZONE_COLOURS.values(), *palette.SEVERITY_COLOURS.values(), palette.ANOMALY_MARKER_COLOUR}
    assert not colours & meaningful


def test_generated_vs_consumed_puts_each_site_at_its_energies_with_100_and_120_percent_lines():
    fig = charts.generated_vs_consumed(site_summary())

    points = {
        site: (x, y, trace.marker.color)
        for trace in fig.data
        for site, x, y in zip(trace.text, trace.x, trace.y, strict=True)
    }
    assert points["site-a"] == (100.0, 130.0, palette.ZONE_COLOURS[palette.ZONE_GOOD])
    assert points["site-c"] == (100.0, 60.0, palette.ZONE_COLOURS[palette.ZONE_POOR])
    assert points["site-d"][2] == palette.ZONE_COLOURS[palette.ZONE_NONE]  # nothing consumed
    assert fig.layout.xaxis.title.text == "Consumed [kWh]"
    assert fig.layout.yaxis.title.text == "Generated [kWh]"
    slopes = sorted(shape.y1 / shape.x1 for shape in fig.layout.shapes)
    assert slopes == pytest.approx([1.0, 1.2])
    assert {a.text for a in fig.layout.annotations} == {"100 %", "120 %"}
    assert list(fig.layout.xaxis.range) == list(fig.layout.yaxis.range)


def test_every_chart_axis_has_a_title_and_energy_axes_carry_kwh():
    figures = [
        charts.energy_over_time(readings_frame(), "site-a"),
        charts.site_comparison(site_summary()),
        charts.efficiency_zones(site_summary()),
        charts.generated_vs_consumed(site_summary()),
        charts.anomaly_distribution(site_summary()),
        charts.net_energy_trend(hourly_frame()),
        charts.hourly_heatmap(hourly_frame()),
    ]
    for fig in figures:
        for axis in (fig.layout.xaxis, fig.layout.yaxis):
            title = axis.title.text
            assert title, fig.layout.title.text
            assert "energy" not in title.lower() or "[kWh]" in title, title
