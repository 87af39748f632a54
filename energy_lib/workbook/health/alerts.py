"""Site-health alerts: a run of the checks publishes at most one message to the alerts topic, and only once
for its checks and period.

Message attributes, for subscription filter policies: ``kind`` (String.Array of ``site_silent``,
``data_quality``, ``underperformance``: what the message reports), ``severity`` (String, the highest of its
events), ``site_id`` (String.Array, the sites named, as in anomaly alerts) and ``events`` (Number).

Once per period: before publishing, the run writes a marker item (``record = "alert"``, ``id`` = checks and
period) to the sites table with a conditional put; a run that finds the marker already there publishes
nothing. A failed publish deletes its marker, so a later run can try again; a process killed between the
marker and the publish loses that period's message (the next period reports again what still holds).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from energy_lib.alerts import BODY_ROWS, SITES_LISTED, plain_subject, sites_text
from energy_lib.config import Settings
from energy_lib.dynamo import to_item
from energy_lib.rules import highest
from energy_lib.timeutil import format_timestamp
from energy_lib.workbook.health.events import Event

if TYPE_CHECKING:
    from energy_lib.workbook.health.assessment import Assessment

KINDS = ("site_silent", "data_quality", "underperformance")
RECORD = "alert"  # partition of the sites table that holds the markers
MARKER_LIFETIME = timedelta(days=35)
_NOUNS = {
    "site_silent": ("silent site", "silent sites"),
    "data_quality": ("quality event", "quality events"),
    "underperformance": ("underperforming site", "underperforming sites"),
}


def period_key(checks: Sequence[str], start: datetime, end: datetime, as_of: datetime) -> str:
    """What a run is about: its checks, the days it judged (quality, performance) and the hour of ``as_of``
    (freshness), e.g. ``freshness#2025-06-12T09``."""
    parts = ["+".join(checks)]
    if set(checks) - {"freshness"}:
        parts.append(f"{format_timestamp(start)}/{format_timestamp(end)}")
    if "freshness" in checks:
        parts.append(f"{as_of.astimezone(timezone.utc):%Y-%m-%dT%H}")
    return "#".join(parts)


def period_text(checks: Sequence[str], start: datetime, end: datetime, as_of: datetime, short: bool = False) -> str:
    """The period for people: ``2025-06-11`` (one day), ``2025-06-05 to 2025-06-11`` (days, inclusive), with
    ``at 2025-06-12 09:00 UTC`` for freshness (``short``: only the days when there are some)."""
    parts = []
    if set(checks) - {"freshness"}:
        last = end - timedelta(days=1)
        parts.append(f"{start:%Y-%m-%d}" if last <= start else f"{start:%Y-%m-%d} to {last:%Y-%m-%d}")
    if "freshness" in checks and not (short and parts):
        parts.append(f"at {as_of.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC")
    return " ".join(parts)


def _count(n: int, nouns: tuple[str, str]) -> str:
    return f"{n} {nouns[0] if n == 1 else nouns[1]}"


def message(events: Sequence[Event], period: str, headline: str | None = None) -> dict[str, Any] | None:
    """The Publish request (without TopicArn) reporting ``events`` of ``period`` (``headline``: a shorter
    period for the subject); None when there are none."""
    if not events:
        return None
    kinds = [kind for kind in KINDS if any(event.alert_kind == kind for event in events)]
    severity = highest([event.severity for event in events])
    all_sites = sorted({event.site_id for event in events})
    sites = all_sites[:SITES_LISTED]
    counts = []
    for kind in kinds:
        of_kind = [event for event in events if event.alert_kind == kind]
        n = len(of_kind) if kind == "data_quality" else len({event.site_id for event in of_kind})
        counts.append(_count(n, _NOUNS[kind]))
    more_sites = f" and {len(all_sites) - len(sites)} more" if len(all_sites) > len(sites) else ""
    lines = [
        f"Site health, {period}: {', '.join(counts)}.",
        f"Highest severity: {severity}. Sites: {', '.join(sites)}{more_sites}.",
        "",
        "severity  kind  site  start (UTC)  duration [min]  detail",
    ]
    ordered = sorted(events, key=lambda event: (KINDS.index(event.alert_kind), event.site_id, event.start))
    for event in ordered[:BODY_ROWS]:
        row = event.row()
        lines.append(
            f"{row['severity']}  {row['kind']}  {row['site_id']}  {row['start_utc']}  {row['duration_min']:,.0f}  "
            f"{row['detail']}"
        )
    if len(events) > BODY_ROWS:
        lines.append(f"... and {len(events) - BODY_ROWS} more (run 06-assess-site-health for the full list)")
    return {
        "Subject": plain_subject(
            f"[{severity}] Site health {headline or period}, {sites_text(all_sites)}: {', '.join(counts)}"
        ),
        "Message": "\n".join(lines),
        "MessageAttributes": {
            "kind": {"DataType": "String.Array", "StringValue": json.dumps(kinds)},
            "severity": {"DataType": "String", "StringValue": severity},
            "site_id": {"DataType": "String.Array", "StringValue": json.dumps(sites)},
            "events": {"DataType": "Number", "StringValue": str(len(events))},
        },
    }


def publish_once(
    settings: Settings,
    sns: Any,
    dynamodb: Any,
    events: Sequence[Event],
    key: str,
    period: str,
    headline: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Publish the message of ``events`` over ``period`` (:func:`period_text`) unless one was already published
    for ``key`` (:func:`period_key`).

    Returns
    -------
    dict
        ``published`` (bool), ``message_id`` (or None), ``reason`` (``published``, ``nothing to report`` or
        ``already published for <key>``), ``key``.
    """
    request = message(events, period, headline)
    if request is None:
        return {"published": False, "message_id": None, "reason": "nothing to report", "key": key, "subject": None}
    now = now or datetime.now(timezone.utc)
    marker = {"record": RECORD, "id": key}
    try:
        dynamodb.put_item(
            TableName=settings.sites_table,
            Item=to_item(
                {
                    **marker,
                    "claimed_at": format_timestamp(now),
                    "subject": request["Subject"],
                    "expires_at": int((now + MARKER_LIFETIME).timestamp()),
                }
            ),
            ConditionExpression="attribute_not_exists(id)",
        )
    except ClientError as error:
        if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        return {
            "published": False,
            "message_id": None,
            "reason": f"already published for {key}",
            "key": key,
            "subject": request["Subject"],
        }
    try:
        message_id = sns.publish(TopicArn=settings.topic_arn, **request)["MessageId"]
    except BaseException:
        dynamodb.delete_item(TableName=settings.sites_table, Key=to_item(marker))
        raise
    dynamodb.update_item(
        TableName=settings.sites_table,
        Key=to_item(marker),
        UpdateExpression="SET message_id = :id",
        ExpressionAttributeValues=to_item({":id": message_id}),
    )
    return {
        "published": True,
        "message_id": message_id,
        "reason": "published",
        "key": key,
        "subject": request["Subject"],
    }


def publish_assessment(settings: Settings, sns: Any, dynamodb: Any, assessment: Assessment, publish: bool) -> dict:
    """:func:`publish_once` for an assessment's events and period, when ``publish``; otherwise what it would
    send (``subject``) and why it did not."""
    when = (assessment.checks, assessment.start, assessment.end, assessment.as_of)
    key, period, headline = period_key(*when), period_text(*when), period_text(*when, short=True)
    if publish:
        return publish_once(settings, sns, dynamodb, assessment.events, key, period, headline)
    request = message(assessment.events, period, headline)
    return {
        "published": False,
        "message_id": None,
        "reason": "publishing is off (parameter publish_alerts)" if request else "nothing to report",
        "key": key,
        "subject": request["Subject"] if request else None,
    }
