"""The operations notebook's widgets on a real moto server: the dead-letter queue and its redrive, health while
the queue holds messages, and the quarantine browser."""

from __future__ import annotations

import json
import re
from functools import partial
from pathlib import Path

import pytest

from energy_lib.clients import client
from energy_lib.config import Settings
from energy_lib.quarantine import put_file, put_rejects
from energy_lib.readings import Reject
from energy_lib.workbook.aws import ops
from energy_lib.workbook.notebook import frames, operations, views
from tests.conftest import EVENTS, fresh_stack
from tests.unit.workbook.notebook.test_views import END, START, fleet


@pytest.fixture
def stack(moto_port: int, tmp_path: Path) -> Settings:
    return fresh_stack(moto_port, tmp_path)


def test_dead_letters_name_their_objects_and_the_button_redrives_them(stack: Settings) -> None:
    # GIVEN an S3 notification (its key URL-encoded, as S3 sends it) and a foreign message in the DLQ
    sqs = client("sqs", stack)
    dlq = ops.queue_url(stack, stack.dead_letter_queue)
    notification = json.loads((EVENTS / "sqs_s3_notification.json").read_text())["Records"][0]["body"]
    sqs.send_message(QueueUrl=dlq, MessageBody=notification)
    sqs.send_message(QueueUrl=dlq, MessageBody="not an S3 event")

    waiting = ops.queue_depth(stack, stack.ingest_queue)  # S3's test event when the notification was set

    # WHEN the operations notebook shows the queue
    panel = operations.dead_letters(partial(frames.dead_letters, stack), partial(ops.redrive, stack))

    # THEN each message names its object, decoded; only the foreign one needs its body shown
    shown = panel.messages.set_index("objects")
    assert set(shown.index) == {"raw/2025/06/11/site one(2).json", ""}
    assert shown.loc["", "body"] == "not an S3 event"
    assert shown.loc["raw/2025/06/11/site one(2).json", "body"] == ""
    assert "2 messages in the dead-letter queue" in panel.message.value

    # AND WHEN the redrive button is clicked, both go back to the ingest queue
    panel.button.click()

    assert panel.moved == 2
    assert "Moved 2 messages back to the ingest queue" in panel.message.value
    assert ops.queue_depths(stack) == {
        "ingest_queue": waiting + 2,
        "dead_letter_queue": 0,
        "rollups_dead_letter_queue": 0,
    }
    assert panel.messages.empty


def test_health_is_degraded_while_the_dead_letter_queue_holds_messages_and_the_queue_line_follows_a_redrive(
    stack: Settings,
) -> None:
    # GIVEN one message in the dead-letter queue
    sqs = client("sqs", stack)
    sqs.send_message(QueueUrl=ops.queue_url(stack, stack.dead_letter_queue), MessageBody="poison")

    # THEN health counts the queue as degraded, with the count, and the KPI says so
    rows = {row["resource"]: row for row in ops.health(stack)}
    dlq = rows[stack.dead_letter_queue]
    assert (dlq["status"], dlq["healthy"]) == ("degraded", False)
    assert dlq["detail"].startswith("1 message that failed every delivery")
    assert sum(row["healthy"] for row in rows.values()) == len(rows) - 1
    kpi = {item.label: item for item in views.kpis(fleet(), list(rows.values()), START, END).items}["System health"]
    assert kpi.text == f"{len(rows) - 1}/{len(rows)}" and stack.dead_letter_queue in kpi.note

    # WHEN the operations panel shows the queues and the redrive button is clicked
    panel = operations.dead_letters(
        partial(frames.dead_letters, stack), partial(ops.redrive, stack), depths=partial(ops.queue_depths, stack)
    )
    assert "dead-letter queue <b" in panel.depths.value and ">1</b>" in panel.depths.value
    panel.button.click()

    # THEN the queue line is loaded again: the dead-letter queue is empty, and health is back
    assert re.search(r"dead-letter queue <b[^>]*>0</b>", panel.depths.value)
    assert all(row["healthy"] for row in ops.health(stack))


def test_the_quarantine_browser_lists_objects_and_shows_rejected_readings_and_file_reasons(stack: Settings) -> None:
    # GIVEN rejected readings of one file and an unparseable file, quarantined by the pipeline's own code
    s3 = client("s3", stack)
    rejects = [
        Reject(3, '{"site_id": "S1", "timestamp": "soon"}', ("bad_timestamp",)),
        Reject(9, '{"site_id": "S1"}', ("missing_field", "missing_field")),
    ]
    put_rejects(s3, stack.bucket, stack.quarantine_prefix, "raw/2025/06/11/a.json", "e1", rejects)
    s3.put_object(Bucket=stack.bucket, Key="raw/2025/06/11/b.csv", Body=b"\x00\x01")
    put_file(s3, stack.bucket, stack.quarantine_prefix, "raw/2025/06/11/b.csv", "e2", None, "not UTF-8 text")

    # WHEN the quarantine is listed and browsed
    objects = frames.quarantine(stack)
    browser = operations.quarantine_browser(objects, partial(frames.quarantined, stack))

    # THEN the reason file is not listed apart, and each object is labelled by its source
    assert sorted(objects["label"]) == [
        "rejected readings: raw/2025/06/11/a.json",
        "unparseable file: raw/2025/06/11/b.csv",
    ]
    first = browser.shown
    if "reason" in first.columns:  # both were written within the same second: either may come first
        browser.object.value = objects.loc[objects["kind"] == "readings", "key"].item()
    assert browser.shown[["position", "reasons"]].values.tolist() == [
        [3, "bad_timestamp"],
        [9, "missing_field, missing_field"],
    ]
    browser.object.value = objects.loc[objects["kind"] == "files", "key"].item()
    assert browser.shown[["source_key", "reason"]].values.tolist() == [["raw/2025/06/11/b.csv", "not UTF-8 text"]]
