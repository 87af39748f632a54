"""Queries that answer what the workbook asks, each as plain rows, none with a Scan.

Ranges are half-open ``[start, end)`` in UTC. Every function takes an optional
:class:`~energy_lib.dynamo.Cost` that counts requests, items read and items returned.

- :func:`readings`: one site, key condition on ``timestamp``; :func:`latest_reading`: its newest
- :func:`fleet_readings`: all sites in a range, one Query per site (key condition), a few at a time
- :func:`anomalies`: the sparse ``site_anomalies`` / ``fleet_anomalies`` indexes
- :func:`rollups`: rollup items only; cost is sites x periods, never readings
- :func:`summary`: the rollups plus the readings stored after their watermarks (:mod:`energy_lib.tail`): exact
  when asked; cost sites x periods, plus one Query per site whose rollups may trail the range
- :func:`sites`: the sites that have readings (the all-time rollup bucket, and the registered sites not rolled
  up yet that have a reading)

Raw objects and their ledger entries: :mod:`energy_lib.raw_objects`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from decimal import Decimal, localcontext
from itertools import islice
from typing import Any

from energy_lib import tail, timeutil
from energy_lib.config import Settings
from energy_lib.dynamo import Cost, query_pages
from energy_lib.errors import QueryError
from energy_lib.expiry import ATTRIBUTE
from energy_lib.rollups import COUNTERS, EXACT_DIGITS, TOTAL_BUCKET, buckets, zero
from energy_lib.schema import READINGS
from energy_lib.timeutil import format_timestamp
from energy_lib.validation import EARLIEST, LATEST, SITE_ID

Row = dict[str, Any]
ONE_SECOND = timedelta(seconds=1)
ONE_HOUR = timedelta(hours=1)
ONE_DAY = timedelta(days=1)
MAX_RANGE = timedelta(days=3660)
PERCENT = Decimal("0.01")
# attributes that exist only so that the indexes find a reading (the sparse anomaly keys; ``day`` on items stored
# while a day index existed) or the time to live deletes it
INDEX_ONLY = frozenset(READINGS.attributes()) - {READINGS.partition_key, READINGS.sort_key} | {"day", ATTRIBUTE}
FLEET_READERS = 8  # Queries of sites' readings in flight at once


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
    settings: Settings,
    dynamodb: Any,
    start: datetime | str,
    end: datetime | str,
    cost: Cost | None = None,
    site_ids: list[str] | None = None,
) -> list[Row]:
    """Readings of every site (those with rollups, or ``site_ids``) in ``[start, end)``, by site and time: one
    paged Query per site with the range in its key condition, :data:`FLEET_READERS` at a time. It reads the items
    an index by day would read (items read / returned = 1.0), in more requests."""
    bounds = _between(*bounded_range(start, end))
    if bounds is None:
        return []
    chosen = sorted(sites(settings, dynamodb, cost) if site_ids is None else map(_check_site, site_ids))

    def one(site_id: str) -> list[Row]:
        return _range_query(settings, dynamodb, None, ("site_id", site_id), "timestamp", bounds, cost)

    with ThreadPoolExecutor(FLEET_READERS) as pool:
        return [row for rows in pool.map(one, chosen) for row in rows]


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
    """Every site's rollup item in each bucket (``T``, ``D#2025-06-11``, ``H#2025-06-11T13``), eventually
    consistent."""
    return tail.rollup_items(settings, dynamodb, bucket_keys, cost, consistent=False)


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


def sites(settings: Settings, dynamodb: Any, cost: Cost | None = None) -> list[str]:
    """Every site that has stored readings, sorted: those of the all-time rollups, and the registered ones not rolled
    up yet that have a reading (one Query of a single reading each). A site neither registered nor rolled up yet
    shows once its first window is rolled up."""
    totals = rollups(settings, dynamodb, [TOTAL_BUCKET], cost)
    found = {row["site_id"] for row in totals if row.get("readings")}
    known = {row["site_id"] for row in totals}
    waiting = tail.registered_sites(settings, dynamodb, cost) - known
    found |= {site for site in waiting if tail.has_readings(settings, dynamodb, site, cost)}
    return sorted(found)
