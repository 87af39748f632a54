"""Simulation runs never replace stored data silently: the plan against what is stored, appending by default,
replacing when asked, through the library and ``energy-workbook simulate``, on a real moto server with the real
pipeline processing the files."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from energy_lib import query, raw_objects
from energy_lib.clients import client
from energy_lib.config import Settings
from energy_lib.workbook.simulator import runs
from energy_lib.workbook.sites import registry
from tests.integration.harness import Pipeline
from tests.integration.test_site_health import run_cli

pytestmark = pytest.mark.stack
DAY = datetime(2025, 6, 11, tzinfo=timezone.utc)
NEXT_DAY = DAY + timedelta(days=1)
HALF_HOURLY = runs.Choice(sites=2, start=DAY, hours=24, interval_minutes=30, seed=7)


def stored(settings: Settings, start: datetime = DAY, end: datetime = NEXT_DAY) -> dict[str, list[dict[str, Any]]]:
    """Each site's stored readings in ``[start, end)``."""
    dynamodb = client("dynamodb", settings)
    return {site: query.readings(settings, dynamodb, site, start, end) for site in ("SITE_001", "SITE_002")}


def intervals(settings: Settings) -> dict[str, int]:
    return {site.site_id: site.interval_minutes for site in registry.list_sites(settings, client("dynamodb", settings))}


def run(settings: Settings, choice: runs.Choice) -> tuple[runs.Plan, dict[str, Any]]:
    plan = runs.plan(settings, choice)
    result = runs.run_once(settings, plan)
    Pipeline(settings).drain()
    return plan, result


def test_a_run_replaces_nothing_unless_asked_and_appends_after_the_stored_readings(settings: Settings) -> None:
    # GIVEN a day of half-hourly readings of two sites, stored and registered at 30 minutes
    first, _ = run(settings, HALF_HOURLY)
    assert (first.stored, first.in_the_way, first.moved, len(first.entries)) == (0, 0, False, 2)
    assert "Nothing stored for these sites is replaced" in runs.describe(first)
    day = stored(settings)
    assert [len(rows) for rows in day.values()] == [48, 48] and intervals(settings) == {"SITE_001": 30, "SITE_002": 30}

    # WHEN the same run comes again: the same values, nothing replaced, it runs where asked
    again, _ = run(settings, HALF_HOURLY)
    assert (again.stored, again.replaced, again.between, again.moved) == (96, 0, 0, False)
    assert "(96 stored readings written again with the same values)" in runs.describe(again)
    assert {s: [r["energy_generated_kwh"] for r in rows] for s, rows in stored(settings).items()} == {
        s: [r["energy_generated_kwh"] for r in rows] for s, rows in day.items()
    }

    # WHEN a 5-minute run of the same day is planned (as the panel's defaults did to the demo's day)
    five = replace(HALF_HOURLY, interval_minutes=5, seed=42)
    plan = runs.plan(settings, five)
    # THEN it says what it would replace, and by default appends after the latest stored reading instead
    assert (plan.stored, plan.replaced, plan.between, plan.sites_with_readings) == (96, 96, 0, 2)
    assert plan.moved and plan.choice.start == NEXT_DAY  # after 23:30's half-hour: midnight
    assert plan.latest == DAY + timedelta(hours=23, minutes=30)
    assert (plan.registered, plan.changed_sites, plan.changed_fields, plan.entries) == (
        2,
        ("SITE_001", "SITE_002"),
        ("interval_minutes",),
        (),
    )
    said = runs.describe(plan)
    assert said.startswith(
        "The period 2025-06-11 00:00 to 2025-06-12 00:00 UTC holds 96 stored readings of 2 sites that this run "
        "would replace: it appends after the latest stored reading (2025-06-11 23:30 UTC) instead, from "
        "2025-06-12 00:00 UTC. 2 registered sites keep their entries (interval_minutes other than the run's). "
        "--replace replaces the stored readings and registers the sites anew."
    )
    result = runs.run_once(settings, plan)
    Pipeline(settings).drain()
    # THEN the stored day and the registry are untouched, and the next day holds the 5-minute readings
    assert result["appended"] and result["start"] == "2025-06-12T00:00:00Z" and result["replaced_readings"] == 0
    assert {s: [r["energy_generated_kwh"] for r in rows] for s, rows in stored(settings).items()} == {
        s: [r["energy_generated_kwh"] for r in rows] for s, rows in day.items()
    }
    assert intervals(settings) == {"SITE_001": 30, "SITE_002": 30}
    assert [len(rows) for rows in stored(settings, NEXT_DAY, NEXT_DAY + timedelta(days=1)).values()] == [288, 288]

    # WHEN the 5-minute run of the first day is asked to replace
    plan = runs.plan(settings, replace(five, replace=True))
    assert (plan.moved, plan.replaced, len(plan.entries)) == (False, 96, 2)
    assert runs.describe(plan) == (
        "This run replaces 96 stored readings of 2 sites in 2025-06-11 00:00 to 2025-06-12 00:00 UTC. It registers "
        "2 sites anew (interval_minutes changed)."
    )
    result = runs.run_once(settings, plan)
    Pipeline(settings).drain()
    # THEN it is done: the day holds the 5-minute readings, the registry their interval
    assert result["replaced_readings"] == 96 and not result["appended"]
    assert [len(rows) for rows in stored(settings).values()] == [288, 288]
    assert intervals(settings) == {"SITE_001": 5, "SITE_002": 5}


def test_readings_between_the_run_s_intervals_count_as_in_the_way(settings: Settings) -> None:
    # GIVEN a day of 5-minute readings
    run(settings, replace(HALF_HOURLY, interval_minutes=5))
    # WHEN an hourly run of that day is planned: it writes 24 of the 288 moments, the other 264 would stay mixed in
    plan = runs.plan(settings, replace(HALF_HOURLY, interval_minutes=60, replace=True))
    # THEN all of them are counted: 24 replaced with other values, 264 between its readings
    assert (plan.stored, plan.replaced, plan.between) == (576, 48, 528)
    assert "and 528 stored readings between its readings stay" in runs.describe(plan)


def test_continuous_batches_start_after_the_stored_readings_unless_asked(settings: Settings) -> None:
    # GIVEN two sites with readings up to 2025-06-11 23:30 (half-hourly), and a continuous run started at 23:52
    run(settings, HALF_HOURLY)
    at = DAY + timedelta(hours=23, minutes=52)
    choice = replace(HALF_HOURLY, interval_minutes=5, every_minutes=30)
    # WHEN it is planned: its first batch would cover 23:20 on, where 2 readings of each site are stored
    plan = runs.plan(settings, choice, continuous=True, at=at)
    # THEN it starts after them (the half hour of 23:30 ends at midnight); asked to replace, at 23:20
    assert (plan.requested, plan.stored, plan.replaced, plan.end) == (at - timedelta(minutes=32), 2, 2, None)
    assert plan.moved and plan.choice.start == NEXT_DAY and plan.simulation is None
    asked = runs.plan(settings, replace(choice, replace=True), continuous=True, at=at)
    assert not asked.moved and asked.choice.start == at - timedelta(minutes=32)
    with pytest.raises(ValueError, match="continuous batches"):
        runs.run_once(settings, plan)


def test_simulate_says_what_it_would_replace_before_writing_and_replaces_only_with_replace(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ("simulate", "--sites", "2", "--start", "2025-06-11T00:00:00Z", "--seed", "7", "--json")
    # GIVEN a half-hourly day stored by the command line
    code, out, err = run_cli(monkeypatch, capsys, settings, *common, "--interval-minutes", "30")
    Pipeline(settings).drain()
    assert code == 0 and json.loads(out)["readings"] == 96 and "Nothing stored for these sites" in err
    day = stored(settings)
    # WHEN a 5-minute run of the same day is asked for with --dry-run
    code, out, err = run_cli(monkeypatch, capsys, settings, *common, "--dry-run")
    # THEN it says what the run would replace and where it would go, and writes nothing
    assert code == 0 and err.count("\n") == 1 and "holds 96 stored readings of 2 sites" in err
    planned = json.loads(out)
    assert (planned["would_replace"], planned["appended"], planned["start"]) == (96, True, "2025-06-12T00:00:00Z")
    assert planned["entries_changed"] == ["SITE_001", "SITE_002"] and planned["entries_written"] == 0
    assert not raw_objects.files(settings, client("s3", settings), prefix="raw/2025/06/12/")
    # WHEN it runs without --replace: it appends
    code, out, err = run_cli(monkeypatch, capsys, settings, *common)
    Pipeline(settings).drain()
    assert (
        code == 0
        and json.loads(out)["start"] == "2025-06-12T00:00:00Z"
        and "--replace replaces the stored readings" in err
    )
    assert stored(settings).keys() == day.keys() and [len(r) for r in stored(settings).values()] == [48, 48]
    # WHEN it runs with --replace: the day is replaced, the sites registered anew
    code, out, err = run_cli(monkeypatch, capsys, settings, *common, "--replace")
    Pipeline(settings).drain()
    assert code == 0 and json.loads(out)["replaced_readings"] == 96
    assert err.startswith(
        "This run replaces 96 stored readings of 2 sites in 2025-06-11 00:00 to 2025-06-12 00:00 UTC."
    )
    assert [len(rows) for rows in stored(settings).values()] == [288, 288] and set(intervals(settings).values()) == {5}
