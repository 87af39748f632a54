"""What the workbook asks the lake, as SQL both engines run the same (see :mod:`.engines`).

Each ``*_sql`` function builds the text (validated arguments only: times from
:func:`energy_lib.query.bounded_range`, site ids matching the pipeline's pattern), and the function of
the same name without ``_sql`` runs it with :func:`~energy_lib.workbook.lake.engines.sql`. Every query
names the days it needs (``day`` is the partition: DuckDB opens those files only, Athena scans those
prefixes only). Totals follow the rollups' contract: unprefixed kWh sums are over valid readings,
``flagged_*`` over anomalies.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from energy_lib import lake, query
from energy_lib.config import Settings
from energy_lib.errors import QueryError
from energy_lib.rollups import ENERGY
from energy_lib.rules import SEVERITIES
from energy_lib.validation import SITE_ID
from energy_lib.workbook.lake.engines import Days, sql

if TYPE_CHECKING:
    import pandas as pd

Moment = datetime | str
ZERO_KWH = f"CAST(0 AS {lake.KWH_TYPE.upper()})"
# The rollups' counters over the parts of :func:`_parts` (summing per day first, the partition column,
# costs a third less than filtering every reading twelve times): valid sums, flagged sums, counts.
TOTALS = ",\n  ".join(
    [f"coalesce(sum({name}) FILTER (WHERE NOT anomaly), {ZERO_KWH}) AS {name}" for name in ENERGY]
    + [f"coalesce(sum({name}) FILTER (WHERE anomaly), {ZERO_KWH}) AS flagged_{name}" for name in ENERGY]
    + ["CAST(sum(readings) AS BIGINT) AS readings"]
    + ["CAST(coalesce(sum(readings) FILTER (WHERE anomaly), 0) AS BIGINT) AS anomalies"]
    + [
        f"CAST(coalesce(sum(readings) FILTER (WHERE severity = '{s}'), 0) AS BIGINT) AS anomalies_{s.lower()}"
        for s in SEVERITIES
    ]
)
HOUR = "date_trunc('hour', \"timestamp\")"


def _parts(period: str, condition: str) -> str:
    """``WITH parts``: readings summed per site, ``period_key`` (an expression), verdict and severity."""
    sums = ", ".join(f"sum({name}) AS {name}" for name in ENERGY)
    return (
        f"WITH parts AS (\nSELECT site_id, {period} AS period_key, anomaly, severity, {sums}, count(*) AS readings\n"
        f"FROM readings\nWHERE {condition}\nGROUP BY 1, 2, 3, 4\n)\n"
    )


def _month(day: str) -> str:
    """The UTC month (a timestamp) of a ``YYYY-MM-DD`` column: no reading's time needs to be read."""
    return f"CAST(date_trunc('month', CAST({day} AS DATE)) AS TIMESTAMP)"


def moment_literal(moment: datetime) -> str:
    return f"TIMESTAMP '{moment:%Y-%m-%d %H:%M:%S}'"


def where(start: Moment, end: Moment, sites: Sequence[str] = ()) -> str:
    """The condition for ``[start, end)`` (both ends given, at most ten years) and, when given, ``sites``."""
    return span_condition(query.bounded_range(start, end), sites)


def span_condition(span: tuple[datetime, datetime], sites: Sequence[str] = ()) -> str:
    """The condition for the checked range ``span`` and, when given, ``sites``: the days (partition pruning), and
    the times only when an end is not a UTC midnight (comparing every row's time costs a third of a scan)."""
    first, last = span
    first_day, last_day = span_days(span)
    condition = f"day BETWEEN '{first_day}' AND '{last_day}'"
    if any(moment.time() != datetime.min.time() for moment in (first, last)):
        condition += f'\n  AND "timestamp" >= {moment_literal(first)} AND "timestamp" < {moment_literal(last)}'

    if sites:
        condition += f"\n  AND site_id IN ({', '.join(site_literal(site) for site in sites)})"
    return condition


def span_days(span: tuple[datetime, datetime]) -> Days:
    """The first and the last UTC day the checked range ``span`` touches."""
    first, last = span
    return f"{first:%Y-%m-%d}", (last - timedelta(microseconds=1)).strftime("%Y-%m-%d")


def _run(settings: Settings, text: str, start: Moment, end: Moment) -> pd.DataFrame:
    """``text`` (a query over ``[start, end)``) run over the days it names."""
    return sql(settings, text, days=span_days(query.bounded_range(start, end)))


def site_literal(site_id: str) -> str:
    if not isinstance(site_id, str) or not SITE_ID.fullmatch(site_id):
        raise QueryError(f"not a site id: {site_id!r}")
    return f"'{site_id}'"


def sites_list(text: str) -> list[str]:
    """``"SITE_001, SITE_002"`` as a list of site ids; ``""`` is all sites (an empty list)."""
    return [site_literal(site)[1:-1] for site in (part.strip() for part in text.split(",")) if site]


def site_totals_sql(start: Moment, end: Moment, sites: Sequence[str] = ()) -> str:
    """Per site over ``[start, end)``: what a summary of the rollups holds (valid and flagged kWh, readings,
    anomalies by severity), from the lake."""
    return _parts("day", where(start, end, sites)) + f"SELECT site_id,\n  {TOTALS}\nFROM parts\nGROUP BY 1\nORDER BY 1"


def monthly_sql(start: Moment, end: Moment, sites: Sequence[str] = ()) -> str:
    return (
        _parts("day", where(start, end, sites))
        + f"SELECT site_id, {_month('period_key')} AS month_start,\n  "
        + f"{TOTALS}\nFROM parts\nGROUP BY 1, 2\nORDER BY 2, 1"
    )


def monthly(settings: Settings, start: Moment, end: Moment, sites: Sequence[str] = ()) -> pd.DataFrame:
    """Per site and UTC month: valid and flagged kWh, readings, anomalies by severity."""
    return _run(settings, monthly_sql(start, end, sites), start, end)


def daily_sql(start: Moment, end: Moment, sites: Sequence[str] = ()) -> str:
    return (
        _parts("day", where(start, end, sites))
        + f"SELECT period_key AS day, count(DISTINCT site_id) AS sites,\n  {TOTALS}\nFROM parts\nGROUP BY 1\nORDER BY 1"
    )


def daily(settings: Settings, start: Moment, end: Moment, sites: Sequence[str] = ()) -> pd.DataFrame:
    """Per UTC day, over the chosen sites: valid and flagged kWh, readings, anomalies."""
    return _run(settings, daily_sql(start, end, sites), start, end)


def site_readings_sql(site_id: str, start: Moment, end: Moment) -> str:
    return (
        'SELECT site_id, "timestamp", energy_generated_kwh, energy_consumed_kwh, net_energy_kwh, anomaly, '
        f'anomaly_reasons, severity\nFROM readings\nWHERE {where(start, end, [site_id])}\nORDER BY "timestamp"'
    )


def site_readings(settings: Settings, site_id: str, start: Moment, end: Moment) -> pd.DataFrame:
    """Every reading of one site in ``[start, end)``, at full resolution, oldest first."""
    return _run(settings, site_readings_sql(site_id, start, end), start, end)


def anomalies_sql(start: Moment, end: Moment, sites: Sequence[str] = ()) -> str:
    return (
        'SELECT site_id, "timestamp", energy_generated_kwh, energy_consumed_kwh, net_energy_kwh, anomaly, '
        f"anomaly_reasons, severity\nFROM readings\nWHERE {where(start, end, sites)} AND anomaly\n"
        'ORDER BY "timestamp", site_id'
    )


def anomalies(settings: Settings, start: Moment, end: Moment, sites: Sequence[str] = ()) -> pd.DataFrame:
    """The anomalies of ``[start, end)``, oldest first."""
    return _run(settings, anomalies_sql(start, end, sites), start, end)


def anomalies_by_month_sql(start: Moment, end: Moment, sites: Sequence[str] = ()) -> str:
    return (
        f"SELECT {_month('day')} AS month_start, severity, count(*) AS anomalies,\n"
        "  sum(energy_generated_kwh) AS flagged_energy_generated_kwh,\n"
        "  sum(energy_consumed_kwh) AS flagged_energy_consumed_kwh\n"
        f"FROM readings\nWHERE {where(start, end, sites)} AND anomaly\nGROUP BY 1, 2\nORDER BY 1, 2"
    )


def anomalies_by_month(settings: Settings, start: Moment, end: Moment, sites: Sequence[str] = ()) -> pd.DataFrame:
    """Anomalies per UTC month and severity, with their (flagged) kWh."""
    return _run(settings, anomalies_by_month_sql(start, end, sites), start, end)


def hourly_sql(start: Moment, end: Moment, sites: Sequence[str] = ()) -> str:
    return (
        _parts(HOUR, where(start, end, sites))
        + f"SELECT site_id, period_key AS hour_start,\n  {TOTALS}\nFROM parts\nGROUP BY 1, 2\nORDER BY 2, 1"
    )


def hourly(settings: Settings, start: Moment, end: Moment, sites: Sequence[str] = ()) -> pd.DataFrame:
    """Per site and UTC hour: what the hour rollups hold, from the lake."""
    return _run(settings, hourly_sql(start, end, sites), start, end)


def day_profile_sql(start: Moment, end: Moment, sites: Sequence[str] = ()) -> str:
    """The fleet's mean day: mean kWh of a valid reading per UTC minute of the day."""
    return (
        'SELECT extract(hour FROM "timestamp") * 60 + extract(minute FROM "timestamp") AS minute_of_day,\n'
        "  avg(CAST(energy_generated_kwh AS DOUBLE)) AS mean_generated_kwh,\n"
        "  avg(CAST(energy_consumed_kwh AS DOUBLE)) AS mean_consumed_kwh,\n"
        "  count(*) AS readings\n"
        f"FROM readings\nWHERE {where(start, end, sites)} AND NOT anomaly\nGROUP BY 1\nORDER BY 1"
    )


SOLAR_EPOCH = "TIMESTAMP '2000-01-01 00:00:00'"  # solar minutes and days count from here


def performance_days_sql(start: Moment, end: Moment, offsets_min: dict[str, int]) -> str:
    """Per site and solar day (the day from local solar midnight: UTC + ``offsets_min[site]`` minutes), from the
    columns fleet performance needs only (``site_id``, ``timestamp``, ``energy_generated_kwh``, ``anomaly``):
    ``solar_day`` (days since 2000-01-01), ``readings``, ``flagged_readings``, ``generated_kwh`` (valid
    readings), ``first_producing_minute`` and ``last_producing_minute`` (of the solar day, valid readings above
    zero), and the valid readings themselves as two lists in time order, ``minutes`` (of the solar day) and
    ``generated_kwh_by_interval``, for the filters that look inside a day (clipping, clear sky, outages).

    The solar days are those that begin in ``[start, end)`` (whole UTC days); the lake days read are one more on
    each side, for the offsets."""
    first, last = query.bounded_range(start, end)
    if not offsets_min:
        raise QueryError("no sites to read")
    pairs = ", ".join(f"({site_literal(site)}, {int(offset)})" for site, offset in sorted(offsets_min.items()))
    read_from = (first - timedelta(days=1)).strftime("%Y-%m-%d")
    read_to = last.strftime("%Y-%m-%d")
    epoch = datetime(2000, 1, 1, tzinfo=first.tzinfo)
    first_day, end_day = (first - epoch).days, (last - epoch).days
    valid = "NOT anomaly"
    return (
        f"WITH offsets (site_id, offset_minutes) AS (VALUES {pairs}),\n"
        "solar AS (\n"
        f"SELECT r.site_id, date_diff('minute', {SOLAR_EPOCH}, r.\"timestamp\") + o.offset_minutes AS solar_minute,\n"
        "  CAST(r.energy_generated_kwh AS DOUBLE) AS generated_kwh, r.anomaly\n"
        "FROM readings r JOIN offsets o ON r.site_id = o.site_id\n"
        f"WHERE day BETWEEN '{read_from}' AND '{read_to}'\n"
        f"  AND r.site_id IN ({', '.join(site_literal(site) for site in sorted(offsets_min))})\n"
        "),\n"
        "days AS (\n"
        "SELECT site_id, CAST(floor(solar_minute / 1440.0) AS BIGINT) AS solar_day,\n"
        "  solar_minute - 1440 * CAST(floor(solar_minute / 1440.0) AS BIGINT) AS minute, generated_kwh, anomaly\n"
        "FROM solar\n"
        ")\n"
        "SELECT site_id, solar_day, count(*) AS readings,\n"
        "  count(*) FILTER (WHERE anomaly) AS flagged_readings,\n"
        f"  sum(generated_kwh) FILTER (WHERE {valid}) AS generated_kwh,\n"
        f"  min(minute) FILTER (WHERE {valid} AND generated_kwh > 0) AS first_producing_minute,\n"
        f"  max(minute) FILTER (WHERE {valid} AND generated_kwh > 0) AS last_producing_minute,\n"
        f"  array_agg(minute ORDER BY minute) FILTER (WHERE {valid}) AS minutes,\n"
        f"  array_agg(generated_kwh ORDER BY minute) FILTER (WHERE {valid}) AS generated_kwh_by_interval\n"
        f"FROM days\nWHERE solar_day >= {first_day} AND solar_day < {end_day}\nGROUP BY 1, 2\nORDER BY 1, 2"
    )
