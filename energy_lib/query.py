"""Queries that answer what the workbook asks, each as plain rows, none with a Scan.

Ranges are half-open ``[start, end)`` in UTC. Every function takes an optional
:class:`~energy_lib.dynamo.Cost` that counts requests, items read and items returned.

- :func:`readings`: one site, key condition on ``timestamp``; :func:`latest_reading`: its newest
- :func:`fleet_readings`: all sites in a range, one Query per UTC day on the ``by_day`` index
- :func:`anomalies`: the sparse ``site_anomalies`` / ``fleet_anomalies`` indexes
- :func:`rollups`: rollup items only; cost is sites x periods, never readings
- :func:`summary`: the rollups plus the readings stored after their watermarks (:mod:`energy_lib.tail`): exact
  when asked; cost sites x periods, plus one Query per site whose rollups may trail the range
- :func:`sites`: the sites that have readings (the all-time rollup bucket, and the registered sites not rolled
  up yet that have a reading)
- :func:`ingest_status`, :func:`ledger_entries`: the ledger, by object version (BatchGetItem) or by problem
- :func:`files`, :func:`current_versions`, :func:`read_file`, :func:`with_ledger`: raw
  objects, listed with paging, each with its ledger entry
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import fields
from datetime import datetime, timedelta
from decimal import Decimal, localcontext
from itertools import islice
from typing import Any

from energy_lib import tail, timeutil
from energy_lib.config import Settings
from energy_lib.dynamo import Cost, batch_get, query_pages
from energy_lib.errors import QueryError
from energy_lib.ledger import HEAD, Counts
from energy_lib.rollups import COUNTERS, EXACT_DIGITS, TOTAL_BUCKET, buckets, zero
from energy_lib.schema import FAILED, LEDGER, PENDING, PROCESSING, READINGS
from energy_lib.timeutil import format_timestamp
from energy_lib.validation import EARLIEST, LATEST, SITE_ID

Row = dict[str, Any]
ONE_SECOND = timedelta(seconds=1)
ONE_HOUR = timedelta(hours=1)
ONE_DAY = timedelta(days=1)
MAX_RANGE = timedelta(days=3660)
PERCENT = Decimal("0.01")
# attributes that exist only so that the indexes can find a reading (day bucket, sparse anomaly keys)
INDEX_ONLY = frozenset(READINGS.attributes()) - {READINGS.partition_key, READINGS.sort_key}


def _reading_rows(items: Iterator[Row]) -> list[Row]:
    """Stored readings as rows, without the attributes that only the indexes need."""
    return [{name: value for name, value in item.items() if name not in INDEX_ONLY} for item in items]


def utc(value: datetime | str | None) -> datetime | None:
    """A timezone-aware UTC datetime from a datetime or ISO-8601 text (naive means UTC), in the years the
    pipeline keeps: ``[2000-01-01, 2200-01-01]`` (the last moment only as an exclusive end)."""
    if value is None or value == "":
        return None
    if not isinstance(value, datetime | str):
        raise QueryError(f"not a timestamp: {value!r} (use ISO-8601, e.g. {timeutil.EXAMPLE})")
    try:
        moment = timeutil.utc(value)
    except ValueError:
        raise QueryError(f"not a timestamp: {value!r} (use ISO-8601, e.g. {timeutil.EXAMPLE})") from None
    except OverflowError:
        raise QueryError(f"{value} is outside the years the pipeline keeps") from None
    if not EARLIEST <= moment <= LATEST:
        raise QueryError(
            f"{format_timestamp(moment)} is outside the years the pipeline keeps "
            f"({format_timestamp(EARLIEST)} to {format_timestamp(LATEST)})"
        )
    return moment


def time_range(start: datetime | str | None, end: datetime | str | None) -> tuple[datetime, datetime]:
    """Both ends in UTC, checked; a missing end is the first or last moment the pipeline keeps."""
    first = utc(start) or EARLIEST
    last = utc(end) or LATEST
    if last <= first:
        raise QueryError(f"end {format_timestamp(last)} must be after start {format_timestamp(first)}")
    return first, last


def bounded_range(start: datetime | str | None, end: datetime | str | None) -> tuple[datetime, datetime]:
    """A range that must be given at both ends, for queries that visit one partition per day."""
    if start is None or end is None:
        raise QueryError("give both start and end for a query over all sites")
    first, last = time_range(start, end)
    if last - first > MAX_RANGE:
        raise QueryError("a range over all sites may span at most ten years")
    return first, last


def _check_site(site_id: str) -> str:
    if not isinstance(site_id, str) or not SITE_ID.fullmatch(site_id):
        raise QueryError(f"not a site id: {site_id!r}")
    return site_id


def _whole_second_at_or_after(moment: datetime) -> datetime:
    whole = moment.replace(microsecond=0)
    return whole if whole == moment else whole + ONE_SECOND


def _between(first: datetime, last: datetime) -> tuple[str, str] | None:
    """The inclusive key bounds of the stored timestamps (whole seconds) inside ``[first, last)``; None when
    the range holds no whole second."""
    low, high = _whole_second_at_or_after(first), _whole_second_at_or_after(last) - ONE_SECOND
    return (format_timestamp(low), format_timestamp(high)) if low <= high else None


def days(first: datetime, last: datetime) -> Iterator[str]:
    """Every UTC day (``YYYY-MM-DD``, a stored timestamp's first ten characters) that ``[first, last)`` touches."""
    day = first.replace(hour=0, minute=0, second=0, microsecond=0)
    while day < last:
        yield format_timestamp(day)[:10]
        day += ONE_DAY


def _bucket(moment: datetime, unit: timedelta) -> str:
    """The day (``unit`` is ONE_DAY) or hour rollup bucket that holds ``moment``, named as storage names it."""
    _, day, hour = buckets(format_timestamp(moment))
    return day if unit == ONE_DAY else hour


def hour_buckets(start: datetime | str, end: datetime | str) -> list[str]:
    """The rollup buckets of every UTC hour that ``[start, end)`` touches."""
    first, last = bounded_range(start, end)
    moment = first.replace(minute=0, second=0, microsecond=0)
    result = []
    while moment < last:
        result.append(_bucket(moment, ONE_HOUR))
        moment += ONE_HOUR
    return result


def readings(
    settings: Settings,
    dynamodb: Any,
    site_id: str,
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    cost: Cost | None = None,
) -> list[Row]:
    """Readings of one site in ``[start, end)``, oldest first."""
    return _one_site(settings, dynamodb, None, "timestamp", site_id, start, end, cost)


def latest_reading(
    settings: Settings, dynamodb: Any, site_id: str, before: datetime | None = None, cost: Cost | None = None
) -> Row | None:
    """The newest stored reading of one site (that starts before ``before``, when given), or None: one Query,
    newest first, one item."""
    condition, values = "site_id = :site", {":site": {"S": _check_site(site_id)}}
    if before is not None:
        condition += " AND #at < :before"
        values[":before"] = {"S": format_timestamp(_whole_second_at_or_after(before))}
    request = {
        "TableName": settings.readings_table,
        "KeyConditionExpression": condition,
        "ExpressionAttributeValues": values,
        "ScanIndexForward": False,
        "Limit": 1,
    }
    if before is not None:
        request["ExpressionAttributeNames"] = {"#at": "timestamp"}
    rows = _reading_rows(islice(query_pages(dynamodb, cost, **request), 1))
    return rows[0] if rows else None


def fleet_readings(
    settings: Settings, dynamodb: Any, start: datetime | str, end: datetime | str, cost: Cost | None = None
) -> list[Row]:
    """Readings of every site in ``[start, end)``: one Query per UTC day on the ``by_day`` index."""
    return _per_day(settings, dynamodb, READINGS.indexes[0].name, "day", "timestamp", start, end, cost)


def anomalies(
    settings: Settings,
    dynamodb: Any,
    site_id: str | None = None,
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    cost: Cost | None = None,
) -> list[Row]:
    """Anomalous readings of one site (any range) or of all sites (range required), from sparse indexes."""
    if site_id is None:
        return _per_day(settings, dynamodb, "fleet_anomalies", "anomaly_day", "anomaly_at", start, end, cost)
    return _one_site(settings, dynamodb, "site_anomalies", "anomaly_at", site_id, start, end, cost)


def _range_query(
    settings: Settings,
    dynamodb: Any,
    index: str | None,
    partition: tuple[str, str],
    time_attribute: str,
    bounds: tuple[str, str],
    cost: Cost | None,
) -> list[Row]:
    """Readings (of the table or of ``index``) in one partition ``(attribute, value)`` with ``time_attribute``
    between the inclusive ``bounds``: a key condition, never a filter."""
    request: dict[str, Any] = {
        "TableName": settings.readings_table,
        "KeyConditionExpression": "#part = :part AND #at BETWEEN :low AND :high",
        "ExpressionAttributeNames": {"#part": partition[0], "#at": time_attribute},
        "ExpressionAttributeValues": {
            ":part": {"S": partition[1]},
            ":low": {"S": bounds[0]},
            ":high": {"S": bounds[1]},
        },
    }
    if index is not None:
        request["IndexName"] = index
    return _reading_rows(query_pages(dynamodb, cost, **request))


def _one_site(
    settings: Settings,
    dynamodb: Any,
    index: str | None,
    time_attribute: str,
    site_id: str,
    start: datetime | str | None,
    end: datetime | str | None,
    cost: Cost | None,
) -> list[Row]:
    partition = ("site_id", _check_site(site_id))
    bounds = _between(*time_range(start, end))
    return [] if bounds is None else _range_query(settings, dynamodb, index, partition, time_attribute, bounds, cost)


def _per_day(
    settings: Settings,
    dynamodb: Any,
    index: str,
    day_attribute: str,
    time_attribute: str,
    start: datetime | str | None,
    end: datetime | str | None,
    cost: Cost | None,
) -> list[Row]:
    first, last = bounded_range(start, end)
    bounds = _between(first, last)
    if bounds is None:
        return []
    rows: list[Row] = []
    for day in days(first, last):
        rows += _range_query(settings, dynamodb, index, (day_attribute, day), time_attribute, bounds, cost)
    return rows


def summary_buckets(start: datetime | str | None, end: datetime | str | None) -> list[str]:
    """The fewest rollup buckets that cover ``[start, end)``: days inside, hours at the edges.

    No range at all is the all-time bucket. Rollups are hourly, so both ends must be whole UTC hours: a
    range off the hour is refused rather than silently widened.
    """
    if start is None and end is None:
        return [TOTAL_BUCKET]
    first, last = bounded_range(start, end)
    if any(moment.minute or moment.second or moment.microsecond for moment in (first, last)):
        raise QueryError(
            f"summaries come from hourly rollups: start and end must be whole hours (UTC), not "
            f"{format_timestamp(first)} to {format_timestamp(last)}"
        )
    result = []
    moment = first
    while moment < last:
        unit = ONE_DAY if moment.hour == 0 and moment + ONE_DAY <= last else ONE_HOUR
        result.append(_bucket(moment, unit))
        moment += unit
    return result


def rollups(settings: Settings, dynamodb: Any, bucket_keys: list[str], cost: Cost | None = None) -> list[Row]:
    """Every site's rollup item in each bucket (``T``, ``D#2025-06-11``, ``H#2025-06-11T13``)."""
    rows: list[Row] = []
    for bucket in bucket_keys:
        rows += query_pages(
            dynamodb,
            cost,
            TableName=settings.rollups_table,
            KeyConditionExpression="#bucket = :bucket",
            ExpressionAttributeNames={"#bucket": "bucket"},
            ExpressionAttributeValues={":bucket": {"S": bucket}},
        )
    return rows


def summary(
    settings: Settings,
    dynamodb: Any,
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    cost: Cost | None = None,
    now: Callable[[], datetime] = timeutil.now,
) -> dict[str, Any]:
    """Totals per site and for the fleet, exact when asked: the rollups plus the readings stored after their
    watermarks (:func:`energy_lib.tail.exact_rollups`). Readings, anomalies (also by severity), valid readings;
    generated, consumed and net kWh of the valid readings and, apart, of the flagged ones (``flagged_*``);
    efficiency % of the valid readings; anomaly rate %; ``readings_after_rollups`` (read from the readings table,
    not in the rollups yet); ``rolled_up_through``: for a site its rollups' watermark (None: nothing rolled up
    yet), for the fleet the timestamp up to which the rollups alone hold every reading of the result
    (``complete_through`` when none came from the readings table). The fleet row also counts ``sites``; the result's
    ``complete_through`` is the moment it is exact to (every reading stored by then is in it)."""
    rows, freshness = tail.exact_rollups(settings, dynamodb, summary_buckets(start, end), cost, now)
    per_site: dict[str, dict[str, Decimal]] = {}
    with localcontext(prec=EXACT_DIGITS):
        for row in rows:
            totals = per_site.setdefault(row["site_id"], zero())
            for name in COUNTERS:
                totals[name] += row[name]
        sites = [
            {
                "site_id": site,
                **_with_ratios(totals),
                "rolled_up_through": freshness.rolled_up_through.get(site) or None,
                "readings_after_rollups": freshness.after_rollups.get(site, 0),
            }
            for site, totals in sorted(per_site.items())
        ]
        fleet = {name: sum((site[name] for site in sites), Decimal(0)) for name in COUNTERS}
    fleet_row = {
        "sites": len(sites),
        **_with_ratios(fleet),
        "rolled_up_through": freshness.through(per_site),
        "readings_after_rollups": sum(site["readings_after_rollups"] for site in sites),
    }
    return {"complete_through": freshness.complete_through, "sites": sites, "fleet": fleet_row}


def _with_ratios(totals: dict[str, Decimal]) -> dict[str, Any]:
    """Counts as ints, energies as Decimals, plus valid readings, efficiency % (valid generated / valid consumed
    x 100) and anomaly rate % (anomalies / readings x 100)."""
    row: dict[str, Any] = {name: (int(v) if not name.endswith("_kwh") else v) for name, v in totals.items()}
    row["valid_readings"] = row["readings"] - row["anomalies"]
    row["efficiency_pct"] = _percent(totals["energy_generated_kwh"], totals["energy_consumed_kwh"])
    row["anomaly_rate_pct"] = _percent(totals["anomalies"], totals["readings"])
    return row


def _percent(part: Decimal, whole: Decimal) -> Decimal | None:
    """``part / whole x 100`` to two decimals; None when ``whole`` is zero."""
    return (part / whole * 100).quantize(PERCENT) if whole else None


def sites(
    settings: Settings, dynamodb: Any, cost: Cost | None = None, now: Callable[[], datetime] = timeutil.now
) -> list[str]:
    """Every site that has stored readings, sorted: those of the all-time rollups, and those not rolled up yet (the
    registered ones that have a reading: one Query of a single reading each; and :func:`energy_lib.tail.newcomers`)."""
    totals = rollups(settings, dynamodb, [TOTAL_BUCKET], cost)
    found = {row["site_id"] for row in totals if row.get("readings")}
    known = {row["site_id"] for row in totals}
    waiting = tail.registered_sites(settings, dynamodb, cost) - known
    found |= {site for site in waiting if tail.has_readings(settings, dynamodb, site, cost)}
    latest = max((row.get("last_reading_at", "") for row in totals), default="")
    return sorted(found | tail.newcomers(settings, dynamodb, known, latest, tail.span([TOTAL_BUCKET]), now(), cost))


def _object_row(entry: dict[str, Any]) -> Row:
    """A listed object (ListObjectsV2) or object version (ListObjectVersions) as a row: key, version_id (versions
    only), size_bytes, etag, last_modified."""
    version = {"version_id": entry["VersionId"]} if "VersionId" in entry else {}
    return {
        "key": entry["Key"],
        **version,
        "size_bytes": entry["Size"],
        "etag": entry["ETag"].strip('"'),
        "last_modified": format_timestamp(entry["LastModified"]),
    }


def files(settings: Settings, s3: Any, prefix: str | None = None, limit: int | None = None) -> list[Row]:
    """Objects under the raw prefix (or ``prefix``): key, size, etag, last_modified; pages through all."""
    paginator = s3.get_paginator("list_objects_v2")
    rows: list[Row] = []
    for page in paginator.paginate(
        Bucket=settings.bucket, Prefix=prefix if prefix is not None else settings.raw_prefix
    ):
        for entry in page.get("Contents", []):
            rows.append(_object_row(entry))
            if limit is not None and len(rows) >= limit:
                return rows
    return rows


def _current(page: dict[str, Any]) -> list[Row]:
    """The current versions in one ListObjectVersions page (older versions and delete markers left out)."""
    return [_object_row(version) for version in page.get("Versions", []) if version.get("IsLatest")]


def current_versions(settings: Settings, s3: Any, prefix: str | None = None) -> list[Row]:
    """The current version of every object under the raw prefix (or ``prefix``), as :func:`_object_row`; pages
    through all."""
    paginator = s3.get_paginator("list_object_versions")
    pages = paginator.paginate(Bucket=settings.bucket, Prefix=prefix if prefix is not None else settings.raw_prefix)
    return [row for page in pages for row in _current(page)]


def current_version(settings: Settings, s3: Any, key: str) -> Row:
    """The current version of the object ``key``, as :func:`_object_row` (one HeadObject request)."""
    head = s3.head_object(Bucket=settings.bucket, Key=key)
    return _object_row({"Key": key, "Size": head["ContentLength"], **head})


def open_file(settings: Settings, s3: Any, key: str, version_id: str | None = None) -> Any:
    """A stream of the content of the object ``key`` (its current version, or ``version_id``)."""
    version = {"VersionId": version_id} if version_id else {}
    return s3.get_object(Bucket=settings.bucket, Key=key, **version)["Body"]


def read_file(settings: Settings, s3: Any, key: str, version_id: str | None = None) -> bytes:
    """The content of the object ``key`` (its current version, or ``version_id``)."""
    return open_file(settings, s3, key, version_id).read()


def with_ledger(settings: Settings, dynamodb: Any, objects: list[Row], now: datetime | None = None) -> list[Row]:
    """``objects`` (rows with key, version_id, etag) each with its ledger entry (one BatchGetItem for all): status
    (``pending`` when no attempt has started, ``processing`` while an attempt holds the key's lease, ``failed`` also
    when that lease expired: ``error`` says so, ``lease_expired_at`` when), read, stored, quarantined, anomalies,
    rounded, error, updated_at."""
    keys = [{"source_key": o["key"], "version_id": o["version_id"]} for o in objects]
    keys += [{"source_key": key, "version_id": HEAD} for key in dict.fromkeys(o["key"] for o in objects)]
    found = {(e["source_key"], e["version_id"]): e for e in batch_get(dynamodb, settings.ledger_table, keys)}
    moment = now or timeutil.now()
    rows = []
    for obj in objects:
        entry = found.get((obj["key"], obj["version_id"]), {})
        status, error, expired = _status(entry, found.get((obj["key"], HEAD), {}), obj["version_id"], moment)
        rows.append(
            {
                **obj,
                "status": status,
                **{name: int(entry.get(name, 0)) for name in COUNT_FIELDS},
                "error": error,
                "updated_at": entry.get("updated_at", ""),
                "lease_expired_at": expired,
            }
        )
    return rows


COUNT_FIELDS = tuple(field.name for field in fields(Counts))  # read, stored, quarantined, anomalies, rounded
LEDGER_FIELDS = ("status", *COUNT_FIELDS, "error", "updated_at", "lease_expired_at")
INGEST_STATUS_FIELDS = ("key", "version_id", "etag", *LEDGER_FIELDS)


def ingest_status(settings: Settings, s3: Any, dynamodb: Any, now: datetime | None = None) -> list[Row]:
    """One row per object under the raw prefix (its current version) with its ledger entry (:func:`with_ledger`)."""
    rows = with_ledger(settings, dynamodb, current_versions(settings, s3), now)
    return [{name: row[name] for name in INGEST_STATUS_FIELDS} for row in rows]


def _status(entry: Row, head: Row, version_id: str, now: datetime) -> tuple[str, str, str]:
    """An object version's status, error and the time its attempt's lease expired ("" unless it did): its entry's,
    unless an attempt holds (or held) the key's lease."""
    if head.get("holder") == version_id and "lease_expires_at" in head:  # held, or given back for a continuation
        expires = timeutil.from_epoch_s(int(head["lease_expires_at"]))
        if expires >= now:
            return PROCESSING, "", ""
        expired = format_timestamp(expires)
        return (
            FAILED,
            f"attempt {head.get('attempts', '?')} stopped without finishing (crashed or timed out): its lease expired "
            f"at {expired}; the next delivery of the message takes it over",
            expired,
        )
    return entry.get("status", PENDING), entry.get("error", ""), ""


def ledger_entries(settings: Settings, dynamodb: Any, status: str, cost: Cost | None = None) -> list[Row]:
    """Ledger entries in a problem status (``failed`` or ``rejected``), newest first, from the sparse ``problems``
    index."""
    return list(
        query_pages(
            dynamodb,
            cost,
            TableName=settings.ledger_table,
            IndexName=LEDGER.indexes[0].name,
            KeyConditionExpression="problem = :status",
            ExpressionAttributeValues={":status": {"S": status}},
            ScanIndexForward=False,
        )
    )
