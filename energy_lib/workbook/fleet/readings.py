"""A fleet's readings for performance analysis, from the lake: Athena in one query, DuckDB a group of sites at a time.

:func:`read_days` runs :func:`energy_lib.workbook.lake.queries.performance_days_sql`: only the columns needed,
aggregated per site and solar day in SQL (energy of the valid readings, counts, first and last producing
minute), with the day's valid readings as lists for the filters that look inside a day. :func:`site_readings`
unpacks one site's rows into a daily frame and a time series of interval energies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from energy_lib.config import Settings
from energy_lib.workbook.fleet.expectation import solar_offset_minutes
from energy_lib.workbook.lake import engines, queries
from energy_lib.workbook.sites.registry import RegisteredSite

SOLAR_EPOCH = pd.Timestamp("2000-01-01", tz="UTC")
# DuckDB holds about 30 MB per site and 3 years of 15-minute readings while it gathers the days' lists: 100 sites
# in one query peaked at 2.8 GiB in 15 s, 20 at a time at 1.2 GiB in 18 s
SITES_PER_QUERY = 20
DAY_COLUMNS = ("readings", "flagged_readings", "generated_kwh", "first_producing_minute", "last_producing_minute")


@dataclass(frozen=True, slots=True)
class SiteReadings:
    """One site's readings over the period.

    ``days`` is indexed by solar date (days begin at local solar midnight) with :data:`DAY_COLUMNS`;
    ``generated_kwh`` is the energy of each valid reading [kWh], indexed by its timestamp as stored (UTC).
    """

    site_id: str
    days: pd.DataFrame
    generated_kwh: pd.Series


def read_days(
    settings: Settings,
    sites: Sequence[RegisteredSite],
    start: datetime | str,
    end: datetime | str,
    lake_dir: str | Path | None = None,
) -> pa.Table:
    """The rows of :func:`~energy_lib.workbook.lake.queries.performance_days_sql` for ``sites`` over the solar
    days that begin in ``[start, end)``: Athena on AWS, in one query; DuckDB over the local bucket or
    ``lake_dir``, one query per :data:`SITES_PER_QUERY` sites."""

    def text(group: Sequence[RegisteredSite]) -> str:
        offsets = {site.site_id: solar_offset_minutes(float(site.longitude)) for site in group}
        return queries.performance_days_sql(start, end, offsets)

    if lake_dir is None and settings.target == "aws":
        return engines.athena(settings, text(sites))
    groups = [sites[at : at + SITES_PER_QUERY] for at in range(0, len(sites), SITES_PER_QUERY)]
    return pa.concat_tables(engines.duckdb_table(settings, text(group), lake_dir) for group in groups)


def site_readings(table: pa.Table, site: RegisteredSite) -> SiteReadings:
    """One site's part of :func:`read_days`' answer."""
    rows = table.filter(pc.equal(table["site_id"], site.site_id))
    offset = solar_offset_minutes(float(site.longitude))
    solar_day = rows["solar_day"].to_numpy().astype(np.int64)
    dates = pd.DatetimeIndex(SOLAR_EPOCH.tz_localize(None) + pd.to_timedelta(solar_day, unit="D"))
    days = pd.DataFrame({name: rows[name].to_numpy(zero_copy_only=False) for name in DAY_COLUMNS}, index=dates)
    days = days.apply(pd.to_numeric)
    minutes = _flat(rows["minutes"])
    counts = pc.list_value_length(rows["minutes"]).fill_null(0).to_numpy()
    solar_minutes = np.repeat(solar_day * 1440, counts) + minutes.astype(np.int64)
    stamps = SOLAR_EPOCH + pd.to_timedelta(solar_minutes - offset, unit="min")
    energy = pd.Series(_flat(rows["generated_kwh_by_interval"]).astype(float), index=pd.DatetimeIndex(stamps))
    return SiteReadings(site.site_id, days, energy.sort_index())


def _flat(column: pa.ChunkedArray) -> np.ndarray:
    """The values of a list column, flattened (Athena's answer holds lists of text)."""
    values = pc.list_flatten(column).to_numpy(zero_copy_only=False)
    return values if values.dtype.kind in "fiu" else pd.to_numeric(values).to_numpy()
