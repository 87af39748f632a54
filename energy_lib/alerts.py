"""Anomaly alerts: one SNS message per file that has anomalies.

Message attributes let subscribers filter: ``severity`` (the highest in the file, String),
``site_id`` (every site with an anomaly, String.Array), ``anomalies`` (Number), ``kind`` (``anomaly``;
the daily summary of :func:`summary_message` is ``summary``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from energy_lib.rules import highest
from energy_lib.wording import count

SUBJECT_LIMIT = 99  # SNS subjects must be shorter than 100 characters
SITES_LISTED = 100  # sites named in the body and the site_id attribute; SNS messages stop at 256 KiB
BODY_ROWS = 50  # anomalies listed one by one in the body; the rest are counted


def plain_subject(text: str) -> str:
    """What SNS accepts as a subject: printable ASCII, at most 100 characters."""
    printable = "".join(c if c.isprintable() else " " for c in text)
    return printable.encode("ascii", "replace").decode()[:SUBJECT_LIMIT]


def message(source_key: str, anomalies: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The Publish request (without TopicArn) for a file's anomaly items."""
    severity = highest([item["severity"] for item in anomalies])
    all_sites = sorted({item["site_id"] for item in anomalies})
    sites = all_sites[:SITES_LISTED]
    more_sites = f" and {len(all_sites) - len(sites)} more" if len(all_sites) > len(sites) else ""
    subject = (
        f"[{severity}] {count(len(anomalies), 'energy anomaly', 'energy anomalies')} in {source_key.rsplit('/', 1)[-1]}"
    )
    lines = [
        f"{count(len(anomalies), 'anomalous reading')} in s3 object {source_key}",
        f"Highest severity: {severity}. Sites: {', '.join(sites)}{more_sites}.",
        "",
        "severity  site  timestamp  generated_kwh  consumed_kwh  reasons",
    ]
    for item in anomalies[:BODY_ROWS]:
        lines.append(
            f"{item['severity']}  {item['site_id']}  {item['timestamp']}  {item['energy_generated_kwh']}  "
            f"{item['energy_consumed_kwh']}  {', '.join(item['anomaly_reasons'])}"
        )
    if len(anomalies) > BODY_ROWS:
        lines.append(f"... and {len(anomalies) - BODY_ROWS} more (query anomalies for the full list)")
    return {
        "Subject": plain_subject(subject),
        "Message": "\n".join(lines),
        "MessageAttributes": {
            "severity": {"DataType": "String", "StringValue": severity},
            "site_id": {"DataType": "String.Array", "StringValue": json.dumps(sites)},
            "anomalies": {"DataType": "Number", "StringValue": str(len(anomalies))},
            "kind": {"DataType": "String", "StringValue": "anomaly"},
        },
    }


def publish(sns: Any, topic_arn: str, source_key: str, anomalies: Sequence[dict[str, Any]]) -> str | None:
    """Send the file's alert; None when it has no anomalies."""
    if not anomalies:
        return None
    return sns.publish(TopicArn=topic_arn, **message(source_key, anomalies))["MessageId"]


def summary_message(summary: dict[str, Any], start: str, end: str) -> dict[str, Any]:
    """The Publish request (without TopicArn) of a period's summary (``energy_lib.query.summary``).

    It carries ``kind = summary`` and no ``severity``, so subscribers filter it apart from anomaly alerts.
    """
    fleet = summary["fleet"]
    lines = [
        f"Energy summary {start} to {end} (UTC)",
        f"Sites {fleet['sites']}, readings {fleet['readings']}, anomalies {fleet['anomalies']} "
        f"({_percent(fleet['anomaly_rate_pct'])})",
        f"Valid readings: generated {fleet['energy_generated_kwh']} kWh, consumed {fleet['energy_consumed_kwh']} "
        f"kWh, net {fleet['net_energy_kwh']} kWh, efficiency {_percent(fleet['efficiency_pct'])}",
        f"Flagged readings (anomalies, not in the totals): generated {fleet['flagged_energy_generated_kwh']} kWh, "
        f"consumed {fleet['flagged_energy_consumed_kwh']} kWh",
        "",
        "site  generated_kwh  consumed_kwh  net_kwh  efficiency_pct  anomalies  flagged_generated_kwh",
    ]
    lines += [
        f"{s['site_id']}  {s['energy_generated_kwh']}  {s['energy_consumed_kwh']}  {s['net_energy_kwh']}  "
        f"{_percent(s['efficiency_pct'], '')}  {s['anomalies']}  {s['flagged_energy_generated_kwh']}"
        for s in summary["sites"]
    ]
    return {
        "Subject": plain_subject(
            f"Energy summary {start[:10]}: {count(fleet['readings'], 'reading')}, "
            f"{count(fleet['anomalies'], 'anomaly', 'anomalies')}"
        ),
        "Message": "\n".join(lines),
        "MessageAttributes": {"kind": {"DataType": "String", "StringValue": "summary"}},
    }


def _percent(value: Any, unit: str = " %") -> str:
    """A percentage as written in a message: ``n/a`` when it is undefined (nothing consumed, no readings)."""
    return "n/a" if value is None else f"{value}{unit}"
