"""The ingest ledger: which attempt may write a key's readings now, and what became of every object version.

Two kinds of items, keyed ``(source_key, version_id)``:

- one **entry** per object version (its S3 version id): ``status`` (processed, rejected, superseded, failed),
  the counts read / stored / quarantined / anomalies (read = stored + quarantined) / rounded (stored readings
  with a value rounded to 9 decimals), ``etag``, ``sequencer``,
  ``error``, ``attempts`` (invocations that claimed the version, continuations included), ``alert_id``. A final
  status makes a re-delivery of that version a no-op. Failed and rejected entries also carry ``problem`` (= their
  status), the key of the sparse ``problems`` index.
- one **head** per key (version id ``#head``): the S3 ``sequencer`` of the newest version that claimed the key,
  the version that holds it (``holder``) and, while it is being processed, a lease: ``lease_owner`` (the
  attempt's token) and ``lease_expires_at`` (epoch seconds), renewed before each chunk of readings; and the
  version's last **checkpoint** (``checkpoint``, JSON: where to resume reading and the counts so far;
  ``checkpoint_for``: the sequencer of the version it belongs to), written in one conditional update with the
  lease, so an attempt that lost the lease never moves it.

A file read in one invocation costs two conditional writes: the claim (the head) and the outcome (the entry),
plus one when it alerted (:func:`record_alert`) and one per further chunk (:func:`renew`); a file checkpointed
on the way also drops its checkpoint from the head at the end. A finished attempt
leaves its lease on the head, where it runs out: the entry, read before every claim (a read costs a fifth of a
write), says the version is done, and the next version of the key takes a finished holder's lease over at once.
Only a failed attempt gives the key back with a second write, so that its retry need not wait.

With a hot window (``Settings.readings_ttl_days``) entries and heads expire (``expires_at``) :func:`keep_days`
after they were written: once no message can bring their object back (the ingest queue keeps one 4 days, its
dead-letter queue 14). A file older than that shows as ``expired``, counted from the file and the lake.

A version writes readings only while it holds the lease and no newer version has claimed the key. An older
version that arrives later is recorded as superseded and writes nothing; a newer version that arrives while
an older one is being processed waits (:class:`KeyBusy`: its message fails and SQS delivers it again); a lease
that expired (the attempt crashed or timed out) is taken over by the next delivery. S3's ``sequencer`` orders
the events of one key: left-padded with zeros, the greater one is the later event. S3 may notify one version
twice with two sequencers (moto does for a multipart upload): a version id already final is a duplicate
whatever its notification's sequencer (on a bucket without versioning every version is ``null``, and a later
sequencer is new content).
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from energy_lib.dynamo import from_item, to_item
from energy_lib.errors import EnergyError
from energy_lib.schema import FAILED, FINAL_STATUSES, PROBLEM_STATUSES, SUPERSEDED
from energy_lib.timeutil import format_timestamp

HEAD = "#head"  # the version id of a key's head item (S3 version ids never hold '#')
REDELIVERY_DAYS = 19  # a message's longest life: 4 days in the ingest queue, 14 in its dead-letter queue, a day more
LEASE_SECONDS = 120  # longer than the function's timeout (60 s): a live attempt never loses its lease
SEQUENCER_WIDTH = 64  # S3 sequencers are hex strings of varying length; padded, text order is event order
ERROR_LIMIT = 1000  # characters of an error message kept in the ledger
DUPLICATE = "duplicate"  # this version is done already: a re-delivery changes nothing


class KeyBusy(EnergyError):
    """Another attempt holds the key's lease (the same version, or an older one): try again later."""


class LeaseLost(EnergyError):
    """The lease expired and another attempt took the key over: this attempt must stop writing."""


@dataclass(frozen=True, slots=True)
class Counts:
    read: int = 0
    stored: int = 0
    quarantined: int = 0
    anomalies: int = 0
    rounded: int = 0  # stored readings with a value rounded to 9 decimals


@dataclass(frozen=True, slots=True)
class Lease:
    """The right of one attempt to write one object version's readings, until ``expires_at``."""

    key: str
    version_id: str
    etag: str
    sequencer: str  # padded
    token: str
    expires_at: int  # epoch seconds
    attempt: int  # 1 on the first attempt of this version
    alert_id: str | None  # the alert an earlier attempt of this version already sent
    checkpoint: dict[str, Any] | None = None  # where an earlier attempt of this version stopped (see checkpoint())
    keep_days: int = 0  # the ledger's items of this version expire this many days after they are written (0: never)


NO_VERSION = "null"  # what S3 calls the version of an object in a bucket without versioning


def sequencer_key(sequencer: str) -> str:
    """S3's ``sequencer`` as fixed-width text: upper-case hex, left-padded with zeros."""
    text = sequencer.strip().upper()
    if not text or len(text) > SEQUENCER_WIDTH or any(c not in "0123456789ABCDEF" for c in text):
        raise ValueError(f"not an S3 sequencer: {sequencer!r}")
    return text.zfill(SEQUENCER_WIDTH)


def _key(key: str, version_id: str) -> dict[str, Any]:
    return to_item({"source_key": key, "version_id": version_id})


def keep_days(ttl_days: int) -> int:
    """How long ledger items are kept with a hot window of ``ttl_days`` [days]: as long as a message may still
    bring their object back, no longer (after that an object's counts come from its file and the lake); 0
    (forever) without a hot window."""
    return REDELIVERY_DAYS if ttl_days else 0


def _expiry(values: dict[str, Any], now: datetime, days: int) -> dict[str, Any]:
    """``values`` with ``expires_at`` when the ledger keeps its items ``days`` days."""
    return {**values, "expires_at": _epoch(now) + days * 24 * 3600} if days else values


def _epoch(now: datetime) -> int:
    return int(now.timestamp())


def claim(
    dynamodb: Any,
    table: str,
    key: str,
    version_id: str,
    etag: str,
    sequencer: str,
    now: datetime,
    keep: int = 0,
) -> Lease | str:
    """Take the key's lease for this version, or say why not; the items it writes are kept ``keep`` days (0:
    forever, see :func:`keep_days`).

    Returns the :class:`Lease`; or ``"duplicate"`` when this version is done already; or ``"superseded"`` when a
    newer version has claimed the key (recorded in this version's entry). Raises :class:`KeyBusy` while another
    attempt holds an unexpired lease.
    """
    padded = sequencer_key(sequencer)
    entry = _entry(dynamodb, table, key, version_id)
    if _done(entry, version_id, padded):
        return DUPLICATE
    token = uuid.uuid4().hex
    at = _epoch(now)
    values = {
        ":seq": padded,
        ":version": version_id,
        ":etag": etag,
        ":token": token,
        ":expires": at + LEASE_SECONDS,
        ":false": False,
        ":now": format_timestamp(now),
        ":at": at,
        ":one": 1,
        ":keep": _expiry({}, now, keep).get("expires_at", 0),
    }
    same_version_done = "" if version_id == NO_VERSION else " AND NOT (holder = :version AND #final <> :false)"
    claim_new = (
        "attribute_not_exists(sequencer) OR (sequencer < :seq AND "
        f"(attribute_not_exists(lease_expires_at) OR lease_expires_at < :at){same_version_done})",
        "SET attempts = :one, ",
    )
    claim_again = (  # the same version: after a failure, a lease that expired, or a checkpoint that gave the key back
        "sequencer = :seq AND #final = :false AND (attribute_not_exists(lease_owner) OR lease_expires_at < :at)",
        "ADD attempts :one SET ",
    )
    head: dict[str, Any] = {}
    conditions = [claim_new, claim_again]
    took_over = False
    while conditions:
        condition, update = conditions.pop(0)
        expression = (
            update + "sequencer = :seq, holder = :version, etag = :etag, lease_owner = :token, "
            "lease_expires_at = :expires, #final = :false, updated_at = :now"
        )
        expression += ", expires_at = :keep" if keep else ""
        named = set(re.findall(r":\w+", f"{expression} {condition}"))
        used = {name: value for name, value in values.items() if name in named}
        try:
            response = dynamodb.update_item(
                TableName=table,
                Key=_key(key, HEAD),
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames={"#final": "final"},
                ExpressionAttributeValues=to_item(used),
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            head = from_item(error.response.get("Item") or {})
            if head.get("sequencer") != padded or head.get("final"):
                conditions = []  # claiming again is for this version's own retries
            if not conditions and not took_over and _finished_holder(dynamodb, table, key, head, padded, at):
                # the holder's attempt is done and its lease only runs out: a newer version takes it over at once
                took_over = True
                values.update({":held_by": head["lease_owner"], ":held_seq": head["sequencer"]})
                conditions = [("sequencer = :held_seq AND lease_owner = :held_by", "SET attempts = :one, ")]
            continue
        new = from_item(response["Attributes"])
        earlier_alert = new.get("alert_id") if new.get("alert_for") == version_id else None
        saved = json.loads(new["checkpoint"]) if new.get("checkpoint_for") == padded else None
        lease = Lease(key, version_id, etag, padded, token, at + LEASE_SECONDS, int(new["attempts"]), earlier_alert)
        return replace(lease, checkpoint=saved, keep_days=keep)
    if head.get("holder") == version_id != NO_VERSION and head.get("final"):
        return DUPLICATE  # written by an earlier release, which marked the head of a finished version
    if head.get("sequencer", "") > padded:
        return _supersede(dynamodb, table, key, version_id, etag, padded, now, keep)
    if head.get("sequencer") == padded and head.get("final"):
        return DUPLICATE
    until = format_timestamp(datetime.fromtimestamp(int(head.get("lease_expires_at", at)), now.tzinfo))
    raise KeyBusy(f"{key}: version {head.get('holder')} holds the key until {until}; version {version_id} waits")


def _entry(dynamodb: Any, table: str, key: str, version_id: str) -> dict[str, Any]:
    """A version's entry ({} when it has none), read eventually consistent (half a read unit): a read that misses
    an outcome written a moment ago finds the attempt's lease still running, so the claim waits (:class:`KeyBusy`)
    and the next delivery reads the outcome."""
    response = dynamodb.get_item(TableName=table, Key=_key(key, version_id))
    return from_item(response.get("Item") or {})


def _done(entry: dict[str, Any], version_id: str, sequencer: str) -> bool:
    """True when ``entry`` says this version is done (on a bucket without versioning, this very content: every
    version is ``null`` there, and a later sequencer is new content)."""
    final = entry.get("status") in FINAL_STATUSES
    return final and (version_id != NO_VERSION or entry.get("sequencer") == sequencer)


def _finished_holder(dynamodb: Any, table: str, key: str, head: dict[str, Any], sequencer: str, at: int) -> bool:
    """True when ``head`` is held, under an unexpired lease, by an older version (than ``sequencer``) whose attempt
    is done: its entry is final, for the sequencer the head holds. A newer version may take the lease over."""
    held = head.get("sequencer", "")
    if not held or held >= sequencer or "lease_owner" not in head or int(head.get("lease_expires_at", 0)) < at:
        return False
    holder = _entry(dynamodb, table, key, head.get("holder", ""))
    return holder.get("status") in FINAL_STATUSES and holder.get("sequencer") == held


def _supersede(
    dynamodb: Any, table: str, key: str, version_id: str, etag: str, sequencer: str, now: datetime, keep: int
) -> str:
    """Record that a newer version has claimed the key; ``"duplicate"`` when this version was done already."""
    values = {"status": SUPERSEDED, "etag": etag, "sequencer": sequencer, **asdict(Counts()), "error": ""}
    try:
        _write_entry(
            dynamodb,
            table,
            key,
            version_id,
            _expiry(values, now, keep),
            now,
            condition=("attribute_not_exists(#status) OR #status = :failed", {":failed": FAILED}),
        )
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return DUPLICATE
        raise
    return SUPERSEDED


def renew(dynamodb: Any, table: str, lease: Lease, now: datetime) -> Lease:
    """Extend the lease before the next chunk of writes; raises :class:`LeaseLost` when it is no longer ours."""
    expires = _epoch(now) + LEASE_SECONDS
    expression = "SET lease_expires_at = :expires, updated_at = :now"
    _update_head(dynamodb, table, lease, expression, now, {":expires": expires})
    return replace(lease, expires_at=expires)


def checkpoint(dynamodb: Any, table: str, lease: Lease, state: dict[str, Any], now: datetime, release: bool) -> Lease:
    """Record how far this version has been processed (``state``, JSON) in one update conditional on the lease
    (:class:`LeaseLost` otherwise) and renew the lease. With ``release`` the attempt gives up its token: the next
    delivery of this version (a continuation) claims the key at once and resumes from ``state``, while a newer
    version still waits until the lease expires, as it would for an attempt that is still running."""
    expires = _epoch(now) + LEASE_SECONDS
    expression = "SET #checkpoint = :state, checkpoint_for = :seq, updated_at = :now, lease_expires_at = :expires"
    values = {":state": json.dumps(state, separators=(",", ":")), ":seq": lease.sequencer, ":expires": expires}
    if release:
        expression += " REMOVE lease_owner"
    _update_head(dynamodb, table, lease, expression, now, values, {"#checkpoint": "checkpoint"})
    return replace(lease, expires_at=expires, checkpoint=state)


def record_alert(dynamodb: Any, table: str, lease: Lease, alert_id: str, now: datetime) -> Lease:
    """Remember that this version's alert went out, so that a retry does not send it again."""
    _update_head(
        dynamodb,
        table,
        lease,
        "SET alert_id = :alert, alert_for = :version, updated_at = :now",
        now,
        {":alert": alert_id, ":version": lease.version_id},
    )
    return replace(lease, alert_id=alert_id)


def finish(
    dynamodb: Any, table: str, lease: Lease, status: str, counts: Counts, now: datetime, error: str = ""
) -> None:
    """Record the attempt's outcome in the version's entry: one write, conditional on no later attempt of the version
    having recorded one (:class:`LeaseLost` otherwise). A final outcome leaves the lease to run out (the entry says
    the version is done, see :func:`claim`), unless the version was checkpointed: then the head drops the
    checkpoint and gives the key back. A failed outcome gives the key back at once, keeping the checkpoint for the
    retry."""
    values = {"status": status, "etag": lease.etag, "sequencer": lease.sequencer, **asdict(counts)}
    values.update(error=error[:ERROR_LIMIT], attempts=lease.attempt)
    if lease.alert_id:
        values["alert_id"] = lease.alert_id
    try:
        _write_entry(
            dynamodb,
            table,
            lease.key,
            lease.version_id,
            _expiry(values, now, lease.keep_days),
            now,
            condition=("attribute_not_exists(#attempts) OR #attempts <= :attempts", {}),
        )
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            raise LeaseLost(f"{lease.key} version {lease.version_id}: a later attempt recorded its outcome") from error
        raise
    if status not in FINAL_STATUSES:
        _update_head(dynamodb, table, lease, "SET updated_at = :now REMOVE lease_owner, lease_expires_at", now, {})
    elif lease.checkpoint is not None:  # a file read over several invocations: its checkpoint goes with the lease
        _update_head(
            dynamodb,
            table,
            lease,
            "SET #final = :final, updated_at = :now REMOVE lease_owner, lease_expires_at, #checkpoint, checkpoint_for",
            now,
            {":final": True},
            {"#final": "final", "#checkpoint": "checkpoint"},
        )


def fail(dynamodb: Any, table: str, lease: Lease, now: datetime, error: str) -> None:
    """Record a failed attempt and give the key back at once: the retry (or a newer version) need not wait."""
    finish(dynamodb, table, lease, FAILED, Counts(), now, error)


def _update_head(
    dynamodb: Any,
    table: str,
    lease: Lease,
    expression: str,
    now: datetime,
    values: dict[str, Any],
    names: dict[str, str] | None = None,
) -> None:
    try:
        dynamodb.update_item(
            TableName=table,
            Key=_key(lease.key, HEAD),
            UpdateExpression=expression,
            ConditionExpression="lease_owner = :token",
            ExpressionAttributeValues=to_item({":token": lease.token, ":now": format_timestamp(now), **values}),
            **({"ExpressionAttributeNames": names} if names else {}),
        )
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            raise LeaseLost(f"{lease.key} version {lease.version_id}: the lease was taken over") from error
        raise


def _write_entry(
    dynamodb: Any,
    table: str,
    key: str,
    version_id: str,
    values: dict[str, Any],
    now: datetime,
    condition: tuple[str, dict[str, Any]] | None = None,
) -> None:
    """Set ``values`` on a version's entry, under ``condition`` (an expression over ``#name`` of ``values``, and its
    own ``:values``); ``problem`` follows the status (the sparse ``problems`` index)."""
    values = {**values, "updated_at": format_timestamp(now)}
    names = {f"#{name}": name for name in values}
    expression = "SET " + ", ".join(f"#{name} = :{name}" for name in values)
    attributes = {f":{name}": value for name, value in values.items()}
    if values["status"] in PROBLEM_STATUSES:
        expression += ", problem = :status"
    else:
        expression += " REMOVE problem"
    request: dict[str, Any] = {
        "TableName": table,
        "Key": _key(key, version_id),
        "UpdateExpression": expression,
        "ExpressionAttributeNames": names,
    }
    if condition:
        request["ConditionExpression"] = condition[0]
        attributes.update(condition[1])
    request["ExpressionAttributeValues"] = to_item(attributes)
    dynamodb.update_item(**request)
