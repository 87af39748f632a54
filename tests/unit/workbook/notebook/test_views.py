"""What the notebooks display: connection line, KPI strip, site table, tables and messages. The operations
widgets on a real moto server: tests/integration/test_operations_panels.py."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import numpy as np
import pandas as pd

from energy_lib.config import Settings
from energy_lib.workbook.notebook import frames, operations, palette, views

START, END = "2025-06-11T00:00:00Z", "2025-06-12T00:00:00Z"
HEALTHY = [{"resource": "bucket", "healthy": True, "detail": "reachable"}] * 8


def per_site() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "site_id": ["SITE_001", "SITE_002", "SITE_003", "SITE_004"],
            "energy_generated_kwh": [3654.932, 5190.112, 691.565, 5.0],
            "energy_consumed_kwh": [2757.057, 4899.949, 2035.011, 0.0],
            "net_energy_kwh": [897.875, 290.163, -1343.446, 5.0],
            "readings": [288, 288, 288, 12],
            "valid_readings": [282, 279, 283, 12],
            "anomalies": [6, 9, 5, 0],
            "anomalies_low": [4, 0, 0, 0],
            "anomalies_medium": [2, 9, 0, 0],
            "anomalies_high": [0, 0, 4, 0],
            "anomalies_critical": [0, 0, 1, 0],
            "flagged_energy_generated_kwh": [-12.5, -30.0, 5000.0, 0.0],
            "flagged_energy_consumed_kwh": [3.1, 4.2, 5.2, 0.0],
            "efficiency_pct": [132.57, 105.92, 33.98, np.nan],
            "anomaly_rate_pct": [2.08, 3.13, 1.74, 0.0],
        }
    )


def fleet(**changes: object) -> dict:
    totals = {
        "sites": 5,
        "readings": 1440,
        "valid_readings": 1408,
        "anomalies": 32,
        "anomalies_low": 4,
        "anomalies_medium": 23,
        "anomalies_high": 4,
        "anomalies_critical": 1,
        "flagged_energy_generated_kwh": 4957.5,
        "flagged_energy_consumed_kwh": 12.5,
        "energy_generated_kwh": 17592.93,
        "energy_consumed_kwh": 18707.31,
        "net_energy_kwh": -1114.38,
        "efficiency_pct": 94.04,
        "anomaly_rate_pct": 2.22,
        "complete_through": datetime(2025, 6, 12, 0, 4, 30, tzinfo=timezone.utc),
        "rolled_up_through": datetime(2025, 6, 11, 23, 45, tzinfo=timezone.utc),
        "readings_after_rollups": 12,
    }
    return totals | changes


def cell_styles(table_html: str) -> dict[tuple[int, int], str]:
    """(row, column) -> the CSS a Styler table gives that cell."""
    styles: dict[tuple[int, int], str] = {}
    for selectors, properties in re.findall(r"([^{}]+)\{([^}]*)\}", table_html.split("</style>")[0]):
        for row, col in re.findall(r"_row(\d+)_col(\d+)", selectors):
            styles[(int(row), int(col))] = styles.get((int(row), int(col)), "") + properties
    return styles


# --- connection line ---------------------------------------------------------------------------------------


def test_the_connection_is_one_line_with_target_region_bucket_and_endpoint():
    line = views.connection(Settings(local_port=4733))

    assert str(line) == (
        "Connected: target local · region eu-west-1 · bucket energy-workbook-data-local · "
        "endpoint http://127.0.0.1:4733"
    )
    assert "\n" not in line._repr_html_()
    assert "readings_table" not in line._repr_html_()


def test_on_aws_the_connection_names_the_default_endpoint():
    assert "endpoint AWS default" in str(views.connection(Settings(target="aws", bucket="b")))


# --- KPI strip -----------------------------------------------------------------------------------------------


def test_kpis_have_people_names_units_thousands_separators_and_the_period():
    strip = views.kpis(fleet(), HEALTHY, START, END)

    assert strip.as_dict() == {
        "Sites": "5",
        "Readings": "1,440",
        "Generated [kWh]": "17,592.9",
        "Consumed [kWh]": "18,707.3",
        "Net [kWh]": "-1,114.4",
        "Efficiency": "94.0 %",
        "Flagged generated [kWh]": "4,957.5",
        "Anomaly rate": "2.22 %",
        "System health": "8/8",
    }
    html = strip._repr_html_()
    assert "2025-06-11 00:00 → 2025-06-12 00:00 UTC" in html and "(24 h)" in html
    assert strip.freshness == (
        "Exact as of 2025-06-12 00:04:30 UTC: the rollups hold its readings up to 2025-06-11 23:45 UTC; "
        "12 readings after that were read from the readings table."
    )
    assert strip.freshness in html and strip.freshness in repr(strip)
    assert '<data value="17592.93">17,592.9</data>' in html  # the exact figure for machines
    assert "energy_generated_kwh" not in html


def test_the_efficiency_kpi_wears_its_zone_colour_and_health_turns_red_when_a_resource_fails():
    health = [*HEALTHY[:7], {"resource": "energy-workbook-ingest", "healthy": False, "detail": "gone"}]

    strip = views.kpis(fleet(efficiency_pct=121.0), health, START, END)

    items = {item.label: item for item in strip.items}
    assert items["Efficiency"].accent == palette.ZONE_COLOURS[palette.ZONE_GOOD]
    assert items["System health"].text == "7/8"
    assert items["System health"].accent == views.UNHEALTHY
    assert "energy-workbook-ingest" in items["System health"].note


def test_a_period_without_readings_says_so_once_and_shows_only_health():
    strip = views.kpis(fleet(sites=0, readings=0, anomalies=0, efficiency_pct=None), HEALTHY, START, "2025-06-18")

    text = repr(strip)
    assert "No readings between 2025-06-11 00:00 and 2025-06-18 00:00 UTC as of 2025-06-12 00:04:30 UTC" in text
    assert [item.label for item in strip.items] == ["System health"]
    assert "(7 days)" in strip._repr_html_()
    assert strip._repr_html_().count("No readings") == 1


# --- site table ----------------------------------------------------------------------------------------------


def test_the_site_table_is_curated_rounded_and_ends_with_the_fleet():
    styler = views.site_table(per_site(), fleet())

    assert list(styler.data.columns) == list(views.SITE_TABLE_COLUMNS.values())
    assert styler.data["Site"].tolist() == ["SITE_001", "SITE_002", "SITE_003", "SITE_004", "Fleet"]
    html = styler.to_html()
    for shown in ("3,654.9", "-1,343.4", "17,592.9", "132.6", "2.08", "1,408", "n/a", "5,000.0", "CRITICAL 1 · HIGH 4"):
        assert f">{shown}</td>" in html, shown
    assert "897.875" not in html
    assert 'class="row_heading' not in html  # no index


def test_the_site_table_colours_efficiency_as_the_zones_chart_does():
    styler = views.site_table(per_site(), fleet())

    efficiency = list(styler.data.columns).index("Efficiency [%]")
    styles = cell_styles(styler.to_html())
    colour = {row: re.search(r"background-color: (#\w+)", styles[(row, efficiency)]).group(1) for row in range(5)}
    assert colour == {
        0: palette.ZONE_COLOURS[palette.ZONE_GOOD],
        1: palette.ZONE_COLOURS[palette.ZONE_FAIR],
        2: palette.ZONE_COLOURS[palette.ZONE_POOR],
        3: palette.ZONE_COLOURS[palette.ZONE_NONE],
        4: palette.ZONE_COLOURS[palette.ZONE_POOR],  # the fleet, 94 %
    }
    assert "font-weight: bold" in styles[(4, 0)]


def test_no_sites_no_site_table():
    assert views.site_table(per_site().iloc[0:0], fleet()) is None


# --- tables, messages, lines ---------------------------------------------------------------------------------


def test_an_empty_table_is_a_message_not_a_bare_header():
    shown = views.table(pd.DataFrame(columns=["source_key", "error"]), "No ledger errors.")

    assert isinstance(shown, views.Html)
    assert str(shown) == "No ledger errors."
    assert "<th" not in shown._repr_html_()


def test_a_table_hides_its_index_and_shows_whole_numbers_without_decimals():
    frame = pd.DataFrame({"site_id": ["S1"], "capacity_kw": [1150.0], "latitude": [37.38912]})

    html = views.table(frame, "none").to_html()

    assert ">1,150</td>" in html and ">37.389</td>" in html
    assert 'class="row_heading' not in html


def test_site_choices_are_empty_without_sites_and_put_the_asked_site_first():
    assert frames.site_choices([]) == []
    assert frames.site_choices(["A", "B", "C"], "B") == ["B", "A", "C"]
    assert frames.site_choices([], "B") == ["B"]  # asked for by name: drawn, and shown to have no readings


def test_counts_and_lines_read_as_sentences():
    assert views.count(1, "message") == "1 message"
    assert views.count(1440, "reading") == "1,440 readings"
    assert views.count(1, "anomaly", "anomalies") == "1 anomaly"
    assert views.count(0, "anomaly", "anomalies") == "0 anomalies"
    line = operations.queue_line({"ingest_queue": 0, "dead_letter_queue": 3, "rollups_dead_letter_queue": 2})
    assert str(line) == (
        "Messages waiting or in flight: ingest queue 0 · dead-letter queue 3 · rollups dead-letter queue 2"
    )
    assert 'color:#d62728">3<' in line._repr_html_() and 'color:#d62728">2<' in line._repr_html_()
    statistics = {"files": 5, "processed": 5, "read": 1440, "stored": 1440, "quarantined": 0, "anomalies": 32}
    assert str(views.run_statistics_line(statistics, 32)) == (
        "5 of 5 files processed: 1,440 readings read, 1,440 stored, 0 quarantined, 32 anomalies found (32 injected)"
    )
    one = {"files": 1, "processed": 1, "read": 1, "stored": 1, "quarantined": 0, "anomalies": 1}
    assert (
        str(views.run_statistics_line(one))
        == "1 of 1 file processed: 1 reading read, 1 stored, 0 quarantined, 1 anomaly found"
    )
    assert str(views.settled_line({"processed": 1})) == (
        "The 1 object under raw/ has a final status (1 processed); the ingest queue is empty."
    )


def test_health_table_marks_each_resource():
    health = [*HEALTHY[:2], {"resource": "topic", "healthy": False, "detail": "NotFound"}]

    styler = operations.health_table(health)

    assert styler.data["Status"].tolist() == ["healthy", "healthy", "unhealthy"]
    assert "2 of 3 resources healthy" in styler.to_html()
    assert "#d62728" in cell_styles(styler.to_html())[(2, 1)]


def test_a_degraded_resource_is_amber_in_the_table_and_in_the_kpi_with_its_detail():
    degraded = {"resource": "energy-workbook-ingest-dlq", "status": "degraded", "healthy": False, "detail": "1 message"}
    health = [*HEALTHY[:7], degraded]

    styler = operations.health_table(health)
    assert styler.data["Status"].tolist()[-1] == "degraded"
    assert "7 of 8 resources healthy, 1 degraded" in styler.to_html()
    assert palette.WARNING in cell_styles(styler.to_html())[(7, 1)]

    kpi = {item.label: item for item in views.kpis(fleet(), health, START, END).items}["System health"]
    assert (kpi.text, kpi.accent) == ("7/8", palette.WARNING)
    assert kpi.note == "degraded: energy-workbook-ingest-dlq (1 message)"


def test_the_alerts_table_names_its_columns_for_people():
    alert = {
        "sent_at": "2025-06-11T12:00:03.511Z",
        "kind": "anomaly",
        "subject": "[HIGH] 1 energy anomaly in a.json",
        "severity": "HIGH",
        "sites": "SITE_001",
        "anomalies": 1,
        "events": 0,
        "message": "...",
    }
    styler = operations.alerts_table([alert])
    assert list(styler.data.columns) == [
        "Sent [UTC]",
        "Kind",
        "Severity",
        "Sites",
        "Anomalies",
        "Site events",
        "Report",
        "Subject",
    ]
    assert styler.data["Sent [UTC]"].tolist() == ["2025-06-11 12:00:03"]
    assert "sent_at" not in styler.to_html()
    assert str(operations.alerts_table([])) == "No alerts received."


def test_the_totals_are_of_valid_readings_and_the_flagged_energy_stands_beside_them_by_severity():
    # GIVEN a summary that keeps flagged readings apart (the rollups' contract), a 5,000 kWh CRITICAL one among them
    strip = views.kpis(fleet(), HEALTHY, START, END)
    items = {item.label: item for item in strip.items}
    # THEN the totals and the efficiency say they are of valid readings, and the flagged energy stands beside them
    assert items["Generated [kWh]"].note == "valid readings"
    assert items["Efficiency"].note.startswith("valid readings; ")
    assert items["Readings"].note == "1,408 valid, 32 flagged"
    assert items["Flagged generated [kWh]"].text == "4,957.5"
    assert items["Flagged generated [kWh]"].note == (
        "CRITICAL 1 · HIGH 4 · MEDIUM 23 · LOW 4; consumed 12.5 kWh; not in the totals"
    )
    assert items["Flagged generated [kWh]"].accent == palette.SEVERITY_COLOURS["CRITICAL"]  # the highest present
    # AND the site table shows each site's flagged readings by severity and their energy beside its valid totals
    table = views.site_table(per_site(), fleet()).data.set_index("Site")
    assert table["Flagged by severity"].to_dict() == {
        "SITE_001": "MEDIUM 2 · LOW 4",
        "SITE_002": "MEDIUM 9",
        "SITE_003": "CRITICAL 1 · HIGH 4",
        "SITE_004": "",
        "Fleet": "CRITICAL 1 · HIGH 4 · MEDIUM 23 · LOW 4",
    }
    assert table["Flagged generated [kWh]"].to_dict() == {
        "SITE_001": -12.5,
        "SITE_002": -30.0,
        "SITE_003": 5000.0,
        "SITE_004": 0.0,
        "Fleet": 4957.5,
    }
    assert table.loc["SITE_003", "Generated [kWh]"] == 691.565  # the valid total, without the 5,000
    assert table["Valid readings"].tolist() == [282, 279, 283, 12, 1408]
    # a period without flagged readings: the flagged KPI is neutral and says so
    clean = {"anomalies": 0, "anomalies_low": 0, "anomalies_medium": 0, "anomalies_high": 0, "anomalies_critical": 0}
    quiet = {item.label: item for item in views.kpis(fleet(**clean), HEALTHY, START, END).items}
    assert quiet["Flagged generated [kWh]"].accent == views.NEUTRAL
    assert quiet["Flagged generated [kWh]"].note.startswith("no flagged readings; ")
    # only low ones: the lightest colour
    low = {**clean, "anomalies": 3, "anomalies_low": 3}
    light = {item.label: item for item in views.kpis(fleet(**low), HEALTHY, START, END).items}
    assert light["Flagged generated [kWh]"].accent == palette.SEVERITY_COLOURS["LOW"]
