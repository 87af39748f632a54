"""Anomaly alerts: one SNS message per file that has anomalies.

Message attributes let subscribers filter: ``severity`` (the highest in the file, String),
``site_id`` (every site with an anomaly, String.Array), ``anomalies`` (Number).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from energy_lib.rules import highest

SUBJECT_LIMIT = 100  # SNS subject limit [characters]
BODY_ROWS = 50  # anomalies listed one by one in the body; the rest are counted


def message(source_key: str, anomalies: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The Publish request (without TopicArn) for a file's anomaly items."""
    severity = highest([item["severity"] for item in anomalies])
    sites = sorted({item["site_id"] for item in anomalies})
    subject = f"[{severity}] {len(anomalies)} energy anomalies in {source_key.rsplit('/', 1)[-1]}"
    lines = [
        f"{len(anomalies)} anomalous readings in s3 object {source_key}",
        f"Highest severity: {severity}. Sites: {', '.join(sites)}.",
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
        "Subject": subject[:SUBJECT_LIMIT].encode("ascii", "replace").decode(),
        "Message": "\n".join(lines),
        "MessageAttributes": {
            "severity": {"DataType": "String", "StringValue": severity},
            "site_id": {"DataType": "String.Array", "StringValue": json.dumps(sites)},
            "anomalies": {"DataType": "Number", "StringValue": str(len(anomalies))},
        },
    }


def publish(sns: Any, topic_arn: str, source_key: str, anomalies: Sequence[dict[str, Any]]) -> str | None:
    """Send the file's alert; None when it has no anomalies."""
    if not anomalies:
        return None
    return sns.publish(TopicArn=topic_arn, **message(source_key, anomalies))["MessageId"]
