"""Fleet performance on moto through the command line: `fleet simulate` writes a fleet into the lake of the
local target (readings, weather stations, registry, truth file), `sites import-weather` stores a site's own
series, `fleet performance --json` gives every field per site, and bad input is refused with exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from energy_lib.clients import client
from energy_lib.config import Settings
from energy_lib.workbook.sites import registry, weather
from tests.integration.test_site_health import run_cli

FIELDS = (
    "expectation",
    "actual_kwh",
    "expected_kwh",
    "lost_energy_kwh",
    "availability_pct",
    "energy_availability_pct",
    "performance_ratio",
    "performance_ratio_stc",
    "degradation_pct_per_year",
    "degradation_ci68_pct_per_year",
    "degradation_ci95_pct_per_year",
    "degradation_refused",
    "soiling_loss_pct",
    "soiling_rate_pct_per_day",
    "cleaning_events",
    "clipping_loss_pct",
    "time_shift_minutes",
    "time_shifts",
)


def test_fleet_simulate_then_performance_on_the_local_target(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # GIVEN two simulated sites over 40 days at 30-minute readings, written into moto's lake
    truth_file = tmp_path / "truth.json"
    code, out, err = run_cli(
        monkeypatch, capsys, settings, "fleet", "simulate", "--sites", "2", "--start", "2024-03-01", "--days", "40",
        "--interval-minutes", "30", "--seed", "3", "--truth", str(truth_file), "--json",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["readings"] == 2 * 40 * 48 and json.loads(out)["weather_stations"] == 2
    truth = json.loads(truth_file.read_text())
    assert sorted(truth["sites"]) == ["PV_001", "PV_002"]
    registered = {site.site_id: site for site in registry.list_sites(settings, client("dynamodb", settings))}
    assert registered["PV_001"].tilt_deg is not None and registered["PV_001"].commissioned_on is not None
    assert weather.get_weather(settings, "PV_002") is not None
    # the same days again: refused, the lake is never overwritten
    code, _, err = run_cli(
        monkeypatch, capsys, settings, "fleet", "simulate", "--sites", "2", "--start", "2024-03-01", "--days", "40",
        "--interval-minutes", "30", "--seed", "3",
    )  # fmt: skip
    assert code == 1 and "already holds" in err

    # WHEN fleet performance runs over the 40 days
    code, out, err = run_cli(
        monkeypatch, capsys, settings, "fleet", "performance", "--start", "2024-03-01", "--end", "2024-04-10", "--json"
    )
    # THEN every site has every field; degradation is refused with the reason (under two years)
    assert code == 0, err
    rows = {row["site_id"]: row for row in json.loads(out)}
    assert sorted(rows) == ["PV_001", "PV_002"]
    for site_id, row in rows.items():
        assert all(field in row for field in FIELDS)
        assert row["expectation"] == "weather"
        assert row["degradation_pct_per_year"] is None and "2 years" in row["degradation_refused"]
        injected = truth["sites"][site_id]
        assert abs(row["availability_pct"] - injected["availability_pct"]) <= 0.5
        assert abs(row["clipping_loss_pct"] - injected["clipping_loss_pct"]) <= 1.0
        lost = row["lost_energy_kwh"]
        assert sum(lost.values()) == pytest.approx(row["expected_kwh"] - row["actual_kwh"], abs=1.0)
    # the clear sky for every site, when asked
    code, out, _ = run_cli(
        monkeypatch, capsys, settings, "fleet", "performance", "--start", "2024-03-01", "--end", "2024-04-10",
        "--sites", "PV_002", "--expectation", "clear-sky", "--json",
    )  # fmt: skip
    assert code == 0 and [row["expectation"] for row in json.loads(out)] == ["clear-sky"]
    # bad input: exit 2, one line
    for args, words in (
        (("--start", "2024-03-01"), "--start and --end"),
        (("--start", "2024-03-01", "--end", "2024-04-10", "--sites", "NOPE"), "not registered: NOPE"),
        (("--start", "2024-03-01T06:00:00Z", "--end", "2024-04-10"), "UTC midnights"),
    ):
        code, _, err = run_cli(monkeypatch, capsys, settings, "fleet", "performance", *args)
        assert code == 2 and words in err and err.count("\n") == 1


def test_sites_import_weather_validates_stores_and_merges(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    sites = tmp_path / "sites.csv"
    sites.write_text(
        "site_id,latitude,longitude,timezone,site_type,capacity_kw,interval_minutes,tilt_deg,azimuth_deg\n"
        "PLANT_A,36.8,-2.46,Europe/Madrid,solar,500,15,30,180\n"
    )
    assert run_cli(monkeypatch, capsys, settings, "sites", "import", str(sites))[0] == 0
    series = tmp_path / "weather.csv"
    series.write_text("timestamp,ghi_w_m2,temp_air_c\n2025-06-11T12:00:00Z,800,25.5\n2025-06-11T12:15:00Z,810.5,25.7\n")
    code, out, err = run_cli(monkeypatch, capsys, settings, "sites", "import-weather", "PLANT_A", str(series), "--json")
    assert code == 0, err
    assert json.loads(out)["imported"] == 2 and json.loads(out)["rows_stored"] == 2
    # a second file merges: its rows win at the same time
    series.write_text("timestamp,ghi_w_m2,temp_air_c\n2025-06-11T12:15:00Z,900,26\n2025-06-11T12:30:00Z,1,26\n")
    code, out, _ = run_cli(monkeypatch, capsys, settings, "sites", "import-weather", "PLANT_A", str(series), "--json")
    stored = weather.get_weather(settings, "PLANT_A")
    assert json.loads(out)["rows_stored"] == 3 and stored["ghi_w_m2"].tolist() == [800.0, 900.0, 1.0]
    # a wrong row stores nothing; an unregistered site is refused
    series.write_text("timestamp,ghi_w_m2,temp_air_c\n2025-06-11T13:00:00Z,100,25\n2025-06-11T13:15:00Z,100,hot\n")
    code, _, err = run_cli(monkeypatch, capsys, settings, "sites", "import-weather", "PLANT_A", str(series))
    assert code == 2 and "row 3, field temp_air_c: must be a number" in err
    assert len(weather.get_weather(settings, "PLANT_A")) == 3
    code, _, err = run_cli(monkeypatch, capsys, settings, "sites", "import-weather", "NOPE", str(series))
    assert code == 2 and "not registered" in err
