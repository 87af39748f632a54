"""Site health against a real moto server: the registry table, freshness from the all-time rollups, the
assessment of readings stored by the real pipeline, alerts published once, and the email filter."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest

from energy_lib import query
from energy_lib.clients import client
from energy_lib.compaction.days import compact
from energy_lib.config import Settings
from energy_lib.dynamo import Cost, to_item
from energy_lib.workbook import simulator
from energy_lib.workbook.aws import ops
from energy_lib.workbook.cli import main
from energy_lib.workbook.health import alerts, assessment, freshness
from energy_lib.workbook.health.events import Event
from energy_lib.workbook.simulator import FrozenMeter, Outage, Silence
from energy_lib.workbook.sites import registry
from tests.integration.harness import Pipeline, put

pytestmark = pytest.mark.stack
START = datetime(2025, 6, 9, tzinfo=timezone.utc)
END = START + timedelta(days=3)


def ingest(settings: Settings, run: simulator.Simulation) -> None:
    """Put the simulation's files and process them with the real handlers, as on AWS: the ingest function on
    the S3 notifications, then the aggregator on the readings stream (which keeps each site's last reading)."""
    for file in simulator.to_files(run):
        put(settings, file.key, file.body)
    Pipeline(settings).drain()
    compact(settings, client("s3", settings))  # the lake, as the local stack folds it: these days are history


def alert_messages(settings: Settings) -> list[dict[str, Any]]:
    return [row for row in ops.alerts(settings) if row["kind"] != "anomaly"]


def test_the_registry_lists_with_one_query_and_shows_sites_that_only_have_readings(settings: Settings) -> None:
    dynamodb = client("dynamodb", settings)
    fleet = simulator.default_fleet(3)
    registry.put_sites(settings, dynamodb, simulator.registry_entries(fleet[:2], 60))
    ingest(settings, simulator.simulate(fleet, START, 2, 60, 0, 1))  # SITE_003 sends readings, unregistered
    cost = Cost()
    listed = registry.list_sites(settings, dynamodb, cost)
    assert [site.site_id for site in listed] == ["SITE_001", "SITE_002"] and cost.requests == 1
    assert registry.get_site(settings, dynamodb, "SITE_002") == listed[1]
    assert registry.get_site(settings, dynamodb, "SITE_003") is None
    rows = registry.listing(settings, dynamodb)
    assert [(row["site_id"], row["registered"]) for row in rows] == [
        ("SITE_001", True),
        ("SITE_002", True),
        ("SITE_003", False),
    ]
    assert query.readings(settings, dynamodb, "SITE_003")  # stored all the same


def put_totals(settings: Settings, rows: list[dict[str, Any]]) -> None:
    """All-time rollup items as the stream aggregator keeps them (the rollup contract's ``last_reading_at``)."""
    dynamodb = client("dynamodb", settings)
    for row in rows:
        dynamodb.put_item(TableName=settings.rollups_table, Item=to_item({"bucket": "T", **row}))


def test_freshness_reads_the_registry_and_the_all_time_rollups_only(settings: Settings) -> None:
    dynamodb = client("dynamodb", settings)
    registry.put_sites(settings, dynamodb, simulator.registry_entries(simulator.default_fleet(3), 15))
    put_totals(
        settings,
        [
            {"site_id": "SITE_001", "readings": Decimal(96), "last_reading_at": "2025-06-12T08:45:00Z"},
            {"site_id": "SITE_002", "readings": Decimal(80), "last_reading_at": "2025-06-12T06:00:00Z"},
            {"site_id": "STRAY", "readings": Decimal(2), "last_reading_at": "2025-06-12T08:00:00Z"},
        ],
    )
    cost = Cost()
    frame = freshness.check(settings, dynamodb, datetime(2025, 6, 12, 9, tzinfo=timezone.utc), cost=cost)
    assert dict(zip(frame["site_id"], frame["status"], strict=True)) == {
        "SITE_001": "reporting",
        "SITE_002": "silent",  # 3 h > 6 x 15 min
        "SITE_003": "never reported",
        "STRAY": "unregistered",
    }
    assert (cost.requests, cost.items_read) == (2, 6)  # 3 registry items, 3 all-time rollup items


def test_freshness_at_a_past_moment_is_not_changed_by_readings_stored_after_it(settings: Settings) -> None:
    # GIVEN two sites with a day of hourly readings, SITE_002 silent from 18:00, judged at the day's end
    dynamodb = client("dynamodb", settings)
    fleet = simulator.default_fleet(2)
    registry.put_sites(settings, dynamodb, simulator.registry_entries(fleet, 60))
    day, as_of = START, START + timedelta(days=1)
    ingest(settings, simulator.simulate(fleet, day, 24, 60, 0, 1, [Silence("SITE_002", day + timedelta(hours=18))]))
    before = freshness.check(settings, dynamodb, as_of)
    assert dict(zip(before["site_id"], before["status"], strict=True)) == {
        "SITE_001": "reporting",
        "SITE_002": "silent",
    }
    # WHEN both sites report the next day (later readings: the all-time rollups now end the day after)
    ingest(settings, simulator.simulate(fleet, as_of, 24, 60, 0, 2))
    cost = Cost()
    after = freshness.check(settings, dynamodb, as_of, cost=cost)
    # THEN the verdict at the day's end is what it was: each site judged by its last reading before it
    pd.testing.assert_frame_equal(after, before)
    assert cost.requests == 2 + 2  # registry and rollups, and one Query per site that reported after as_of
    # and now, each site's latest reading counts
    later = freshness.check(settings, dynamodb, as_of + timedelta(days=1))
    assert set(later["status"]) == {"reporting"}


def test_the_assessment_finds_the_faults_in_readings_the_pipeline_stored(settings: Settings) -> None:
    # GIVEN three registered sites whose readings went through the real pipeline, with three faults
    dynamodb = client("dynamodb", settings)
    fleet = simulator.default_fleet(3)
    registry.put_sites(settings, dynamodb, simulator.registry_entries(fleet, 30))
    faults = [
        Outage("SITE_001", datetime(2025, 6, 11, 10, tzinfo=timezone.utc), 2),  # Seville, noon local
        FrozenMeter("SITE_002", datetime(2025, 6, 11, 17, tzinfo=timezone.utc), 3),  # Phoenix, 10:00 local
        Silence("SITE_003", datetime(2025, 6, 11, 12, tzinfo=timezone.utc)),
    ]
    ingest(settings, simulator.simulate(fleet, START, 72, 30, 0.02, 5, faults))
    # WHEN the last day is assessed
    cost = Cost()
    result = assessment.assess(
        settings, dynamodb, "2025-06-11", "2025-06-12", END, ("quality", "performance"), cost=cost
    )
    # THEN each fault is found at its site, start and duration
    found = {(e.kind, e.site_id, f"{e.start:%Y-%m-%dT%H:%M}", e.duration_min) for e in result.events}
    assert found == {
        ("daytime_outage", "SITE_001", "2025-06-11T10:00", 120.0),
        ("frozen_values", "SITE_002", "2025-06-11T17:00", 180.0),
        ("gap", "SITE_003", "2025-06-11T12:00", 720.0),
    }
    quality = result.quality.set_index("site_id")
    assert quality.loc["SITE_003", "completeness_pct"] == 50.0
    assert quality.loc["SITE_001", "completeness_pct"] == 100.0
    # and the performance figures come from the daily rollups, exactly
    day = result.performance[result.performance["site_id"] == "SITE_001"].iloc[0]
    summary = query.summary(settings, dynamodb, "2025-06-11", "2025-06-12")
    stored = next(row for row in summary["sites"] if row["site_id"] == "SITE_001")
    assert day["generated_kwh"] == stored["energy_generated_kwh"]
    # reading cost in DynamoDB: the registry and the daily rollups of the period + baseline; the day's readings
    # are older than the hot window: the lake's
    assert cost.items_read == 3 + 3 * 3  # 3 sites; 3 days of rollups (the stack holds 3 days)


def health_events() -> list[Event]:
    at = datetime(2025, 6, 11, 10, tzinfo=timezone.utc)
    return [
        Event("daytime_outage", "SITE_001", pd.Timestamp(at), pd.Timestamp(at + timedelta(hours=2)), "zero"),
        Event("underperformance", "SITE_002", pd.Timestamp(at), pd.Timestamp(at + timedelta(days=3)), "low"),
    ]


def test_an_alert_is_published_once_per_key_even_by_runs_at_the_same_time(settings: Settings) -> None:
    sns, dynamodb = client("sns", settings), client("dynamodb", settings)
    key = "quality+performance#2025-06-11T00:00:00Z/2025-06-12T00:00:00Z"
    outcomes: list[dict[str, Any]] = []

    def publish() -> None:
        outcomes.append(alerts.publish_once(settings, sns, dynamodb, health_events(), key, "2025-06-11"))

    threads = [threading.Thread(target=publish) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    publish()  # and once more, later
    assert sum(outcome["published"] for outcome in outcomes) == 1
    assert {outcome["reason"] for outcome in outcomes} == {"published", f"already published for {key}"}
    [message] = alert_messages(settings)
    assert (message["kind"], message["severity"], message["sites"], message["events"]) == (
        "data_quality, underperformance",
        "HIGH",
        "SITE_001, SITE_002",
        2,
    )
    assert message["subject"] == (
        "[HIGH] Site health 2025-06-11, SITE_001 +1 more: 1 quality event, 1 underperforming site"
    )


def test_a_failed_publish_leaves_no_marker_so_a_later_run_publishes(settings: Settings) -> None:
    dynamodb, key = client("dynamodb", settings), "freshness#2025-06-12T09"
    with pytest.raises(Exception):  # noqa: B017 - the topic does not exist: SNS refuses the publish
        alerts.publish_once(
            Settings(
                target="local",
                local_port=settings.local_port,
                endpoint_url=settings.endpoint_url,
                alerts_topic_arn=settings.topic_arn + "-missing",
            ),
            client("sns", settings),
            dynamodb,
            health_events(),
            key,
            "at 2025-06-12 09:00 UTC",
        )
    outcome = alerts.publish_once(settings, client("sns", settings), dynamodb, health_events(), key, "now")
    assert outcome["published"] and len(alert_messages(settings)) == 1


def subscribe_queue(settings: Settings, name: str, filter_policy: dict[str, Any]) -> str:
    sqs = client("sqs", settings)
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    client("sns", settings).subscribe(
        TopicArn=settings.topic_arn,
        Protocol="sqs",
        Endpoint=arn,
        Attributes={"FilterPolicy": json.dumps(filter_policy), "FilterPolicyScope": "MessageAttributes"},
    )
    return url


def subjects(settings: Settings, url: str) -> set[str]:
    messages = client("sqs", settings).receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
    return {json.loads(m["Body"])["Subject"] for m in messages.get("Messages", [])}


def test_subscribers_filter_site_health_alerts_by_severity_and_kind(settings: Settings) -> None:
    # GIVEN the email subscription's filter as terraform/alerts.tf writes it for the default threshold (HIGH;
    # the parity test keeps its shape), and a subscriber who wants underperformance only
    email = subscribe_queue(
        settings, "email-like", {"$or": [{"severity": ["HIGH", "CRITICAL"]}, {"kind": ["summary"]}]}
    )
    performance_only = subscribe_queue(settings, "performance-only", {"kind": ["underperformance"]})
    sns, at = client("sns", settings), datetime(2025, 6, 11, tzinfo=timezone.utc)
    outage, under = health_events()
    # WHEN a HIGH data-quality alert and a MEDIUM underperformance alert are published
    for events in ([outage], [under]):
        sns.publish(TopicArn=settings.topic_arn, **alerts.message(events, f"{at:%Y-%m-%d}"))
    # THEN email gets the HIGH one (as docs/site-health.md says: HIGH and CRITICAL), the other subscriber its kind
    assert subjects(settings, email) == {"[HIGH] Site health 2025-06-11, SITE_001: 1 quality event"}
    assert subjects(settings, performance_only) == {"[MEDIUM] Site health 2025-06-11, SITE_002: 1 underperforming site"}


def run_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], settings: Settings, *args: str):
    monkeypatch.setenv("ENERGY_ENDPOINT_URL", settings.endpoint_url)
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_sites_commands_import_list_show_and_refuse_bad_input(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path
) -> None:
    good = tmp_path / "sites.csv"
    good.write_text(
        "site_id,latitude,longitude,timezone,site_type,capacity_kw,interval_minutes\n"
        "PLANT_A,36.834,-2.4637,Europe/Madrid,solar,500.125,15\n"
    )
    code, out, _ = run_cli(monkeypatch, capsys, settings, "sites", "import", str(good), "--json")
    assert code == 0 and json.loads(out) == {"imported": 1, "sites": ["PLANT_A"]}
    code, out, _ = run_cli(monkeypatch, capsys, settings, "sites", "show", "PLANT_A", "--json")
    assert json.loads(out)["capacity_kw"] == 500.125 and "500.125" in out  # exact, as imported
    code, out, _ = run_cli(monkeypatch, capsys, settings, "sites", "list")
    assert code == 0 and "PLANT_A" in out and "Europe/Madrid" in out
    bad = tmp_path / "bad.csv"
    bad.write_text("site_id,latitude,longitude,timezone,site_type,capacity_kw,interval_minutes\nB,1,1,UTC,solar,0,5\n")
    code, out, err = run_cli(monkeypatch, capsys, settings, "sites", "import", str(bad))
    assert code == 2 and err.count("\n") == 1 and "row 2, field capacity_kw: must be a number above 0" in err
    code, _, err = run_cli(monkeypatch, capsys, settings, "sites", "show", "NOPE")
    assert code == 2 and "not registered and has no readings" in err
    code, _, err = run_cli(monkeypatch, capsys, settings, "sites", "import", str(tmp_path / "missing.csv"))
    assert code == 2 and "cannot read" in err
    code, _, err = run_cli(
        monkeypatch, capsys, settings, "sites", "assess", "--start", "2025-06-11T06:00:00Z", "--end", "2025-06-12"
    )
    assert code == 2 and "whole UTC days" in err
    code, _, err = run_cli(monkeypatch, capsys, settings, "sites", "silent", "--silent-after-intervals", "0")
    assert code == 2 and "silent_after_intervals must be above 0" in err


def test_sites_silent_publishes_once_an_hour(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sites = simulator.registry_entries(simulator.default_fleet(2), 5)
    registry.put_sites(settings, client("dynamodb", settings), sites)
    args = ("sites", "silent", "--as-of", "2025-06-12T09:10:00Z", "--publish", "--json")
    code, out, _ = run_cli(monkeypatch, capsys, settings, *args)
    assert code == 0 and [row["status"] for row in json.loads(out)] == ["never reported", "never reported"]
    run_cli(monkeypatch, capsys, settings, "sites", "silent", "--as-of", "2025-06-12T09:50:00Z", "--publish")
    [message] = alert_messages(settings)  # the same hour: published once
    assert (message["kind"], message["severity"], message["events"]) == ("site_silent", "HIGH", 2)
    run_cli(monkeypatch, capsys, settings, "sites", "silent", "--as-of", "2025-06-12T10:05:00Z", "--publish")
    assert len(alert_messages(settings)) == 2  # the next hour: again
