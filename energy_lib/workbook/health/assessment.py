"""The site-health assessment of a period: freshness now, data quality and performance per site and UTC day.

:func:`assess` reads what it needs and runs the checks asked for:

- ``freshness``: the registry and the all-time rollups (:mod:`energy_lib.workbook.health.freshness`);
- ``quality``: the readings of the period, one UTC day at a time (inside the hot window one paged Query per
  registered site; older days from the lake: :mod:`energy_lib.workbook.lake.stores`), laid on each registered
  site's slots (:mod:`energy_lib.workbook.health.quality`);
- ``performance``: the daily rollups of the period and of the ``baseline_days`` before it
  (:mod:`energy_lib.workbook.health.performance`).

:func:`quality_of` and :func:`performance_of` are the same checks on data already in hand.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from energy_lib import query, rollups
from energy_lib.config import Settings
from energy_lib.dynamo import Cost
from energy_lib.errors import QueryError
from energy_lib.timeutil import format_timestamp
from energy_lib.workbook.health import events as event_model
from energy_lib.workbook.health import freshness as freshness_model
from energy_lib.workbook.health import performance as performance_model
from energy_lib.workbook.health import quality as quality_model
from energy_lib.workbook.health.events import Event
from energy_lib.workbook.health.thresholds import DEFAULTS, Thresholds
from energy_lib.workbook.lake import stores
from energy_lib.workbook.sites import registry
from energy_lib.workbook.sites.registry import RegisteredSite

CHECKS = ("freshness", "quality", "performance")
ONE_DAY = timedelta(days=1)
SlotData = tuple[pd.Series, pd.Series]  # (received, generation_kwh) of one site over its slots


@dataclass(frozen=True, slots=True)
class Assessment:
    """What :func:`assess` found. A part that was not asked for (``checks``) is None."""

    start: datetime
    end: datetime
    as_of: datetime
    checks: tuple[str, ...]
    thresholds: Thresholds
    sites: list[RegisteredSite]
    freshness: pd.DataFrame | None = None  # freshness.COLUMNS
    quality: pd.DataFrame | None = None  # quality.DAY_COLUMNS, per registered site and UTC day
    performance: pd.DataFrame | None = None  # performance.DAY_COLUMNS, per registered site and UTC day
    events: list[Event] = field(default_factory=list)
    cost: Cost = field(default_factory=Cost)

    @property
    def events_frame(self) -> pd.DataFrame:
        return event_model.frame(self.events)

    @property
    def site_days(self) -> int:
        """Registered sites x days of the period."""
        return len(self.sites) * len(list(query.days(self.start, self.end)))


def parse_checks(checks: str | Sequence[str]) -> tuple[str, ...]:
    """``"freshness,quality"`` (or a sequence) as a tuple in :data:`CHECKS` order; ValueError for an unknown one."""
    names = [name.strip() for name in checks.split(",")] if isinstance(checks, str) else list(checks)
    unknown = sorted(set(names) - set(CHECKS))
    if unknown or not names:
        raise ValueError(f"checks must be among {', '.join(CHECKS)}, not {', '.join(unknown) or 'nothing'}")
    return tuple(name for name in CHECKS if name in names)


def whole_days(start: datetime | str, end: datetime | str) -> tuple[datetime, datetime]:
    """The period as UTC datetimes on midnights, checked."""
    first, last = query.bounded_range(start, end)
    if any(moment.hour or moment.minute or moment.second or moment.microsecond for moment in (first, last)):
        raise QueryError("a site-health period is whole UTC days: start and end at 00:00:00Z")
    return first, last


def quality_of(
    sites: Sequence[RegisteredSite],
    slot_data: Mapping[str, SlotData],
    as_of: datetime,
    thresholds: Thresholds = DEFAULTS,
) -> tuple[pd.DataFrame, list[Event]]:
    """Data quality of each site from its slots (:func:`energy_lib.workbook.health.quality.slot_series`)."""
    frames, found = [], []
    for site in sites:
        received, generation = slot_data[site.site_id]
        days, site_events = quality_model.site_quality(
            site,
            received,
            generation,
            as_of,
            gap_minutes=thresholds.gap_minutes,
            frozen_intervals=int(thresholds.frozen_intervals),
            outage_intervals=int(thresholds.outage_intervals),
            min_elevation_deg=thresholds.min_elevation_deg,
            night_threshold_kwh=thresholds.night_threshold_kwh,
        )
        frames.append(days)
        found += site_events
    return _concat(frames, quality_model.DAY_COLUMNS), found


def slot_data_of(
    sites: Sequence[RegisteredSite], readings: pd.DataFrame, start: datetime, end: datetime
) -> dict[str, SlotData]:
    """Each site's readings (``site_id``, ``timestamp``, ``energy_generated_kwh``, ``anomaly``) on its slots
    in ``[start, end)``."""
    groups = dict(tuple(readings.groupby("site_id"))) if len(readings) else {}
    empty = pd.DataFrame(columns=["timestamp", "energy_generated_kwh", "anomaly"])
    data = {}
    for site in sites:
        interval = timedelta(minutes=site.interval_minutes)
        data[site.site_id] = quality_model.slot_series(
            groups.get(site.site_id, empty), quality_model.slots(start, end, interval), interval
        )
    return data


def performance_of(
    sites: Sequence[RegisteredSite],
    daily: pd.DataFrame,
    start: datetime,
    end: datetime,
    as_of: datetime,
    thresholds: Thresholds = DEFAULTS,
) -> tuple[pd.DataFrame, list[Event]]:
    """Performance of each site per UTC day of ``[start, end)`` that ended by ``as_of``, and its underperformance
    events that reach into the period.

    ``daily`` holds ``site_id``, ``day`` (UTC midnight) and ``energy_generated_kwh`` for the period and the
    ``baseline_days`` before it.
    """
    last_day = min(pd.Timestamp(end), pd.Timestamp(as_of).floor("D"))
    days = pd.date_range(pd.Timestamp(start) - thresholds.baseline_days * ONE_DAY, last_day, freq="D", inclusive="left")
    by_site = {site_id: rows.set_index("day")["energy_generated_kwh"] for site_id, rows in daily.groupby("site_id")}
    frames, found = [], []
    for site in sites:
        generated = by_site.get(site.site_id, pd.Series(dtype=object))
        generated = pd.Series([generated.get(day) for day in days], index=days, dtype=object)
        site_days, site_events = performance_model.site_performance(
            site,
            generated,
            baseline_days=int(thresholds.baseline_days),
            min_baseline_days=int(thresholds.min_baseline_days),
            margin_pct=thresholds.margin_pct,
            underperformance_days=int(thresholds.underperformance_days),
        )
        frames.append(site_days[site_days["day"] >= pd.Timestamp(start)])
        found += [event for event in site_events if event.end > pd.Timestamp(start)]
    return _concat(frames, performance_model.DAY_COLUMNS), found


def _concat(frames: list[pd.DataFrame], columns: Sequence[str]) -> pd.DataFrame:
    frames = [frame for frame in frames if len(frame)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(columns))


def _read_slot_data(
    settings: Settings, dynamodb: Any, sites: Sequence[RegisteredSite], start: datetime, end: datetime, cost: Cost
) -> dict[str, SlotData]:
    """Each site's slots, read one UTC day at a time (memory: one day of the fleet's readings)."""
    parts: dict[str, list[SlotData]] = defaultdict(list)
    day = start
    while day < end:
        site_ids = [site.site_id for site in sites]
        rows = stores.fleet_readings(settings, dynamodb, day, day + ONE_DAY, cost, site_ids)
        columns = ["site_id", "timestamp", "energy_generated_kwh", "anomaly"]
        readings = pd.DataFrame(rows, columns=columns) if rows else pd.DataFrame(columns=columns)
        for site_id, data in slot_data_of(sites, readings, day, day + ONE_DAY).items():
            parts[site_id].append(data)
        day += ONE_DAY
    return {
        site.site_id: (pd.concat([r for r, _ in parts[site.site_id]]), pd.concat([g for _, g in parts[site.site_id]]))
        for site in sites
    }


def _read_daily(
    settings: Settings, dynamodb: Any, start: datetime, end: datetime, baseline_days: int, cost: Cost
) -> pd.DataFrame:
    days = pd.date_range(start - baseline_days * ONE_DAY, end, freq="D", inclusive="left")
    day_of = {rollups.buckets(format_timestamp(day))[1]: day for day in days}  # D# bucket -> its UTC midnight
    rows = [
        {
            "site_id": row["site_id"],
            "day": day_of[row["bucket"]],
            "energy_generated_kwh": row.get("energy_generated_kwh"),
        }
        for row in query.rollups(settings, dynamodb, list(day_of), cost)
        if row.get("readings")
    ]
    return pd.DataFrame(rows, columns=["site_id", "day", "energy_generated_kwh"])


def assess(
    settings: Settings,
    dynamodb: Any,
    start: datetime | str,
    end: datetime | str,
    as_of: datetime | str | None = None,
    checks: str | Sequence[str] = CHECKS,
    thresholds: Thresholds = DEFAULTS,
    cost: Cost | None = None,
) -> Assessment:
    """Run ``checks`` for the registered sites over the UTC days ``[start, end)``; freshness at ``as_of``
    (default: now). ``cost`` (or the result's ``cost``) counts the DynamoDB requests and items read."""
    first, last = whole_days(start, end)
    moment = query.utc(as_of) if as_of not in (None, "") else datetime.now(first.tzinfo)
    wanted = parse_checks(checks)
    cost = cost if cost is not None else Cost()
    sites = registry.list_sites(settings, dynamodb, cost)
    parts: dict[str, Any] = {}
    found: list[Event] = []
    if "freshness" in wanted:
        parts["freshness"] = freshness_model.check(
            settings, dynamodb, moment, thresholds.silent_after_intervals, cost, sites
        )
        found += freshness_model.events(parts["freshness"], moment)
    if "quality" in wanted:
        slot_data = _read_slot_data(settings, dynamodb, sites, first, last, cost)
        parts["quality"], quality_events = quality_of(sites, slot_data, moment, thresholds)
        found += quality_events
    if "performance" in wanted:
        daily = _read_daily(settings, dynamodb, first, last, int(thresholds.baseline_days), cost)
        parts["performance"], performance_events = performance_of(sites, daily, first, last, moment, thresholds)
        found += performance_events
    return Assessment(first, last, moment, wanted, thresholds, sites, events=found, cost=cost, **parts)
