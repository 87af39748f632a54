"""Which sites are silent now: each site's last reading against N of its reading intervals.

The last reading time is the ``last_reading_at`` attribute of the site's all-time rollup item (bucket ``T``),
which the pipeline's stream aggregator keeps. So the check reads the registry and one bucket of rollups: two
Queries, paged (1 MB a page), whatever the number of readings; never a reading. Judged at an ``as_of`` in the
past (a report of an earlier period), a site with readings from ``as_of`` on is judged by its last reading
before ``as_of`` (one more Query for each such site), so that later readings never change an earlier report.
On AWS the rollups trail the readings by up to :data:`~energy_lib.workbook.infra.spec.ROLLUPS_DELAY_BOUND_MIN`
(the aggregator writes them once per tumbling window), so there the threshold is that much longer: a site that
reports is never silent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from energy_lib import query
from energy_lib.config import Settings
from energy_lib.dynamo import Cost
from energy_lib.rollups import TOTAL_BUCKET
from energy_lib.workbook.health.events import Event
from energy_lib.workbook.health.thresholds import SILENT_AFTER_INTERVALS
from energy_lib.workbook.infra.spec import ROLLUPS_DELAY_BOUND_MIN
from energy_lib.workbook.sites import registry
from energy_lib.workbook.sites.registry import RegisteredSite

REPORTING, SILENT, NEVER, UNKNOWN, UNREGISTERED = "reporting", "silent", "never reported", "unknown", "unregistered"
COLUMNS = (
    "site_id",
    "name",
    "status",
    "silent",
    "last_reading_at",
    "age_min",
    "silent_after_min",
    "interval_minutes",
)


def _minutes(delta: timedelta) -> float:
    return delta / timedelta(minutes=1)


def silent_sites(
    sites: Sequence[RegisteredSite],
    totals: Sequence[Mapping[str, Any]],
    as_of: datetime,
    silent_after_intervals: float = SILENT_AFTER_INTERVALS,
    rollups_delay_min: float = 0.0,
) -> pd.DataFrame:
    """The freshness of every registered site at ``as_of``, then of the unregistered sites that have readings.

    Parameters
    ----------
    sites : sequence of RegisteredSite
        The registry.
    totals : sequence of mapping
        All-time rollup rows (bucket ``T``): ``site_id``, ``readings`` and ``last_reading_at``
        (``YYYY-MM-DDTHH:MM:SSZ``, the start of the site's latest reading).
    as_of : datetime
        "Now", timezone-aware.
    silent_after_intervals : float
        A site whose last reading is more than this many of its intervals before ``as_of`` is silent. [count]
    rollups_delay_min : float
        How long the rollups may trail the readings; added to the threshold. [min]

    Returns
    -------
    DataFrame
        :data:`COLUMNS`: ``status`` is ``silent``, ``reporting``, ``never reported`` (registered, no reading:
        silent too), ``unknown`` (readings but no ``last_reading_at`` yet: not judged) or ``unregistered``;
        ``age_min`` = as_of - last reading [min]; ``silent_after_min`` = the threshold (with the delay) [min].
    """
    by_site = {row["site_id"]: row for row in totals if row.get("readings")}
    rows = []
    for site in sites:
        total = by_site.pop(site.site_id, None)
        limit_min = silent_after_intervals * site.interval_minutes + rollups_delay_min
        last = query.utc(total.get("last_reading_at")) if total else None
        age_min = None if last is None else _minutes(as_of - last)
        if total is None:
            status = NEVER
        elif last is None:
            status = UNKNOWN
        else:
            status = SILENT if age_min > limit_min else REPORTING
        rows.append(
            {
                "site_id": site.site_id,
                "name": site.name,
                "status": status,
                "silent": status in (SILENT, NEVER),
                "last_reading_at": last,
                "age_min": age_min,
                "silent_after_min": limit_min,
                "interval_minutes": site.interval_minutes,
            }
        )
    for site_id, total in sorted(by_site.items()):
        last = query.utc(total.get("last_reading_at"))
        rows.append(
            {
                "site_id": site_id,
                "name": None,
                "status": UNREGISTERED,
                "silent": None,
                "last_reading_at": last,
                "age_min": None if last is None else _minutes(as_of - last),
                "silent_after_min": None,
                "interval_minutes": None,
            }
        )
    return pd.DataFrame(rows, columns=list(COLUMNS))


def events(freshness: pd.DataFrame, as_of: datetime) -> list[Event]:
    """One ``site_silent`` event per silent site: from the end of its last reading's interval (when the next
    was due; ``as_of`` for a site that never reported) to ``as_of``."""
    end = pd.Timestamp(as_of)
    found = []
    for row in freshness[freshness["silent"].fillna(False).astype(bool)].itertuples():
        if pd.isna(row.last_reading_at):
            found.append(Event("site_silent", row.site_id, end, end, "registered, never reported"))
            continue
        due = pd.Timestamp(row.last_reading_at) + timedelta(minutes=row.interval_minutes)
        detail = f"last reading {row.age_min:,.0f} min before, silent after {row.silent_after_min:,.0f} min"
        found.append(Event("site_silent", row.site_id, due, end, detail))
    return found


def check(
    settings: Settings,
    dynamodb: Any,
    as_of: datetime,
    silent_after_intervals: float = SILENT_AFTER_INTERVALS,
    cost: Cost | None = None,
    sites: Sequence[RegisteredSite] | None = None,
) -> pd.DataFrame:
    """:func:`silent_sites` from the stored registry (unless ``sites`` are given) and all-time rollups: two
    paged Queries. On AWS the threshold allows for the rollups' delay."""
    sites = registry.list_sites(settings, dynamodb, cost) if sites is None else sites
    totals = [
        _as_of(settings, dynamodb, total, as_of, cost)
        for total in query.rollups(settings, dynamodb, [TOTAL_BUCKET], cost)
    ]
    delay_min = ROLLUPS_DELAY_BOUND_MIN if settings.target == "aws" else 0.0
    return silent_sites(sites, totals, as_of, silent_after_intervals, delay_min)


def _as_of(settings: Settings, dynamodb: Any, total: dict[str, Any], as_of: datetime, cost: Cost | None) -> dict:
    """A site's all-time rollup row as it stood at ``as_of``: when its last reading starts at or after ``as_of``
    (a report of an earlier period), the last reading that starts before it (one Query), or no reading."""
    last = query.utc(total.get("last_reading_at"))
    if last is None or last < as_of:
        return total
    before = query.latest_reading(settings, dynamodb, total["site_id"], before=as_of, cost=cost)
    return {
        **total,
        "last_reading_at": before["timestamp"] if before else None,
        "readings": total["readings"] if before else 0,
    }
