"""Report alerts: a failed run tells the alerts topic once per failing streak, and a success after it says so.

A run counts toward the streak of its schedule entry (a run on demand: of its notebook). The first failed run of
a streak publishes ``report_failed`` (severity HIGH) with the notebook, entry, period, reason, failing cell, the
first lines of its error and where the kept notebook is; later failures of the streak publish nothing; the
first success after a streak that was told publishes ``report_recovered`` (severity LOW). What was published is
in the run's history row (``alert``), so the next run knows, also on another machine (on AWS the history is in
S3).

Message attributes, for subscription filter policies: ``kind`` (String: ``report_failed``,
``report_recovered``), ``severity`` (String), ``notebook`` (String) and ``entry`` (String: the schedule entry,
or the notebook for a run on demand).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from energy_lib import timeutil
from energy_lib.alerts import plain_subject
from energy_lib.workbook.reports.records import FAILED, SUCCEEDED, RunRecord

FAILED_KIND, RECOVERED_KIND = "report_failed", "report_recovered"
SEVERITY = {FAILED_KIND: "HIGH", RECOVERED_KIND: "LOW"}


def _streak_key(row: Mapping[str, Any]) -> str:
    return str(row.get("entry") or row["notebook"])


def open_streak(rows: Sequence[Mapping[str, Any]], record: RunRecord) -> list[Mapping[str, Any]]:
    """The failed runs of ``record``'s entry since its last success (history ``rows``, oldest first; ``record``
    itself left out), oldest first."""
    streak: list[Mapping[str, Any]] = []
    for row in rows:
        if _streak_key(row) != record.streak_key or row["run_id"] == record.run_id:
            continue
        if row["status"] == SUCCEEDED:
            streak = []
        elif row["status"] == FAILED:
            streak.append(row)
    return streak


def kind_to_publish(rows: Sequence[Mapping[str, Any]], record: RunRecord) -> str | None:
    """``report_failed`` for the first failure of a streak that nobody was told of, ``report_recovered`` for a
    success ending a streak that was told; None otherwise."""
    told = any(row.get("alert") == FAILED_KIND for row in open_streak(rows, record))
    if record.status == FAILED:
        return None if told else FAILED_KIND
    if record.status == SUCCEEDED and told:
        return RECOVERED_KIND
    return None


def _where(record: RunRecord) -> str:
    schedule = record.schedule or {}
    if not schedule.get("entry"):
        return "Run on demand (no schedule entry)."
    return (
        f"Schedule entry: {schedule['entry']} ({schedule.get('every')}, period {schedule.get('period_start')} to "
        f"{schedule.get('period_end')}, end excluded)."
    )


def message(
    kind: str, record: RunRecord, kept: Mapping[str, str], streak: Sequence[Mapping[str, Any]] = ()
) -> dict[str, Any]:
    """The Publish request (without TopicArn) of a ``report_failed`` or ``report_recovered`` alert for
    ``record``; ``kept`` says where its ``ipynb`` and ``html`` are; ``streak`` are the failed runs before it."""
    started = timeutil.format_timestamp(record.started_utc)
    run = f"Run {record.run_id}, started {started}, {record.duration_s or 0:g} s, attempts {record.attempts}."
    if kind == FAILED_KIND:
        subject = f"[HIGH] Report failed: {record.notebook} ({record.reason})"
        cell = "no cell ran" if record.failed_cell is None else f"failing cell: index {record.failed_cell}"
        lines = [
            f"Report {record.notebook} failed, reason {record.reason}; {cell}.",
            _where(record),
            run,
            "",
            "Error:",
            *(f"  {line}" for line in (record.error_lines or (record.error or "",))),
            "",
            f"Kept notebook (with the traceback): {kept.get('ipynb')}",
            f"HTML: {kept.get('html')}",
            "",
            "Further failures of this entry send nothing until it succeeds again (then: report_recovered).",
        ]
    else:
        first = timeutil.format_timestamp(timeutil.utc(streak[0]["started_utc"])) if streak else "?"
        subject = f"[LOW] Report recovered: {record.notebook}"
        lines = [
            f"Report {record.notebook} succeeded again after {len(streak)} failed run(s) since {first}.",
            _where(record),
            run,
            f"HTML: {kept.get('html')}",
        ]
    return {
        "Subject": plain_subject(subject),
        "Message": "\n".join(lines),
        "MessageAttributes": {
            "kind": {"DataType": "String", "StringValue": kind},
            "severity": {"DataType": "String", "StringValue": SEVERITY[kind]},
            "notebook": {"DataType": "String", "StringValue": record.notebook},
            "entry": {"DataType": "String", "StringValue": record.streak_key},
        },
    }


def publish(
    sns: Any, topic_arn: str, rows: Sequence[Mapping[str, Any]], record: RunRecord, kept: Mapping[str, str]
) -> dict[str, Any] | None:
    """Publish what ``record`` calls for after the history ``rows`` (see :func:`kind_to_publish`); returns
    ``{"kind", "message_id"}``, or None when it calls for nothing."""
    kind = kind_to_publish(rows, record)
    if kind is None:
        return None
    request = message(kind, record, kept, open_streak(rows, record))
    return {"kind": kind, "message_id": sns.publish(TopicArn=topic_arn, **request)["MessageId"]}
