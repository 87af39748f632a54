"""Fleet performance per site from a lake folder: every field, the figures the simulator injected recovered
within the targets' bounds, expected - lost = actual, and refusals that say why."""

from __future__ import annotations

import json
from typing import Any

import pytest

from energy_lib.config import Settings
from energy_lib.workbook.fleet import analysis, readings
from energy_lib.workbook.fleet.losses import CAUSES
from energy_lib.workbook.sites.registry import RegisteredSite
from tests.unit.workbook.fleet.conftest import START


def test_every_site_has_every_field_as_json(small_fleet: dict[str, Any]) -> None:
    rows = [result.row() for result in small_fleet["results"]]
    assert [row["site_id"] for row in rows] == ["PV_001", "PV_002", "PV_003"]
    json.dumps(rows, allow_nan=False)  # plain JSON: no NaN, no numpy types
    for row in rows:
        assert row["expectation"] == "weather" and row["period_start"] == "2024-04-01"
        assert set(row["lost_energy_kwh"]) == set(CAUSES)
        assert row["expected_kwh"] - sum(row["lost_energy_kwh"].values()) == pytest.approx(row["actual_kwh"], abs=0.1)
        # degradation needs two years: refused, with the reason, and no interval
        assert row["degradation_pct_per_year"] is None and row["degradation_ci95_pct_per_year"] is None
        assert "needs 2 years" in row["degradation_refused"]
        assert 0.5 < row["performance_ratio"] < 1.0 and row["performance_ratio_stc"] > 0


def test_availability_and_clipping_are_recovered_within_their_bounds(small_fleet: dict[str, Any]) -> None:
    for result in small_fleet["results"]:
        row, injected = result.row(), small_fleet["truth"][result.row()["site_id"]]
        assert abs(row["availability_pct"] - injected["availability_pct"]) <= 0.5
        assert abs(row["energy_availability_pct"] - injected["energy_availability_pct"]) <= 0.5
        assert abs(row["clipping_loss_pct"] - injected["clipping_loss_pct"]) <= 1.0
        assert row["outages"] == pytest.approx(injected["outages"], abs=1)


def test_a_site_without_readings_says_so(small_fleet: dict[str, Any]) -> None:
    site = small_fleet["sites"][0]
    stranger = RegisteredSite(**{**site.row(), "site_id": "ELSEWHERE", "commissioned_on": site.commissioned_on})
    table = readings.read_days(Settings(), [stranger, site], START, small_fleet["end"], small_fleet["lake_dir"])
    result = analysis.assess_site(stranger, readings.site_readings(table, stranger), START, small_fleet["end"])
    assert result.row()["note"] == "no readings in the period" and result.daily.empty


def test_the_lake_read_a_group_of_sites_at_a_time_is_the_lake_read_at_once(
    small_fleet: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN three sites (and one without readings), read in one DuckDB query
    site = small_fleet["sites"][0]
    stranger = RegisteredSite(**{**site.row(), "site_id": "ELSEWHERE", "commissioned_on": site.commissioned_on})
    sites = [*small_fleet["sites"], stranger]
    at_once = readings.read_days(Settings(), sites, START, small_fleet["end"], small_fleet["lake_dir"])
    # WHEN the same is read two sites at a time
    monkeypatch.setattr(readings, "SITES_PER_QUERY", 2)
    grouped = readings.read_days(Settings(), sites, START, small_fleet["end"], small_fleet["lake_dir"])
    # THEN the same rows, nothing lost or doubled (a day's sum to the last bit of its summation order)
    grouped = grouped.sort_by([("site_id", "ascending"), ("solar_day", "ascending")])
    assert at_once.num_rows == 3 * (small_fleet["end"] - START).days
    assert grouped.drop_columns("generated_kwh").equals(at_once.drop_columns("generated_kwh"))
    assert grouped["generated_kwh"].to_pylist() == pytest.approx(at_once["generated_kwh"].to_pylist(), rel=1e-12)


def test_sites_are_chosen_from_the_registry_by_name(small_fleet: dict[str, Any]) -> None:
    sites = small_fleet["sites"]
    assert analysis.chosen_sites(sites) == sites
    assert [site.site_id for site in analysis.chosen_sites(sites, ["PV_003", "PV_001"])] == ["PV_001", "PV_003"]
    with pytest.raises(ValueError, match="not registered: NOPE"):
        analysis.chosen_sites(sites, ["NOPE"])
    assert analysis.chosen_sites([]) == []
    assert analysis.assess_fleet(Settings(), [], START, small_fleet["end"], small_fleet["lake_dir"]) == []
    with pytest.raises(ValueError, match="UTC midnights"):
        analysis.assess_fleet(Settings(), sites, "2024-04-01T06:00:00Z", "2024-05-01", small_fleet["lake_dir"])
