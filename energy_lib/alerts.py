"""Anomaly alerts: one SNS message per file that has anomalies.

The subject names what the alert is about, uniquely: the highest severity, how many anomalies, the site (or
the first site and how many more), the day (or first and last day) of the anomalous readings and the file's key,
``[HIGH] 3 anomalies, SITE_001, 2025-06-05: raw/2025/06/05/SITE_001-20250605T000000Z-s42.json``. SNS takes at
most 99 characters of printable ASCII: a subject that would be longer, or whose key is not plain ASCII, keeps
the end of the key and adds ``#`` and 8 hex digits of the key's SHA-256, so two files never share a subject.

Message attributes let subscribers filter: ``severity`` (the highest in the file, String),
``site_id`` (every site with an anomaly, String.Array), ``anomalies`` (Number), ``kind`` (``anomaly``;
the daily summary of :func:`summary_message` is ``summary``).
"""

from __future__ import annotations

import hashlib
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
SITE_CHARS = 24  # of a site id in a subject whose whole text would not fit
DIGEST_CHARS = 8  # hex digits of the key's SHA-256 in a subject that could not show the key whole


def plain_subject(text: str) -> str:
    """What SNS accepts as a subject: printable ASCII, at most 100 characters."""
    return _printable_ascii(text)[:SUBJECT_LIMIT]


def _printable_ascii(text: str) -> str:
    """``text`` with a space for each control character and ``?`` for each other character outside ASCII."""
    printable = "".join(c if c.isprintable() else " " for c in text)
    return printable.encode("ascii", "replace").decode()


@dataclass
class Tally:
    """What a file's alert says, gathered chunk by chunk (and kept in the ledger's checkpoint between
    invocations): the anomalies by severity, the sites that had one (the first ``SITES_KEPT``) and the first
    ``BODY_ROWS`` anomalies."""

    severities: dict[str, int] = field(default_factory=dict)
    sites: list[str] = field(default_factory=list)  # sorted
    more_sites: bool = False  # more than SITES_KEPT sites had an anomaly
    rows: list[str] = field(default_factory=list)
    first_at: str = ""  # timestamp of the earliest anomalous reading ("" before any)
    last_at: str = ""  # of the latest

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
        stamps = [self.first_at, self.last_at] if self.first_at else []
        stamps += [item["timestamp"] for item in anomalies]  # stored readings' fixed-width UTC text: sortable
        if stamps:
            self.first_at, self.last_at = min(stamps), max(stamps)
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
    when = days(tally)
    lines = [
        f"{count(anomalies, 'anomalous reading')} in s3 object {source_key}" + (f", of {when}" if when else ""),
        f"Highest severity: {severity}. Sites: {', '.join(sites)}{more_sites}.",
        "",
        "severity  site  timestamp  generated_kwh  consumed_kwh  reasons",
        *tally.rows,
    ]
    if anomalies > len(tally.rows):
        lines.append(f"... and {anomalies - len(tally.rows)} more (query anomalies for the full list)")
    return {
        "Subject": subject(severity, tally, source_key),
        "Message": "\n".join(lines),
        "MessageAttributes": {
            "severity": {"DataType": "String", "StringValue": severity},
            "site_id": {"DataType": "String.Array", "StringValue": json.dumps(sites)},
            "anomalies": {"DataType": "Number", "StringValue": str(anomalies)},
            "kind": {"DataType": "String", "StringValue": "anomaly"},
        },
    }


def sites_text(sites: Sequence[str], more_sites: bool = False) -> str:
    """The first of ``sites`` and how many more (``SITE_001 +4 more``; ``+999+ more`` when ``more_sites``: more
    were left out), for a subject."""
    more = len(sites) - 1
    return sites[0] + (f" +{more}{'+' if more_sites else ''} more" if more else "")


def days(tally: Tally) -> str:
    """The UTC day of the anomalous readings, or the first and the last: ``2025-06-05 to 2025-06-06`` ("" for
    a tally kept by an earlier version, which did not note them)."""
    first, last = tally.first_at[:10], tally.last_at[:10]
    return first if first == last else f"{first} to {last}"


def subject(severity: str, tally: Tally, source_key: str) -> str:
    """The subject of a file's alert: severity, count, site(s), day(s) and key, unique to the key (see above)."""
    who = sites_text(tally.sites, tally.more_sites)
    head = f"[{severity}] {count(tally.anomalies, 'anomaly', 'anomalies')}"
    whole = ", ".join(part for part in (head, who, days(tally)) if part) + f": {source_key}"
    if plain_subject(whole) == whole:
        return whole
    digest = hashlib.sha256(source_key.encode("utf-8", "surrogatepass")).hexdigest()[:DIGEST_CHARS]
    if len(who) > SITE_CHARS:
        who = who[: SITE_CHARS - 3] + "..."
    start, tag = ", ".join(part for part in (head, who, days(tally)) if part) + ": ", f" #{digest}"
    room = SUBJECT_LIMIT - len(start) - len(tag)
    key = _printable_ascii(source_key)
    shown = key if len(key) <= room else "..." + key[len(key) - room + 3 :] if room > 3 else ""
    return plain_subject(start + shown)[: SUBJECT_LIMIT - len(tag)] + tag


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
