"""Which store answers a range of readings: DynamoDB for the hot window, the lake for everything older.

The readings table keeps a reading ``Settings.readings_ttl_days`` (:mod:`energy_lib.expiry`): every reading whose
time is inside that window is there, so a range inside it is read from the table, exact to the moment. What lies
before the window's first whole UTC day (:func:`cut`) is read from the lake; for one site also from the table,
which may still hold some of it (a backfill of old readings stays a whole window), the table's reading winning
where both have one: the lake trails the table by the compaction's delay (minutes), never the other way round.
The caller does not choose: :func:`readings`, :func:`anomalies` and :func:`fleet_readings` answer with the rows of
:mod:`energy_lib.query` (energies exact ``Decimal``, times ISO-8601 text), whichever store held them.

Without a hot window (``readings_ttl_days`` 0) the table holds everything and answers every range.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from energy_lib import expiry, lake, query, timeutil
from energy_lib.config import Settings
from energy_lib.dynamo import Cost
from energy_lib.rollups import ENERGY
from energy_lib.workbook.lake.engines import records, sql
from energy_lib.workbook.lake.queries import span_condition, span_days

Row = dict[str, Any]
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
Range = tuple[datetime, datetime]
ONE_DAY = timedelta(days=1)
COLUMNS = ("site_id", "timestamp", *ENERGY, "anomaly", "anomaly_reasons", "severity", "source_key", "ingested_at")


def cut(settings: Settings, now: datetime | None = None) -> datetime | None:
    """The first UTC midnight inside the hot window: readings at or after it are read from the table, older ones
    from the lake. None without a hot window."""
    start = expiry.hot_start(settings.readings_ttl_days, now or timeutil.now())
    if start is None:
        return None
    midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight if midnight == start else midnight + ONE_DAY


def parts(
    settings: Settings, start: datetime | str | None, end: datetime | str | None, now: datetime | None = None
) -> tuple[Range | None, Range | None]:
    """``[start, end)`` (ends checked as :func:`energy_lib.query.time_range` does) split into the part older than the
    hot window (the lake's) and the rest (the table's); None for a part that is empty."""
    first, last = query.time_range(start, end)
    boundary = cut(settings, now)
    if boundary is None or boundary <= first:
        return None, (first, last)
    if last <= boundary:
        return (first, last), None
    return (first, boundary), (boundary, last)


def readings(
    settings: Settings,
    dynamodb: Any,
    site_id: str,
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    now: datetime | None = None,
) -> list[Row]:
    """Readings of one site in ``[start, end)``, oldest first, from whichever store holds them."""
    return _both(settings, dynamodb, site_id, (start, end), now, anomalies_only=False)


def anomalies(
    settings: Settings,
    dynamodb: Any,
    site_id: str | None = None,
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    now: datetime | None = None,
) -> list[Row]:
    """Anomalies of one site (any range) or of all sites (a range both ends given), oldest first."""
    if site_id is None:
        query.bounded_range(start, end)
    return _both(settings, dynamodb, site_id, (start, end), now, anomalies_only=True)


def _both(
    settings: Settings,
    dynamodb: Any,
    site_id: str | None,
    span: tuple[datetime | str | None, datetime | str | None],
    now: datetime | None,
    anomalies_only: bool,
) -> list[Row]:
    """The table's rows of the hot part; the lake's of the older part, for one site with what the table still holds
    of it (the table's winning)."""
    table = query.anomalies if anomalies_only else query.readings
    old, hot = parts(settings, *span, now)
    rows = table(settings, dynamodb, site_id, *hot) if hot else []  # type: ignore[arg-type]
    if old:
        found = lake_rows(settings, old, [site_id] if site_id else [], anomalies_only)
        if site_id is not None:
            found = newest(found + table(settings, dynamodb, site_id, *old))
        rows = found + rows
    return rows


def fleet_readings(
    settings: Settings,
    dynamodb: Any,
    start: datetime | str,
    end: datetime | str,
    cost: Cost | None = None,
    site_ids: Sequence[str] | None = None,
    now: datetime | None = None,
) -> list[Row]:
    """Readings of every site (those with rollups, or ``site_ids``) in ``[start, end)``: the lake's for the part
    older than the hot window, one Query per site for the rest (:func:`energy_lib.query.fleet_readings`)."""
    query.bounded_range(start, end)
    old, hot = parts(settings, start, end, now)
    rows = lake_rows(settings, old, list(site_ids or [])) if old else []
    if hot:
        chosen = None if site_ids is None else list(site_ids)
        rows += query.fleet_readings(settings, dynamodb, *hot, cost=cost, site_ids=chosen)
    return rows


def newest(rows: list[Row]) -> list[Row]:
    """One row per site and second (the later in ``rows`` wins), by time."""
    kept = {(row["site_id"], row["timestamp"]): row for row in rows}
    return sorted(kept.values(), key=lambda row: (row["timestamp"], row["site_id"]))


def lake_sql(span: Range, sites: Sequence[str] = (), anomalies_only: bool = False) -> str:
    """The lake's readings in ``span`` (of ``sites``, or all; only anomalies), by time and site."""
    condition = span_condition(span, sites) + ("\n  AND anomaly" if anomalies_only else "")
    columns = ", ".join(f'"{name}"' for name in COLUMNS)
    return f'SELECT {columns}\nFROM {lake.TABLE}\nWHERE {condition}\nORDER BY "timestamp", site_id'


def lake_rows(settings: Settings, span: Range, sites: Sequence[str], anomalies_only: bool = False) -> list[Row]:
    """The lake's answer to :func:`lake_sql` as :mod:`energy_lib.query` rows (a severity only on anomalies)."""
    rows = records(sql(settings, lake_sql(span, sites, anomalies_only), days=span_days(span)))
    for row in rows:
        row.update({name: _plain(row[name]) for name in ENERGY})
        row["anomaly_reasons"] = list(row["anomaly_reasons"] or [])
        if row["severity"] is None:
            del row["severity"]
    return rows


def _plain(value: Decimal) -> Decimal:
    """A kWh value as DynamoDB keeps it: the lake's fixed nine decimals without their trailing zeros."""
    value = value.normalize()
    return value.quantize(Decimal(1)) if value.as_tuple().exponent > 0 else value


def source_counts(settings: Settings, source_key: str, days: Sequence[str]) -> tuple[int, int]:
    """Readings and anomalies the lake holds from the file ``source_key`` (a later file may have replaced some of
    its readings), on ``days`` (``YYYY-MM-DD``: the days its readings fall on)."""
    chosen = sorted({day for day in days if _DAY.fullmatch(day)})
    if not chosen:
        return 0, 0
    listed = ", ".join(f"'{day}'" for day in chosen)
    key = source_key.replace("'", "''")
    text = (
        f"SELECT count(*) AS stored, count(*) FILTER (WHERE anomaly) AS anomalies\nFROM {lake.TABLE}\n"
        f"WHERE day IN ({listed}) AND source_key = '{key}'"
    )
    [row] = records(sql(settings, text, days=(chosen[0], chosen[-1])))
    return int(row["stored"]), int(row["anomalies"])
