"""Anomaly alerts: one SNS message per file that has anomalies.

Message attributes let subscribers filter: ``severity`` (the highest in the file, String),
``site_id`` (every site with an anomaly, String.Array), ``anomalies`` (Number), ``kind`` (``anomaly``;
the daily summary of :func:`summary_message` is ``summary``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from energy_lib.rules import highest
from energy_lib.wording import count, freshness

SUBJECT_LIMIT = 99  # SNS subjects must be shorter than 100 characters
SITES_LISTED = 100  # sites named in the body and the site_id attribute; SNS messages stop at 256 KiB
BODY_ROWS = 50  # anomalies listed one by one in the body; the rest are counted
SITES_KEPT = 1000  # sites a tally keeps by name (in the ledger's checkpoint, which DynamoDB bounds at 400 KB)


def plain_subject(text: str) -> str:
    """What SNS accepts as a subject: printable ASCII, at most 100 characters."""
    printable = "".join(c if c.isprintable() else " " for c in text)
    return printable.encode("ascii", "replace").decode()[:SUBJECT_LIMIT]


@dataclass
class Tally:
    """What a file's alert says, gathered chunk by chunk (and kept in the ledger's checkpoint between
    invocations): the anomalies by severity, the sites that had one (the first ``SITES_KEPT``) and the first
    ``BODY_ROWS`` anomalies."""

    severities: dict[str, int] = field(default_factory=dict)
    sites: list[str] = field(default_factory=list)  # sorted
    more_sites: bool = False  # more than SITES_KEPT sites had an anomaly
    rows: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, anomalies: Sequence[dict[str, Any]]) -> Tally:
        tally = cls()
        tally.add(anomalies)
        return tally

    @property
    def anomalies(self) -> int:
        return sum(self.severities.values())

    def add(self, anomalies: Sequence[dict[str, Any]]) -> None:
        """Count the anomaly items of one chunk."""
        for item in anomalies:
            self.severities[item["severity"]] = self.severities.get(item["severity"], 0) + 1
            if len(self.rows) < BODY_ROWS:
                self.rows.append(
                    f"{item['severity']}  {item['site_id']}  {item['timestamp']}  {item['energy_generated_kwh']}  "
                    f"{item['energy_consumed_kwh']}  {', '.join(item['anomaly_reasons'])}"
                )
        sites = set(self.sites).union(item["site_id"] for item in anomalies)
        self.more_sites = self.more_sites or len(sites) > SITES_KEPT
        self.sites = sorted(sites)[:SITES_KEPT]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Tally:
        return cls(**values)


def message(source_key: str, tally: Tally) -> dict[str, Any]:
    """The Publish request (without TopicArn) for a file's anomalies."""
    severity = highest(list(tally.severities))
    anomalies = tally.anomalies
    sites = tally.sites[:SITES_LISTED]
    if tally.more_sites:
        more_sites = f" and more than {SITES_KEPT - len(sites)} more"
    else:
        more_sites = f" and {len(tally.sites) - len(sites)} more" if len(tally.sites) > len(sites) else ""
    subject = (
        f"[{severity}] {count(anomalies, 'energy anomaly', 'energy anomalies')} in {source_key.rsplit('/', 1)[-1]}"
    )
    lines = [
        f"{count(anomalies, 'anomalous reading')} in s3 object {source_key}",
        f"Highest severity: {severity}. Sites: {', '.join(sites)}{more_sites}.",
        "",
        "severity  site  timestamp  generated_kwh  consumed_kwh  reasons",
        *tally.rows,
    ]
    if anomalies > len(tally.rows):
        lines.append(f"... and {anomalies - len(tally.rows)} more (query anomalies for the full list)")
    return {
        "Subject": plain_subject(subject),
        "Message": "\n".join(lines),
        "MessageAttributes": {
            "severity": {"DataType": "String", "StringValue": severity},
            "site_id": {"DataType": "String.Array", "StringValue": json.dumps(sites)},
            "anomalies": {"DataType": "Number", "StringValue": str(anomalies)},
            "kind": {"DataType": "String", "StringValue": "anomaly"},
        },
    }


def publish(sns: Any, topic_arn: str, source_key: str, tally: Tally) -> str | None:
    """Send the file's alert; None when it has no anomalies."""
    if not tally.anomalies:
        return None
    return sns.publish(TopicArn=topic_arn, **message(source_key, tally))["MessageId"]


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
        freshness(fleet, summary["complete_through"]),
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
