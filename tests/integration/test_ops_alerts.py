"""``energy-workbook ops alerts`` after every kind of alert: anomaly alerts of real files, a site-health alert and a
summary (``report publish-summary``), as the alerts queue received them from SNS on a real moto server."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from energy_lib.clients import client
from energy_lib.config import Settings
from energy_lib.workbook import simulator
from energy_lib.workbook.cli import main
from energy_lib.workbook.health import alerts
from energy_lib.workbook.health.events import Event
from tests.integration.harness import Pipeline, put

pytestmark = pytest.mark.stack
START = datetime(2025, 6, 11, tzinfo=timezone.utc)


def test_ops_alerts_prints_whole_counts_and_events_and_no_none(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN two days of two sites with anomalies, processed by the real pipeline (one alert per file)
    run = simulator.simulate(simulator.default_fleet(2), START, 48, 60, 0.1, 4)
    for file in simulator.to_files(run):
        put(settings, file.key, file.body)
    Pipeline(settings).drain()
    # and a site-health alert of 3 events, and the day's summary published from the command line
    at = pd.Timestamp(START)
    events = [Event("gap", "SITE_001", at + timedelta(hours=h), at + timedelta(hours=h + 2), "none") for h in (1, 5, 9)]
    client("sns", settings).publish(TopicArn=settings.topic_arn, **alerts.message(events, "2025-06-11"))
    monkeypatch.setenv("ENERGY_ENDPOINT_URL", settings.endpoint)
    assert main(["report", "publish-summary", "--start", "2025-06-11", "--end", "2025-06-12"]) == 0
    capsys.readouterr()
    # WHEN the alerts are listed as a table
    assert main(["ops", "alerts"]) == 0
    table = capsys.readouterr().out
    # THEN counts are whole numbers, events show where an alert has them, nothing says None or NaN
    lines = table.splitlines()
    header = lines[0].split()
    assert header[:2] == ["sent_at", "kind"] and "anomalies" in header and "events" in header
    assert "None" not in table and "NaN" not in table and ".0 " not in table
    kinds = [line.split()[1] for line in lines[1:] if line.split()[1] in ("anomaly", "summary", "data_quality")]
    assert sorted(set(kinds)) == ["anomaly", "data_quality", "summary"]
    anomaly_files = [line for line in lines if " anomaly " in line]
    assert len(anomaly_files) == 4  # a file per site and day, each with its anomalies: 4 subjects of their own
    assert len({line.split(": raw/")[1].split()[0] for line in anomaly_files}) == 4
    [quality] = [line for line in lines if "data_quality" in line]
    assert re.search(r"MEDIUM SITE_001 +3 Site health", quality)  # no anomalies (blank), its 3 events
