"""Fleet performance per site over a period: what :func:`assess_fleet` returns and ``energy-workbook fleet
performance`` prints.

For each site, in this order: its readings from the lake (:mod:`.readings`, DuckDB a group of sites at a time),
its expected output (:mod:`.expectation`), clock shifts found and undone (:mod:`.clock`), outages and
availability (:mod:`.availability`), the daily normalized energy with degradation and soiling
(:mod:`.trends`), then lost energy by cause (:mod:`.losses`) and the performance ratio. Sites run in parallel
processes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from energy_lib import query
from energy_lib.config import Settings
from energy_lib.workbook.fleet import availability, clock, losses, trends
from energy_lib.workbook.fleet.expectation import (
    CLEAR_SKY,
    GAMMA_PDC_PER_K,
    Expectation,
    expect,
    solar_offset_minutes,
    solar_zone,
)
from energy_lib.workbook.fleet.readings import SiteReadings, read_days, site_readings
from energy_lib.workbook.sites.registry import RegisteredSite

WORKERS = 2
EXPECTATIONS = ("auto", CLEAR_SKY)  # auto: a site's imported weather where it has one, else the clear sky


@dataclass(frozen=True, slots=True)
class SitePerformance:
    """One site's figures over the period (:meth:`row`: the JSON fields) and the daily series the notebook
    draws (``daily``: ``normalized``, ``soiling_ratio``, ``actual_kwh``, ``clipping_lost_kwh`` per solar day)."""

    figures: dict[str, Any]
    daily: pd.DataFrame = field(repr=False)

    def row(self) -> dict[str, Any]:
        return dict(self.figures)


def assess_fleet(
    settings: Settings,
    sites: Sequence[RegisteredSite],
    start: datetime | str,
    end: datetime | str,
    lake_dir: str | Path | None = None,
    weather: Mapping[str, pd.DataFrame] | None = None,
    workers: int = WORKERS,
) -> list[SitePerformance]:
    """Every site's performance over the solar days that begin in ``[start, end)`` (whole UTC days), from
    the lake (``lake_dir``, or the target's); ``weather``: imported series by site id (the others use the
    clear sky). A site without readings in the period gets a row that says so."""
    first, last = query.bounded_range(start, end)
    if first.time() != datetime.min.time() or last.time() != datetime.min.time():
        raise ValueError("start and end must be UTC midnights: the analysis works on whole days")
    if not sites:
        return []
    table = read_days(settings, sites, first, last, lake_dir)
    jobs = [(site, site_readings(table, site), first, last, (weather or {}).get(site.site_id)) for site in sites]
    if workers > 1 and len(jobs) > 1:
        # spawned, not forked: a worker does not carry the parent's memory (the lake's answer, DuckDB's buffers)
        with ProcessPoolExecutor(min(workers, len(jobs)), mp_context=get_context("spawn")) as pool:
            return list(pool.map(_assess_job, jobs))
    return [_assess_job(job) for job in jobs]


def chosen_sites(registered: Sequence[RegisteredSite], names: Sequence[str] = ()) -> list[RegisteredSite]:
    """The registered sites named (all of them when ``names`` is empty: none when nothing is registered), in
    the registry's order; ValueError naming a site that is not registered."""
    known = {site.site_id: site for site in registered}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(f"not registered: {', '.join(unknown)} (see `energy-workbook sites list`)")
    return [site for site in registered if not names or site.site_id in names]


def site_weather(
    settings: Settings, sites: Sequence[RegisteredSite], lake_dir: str | Path | None = None
) -> dict[str, pd.DataFrame]:
    """The imported weather series of those ``sites`` that have one, by site id."""
    from energy_lib.workbook.sites.weather import get_weather

    found = {site.site_id: get_weather(settings, site.site_id, lake_dir) for site in sites}
    return {site_id: series for site_id, series in found.items() if series is not None}


def assess_registered(
    settings: Settings,
    start: datetime | str,
    end: datetime | str,
    sites: Sequence[str] = (),
    expectation: str = "auto",
    lake_dir: str | Path | None = None,
    known: Sequence[RegisteredSite] = (),
) -> list[SitePerformance]:
    """:func:`assess_fleet` for the registered ``sites`` (all of them when empty), each against its imported
    weather where it has one (``expectation="auto"``) or against the clear sky (``"clear-sky"``). With
    ``known`` (sites described elsewhere, e.g. a simulated fleet), those are chosen from instead of the
    registry."""
    from energy_lib.clients import client
    from energy_lib.workbook.sites.registry import list_sites

    if expectation not in EXPECTATIONS:
        raise ValueError(f"expectation must be one of {', '.join(EXPECTATIONS)}, not {expectation!r}")
    candidates = list(known) or list_sites(settings, client("dynamodb", settings))
    chosen = chosen_sites(candidates, sites)
    weather = {} if expectation == CLEAR_SKY else site_weather(settings, chosen, lake_dir)
    return assess_fleet(settings, chosen, start, end, lake_dir, weather)


def _assess_job(job: tuple[Any, ...]) -> SitePerformance:
    return assess_site(*job)


def interval_grid(site: RegisteredSite, first: datetime, last: datetime) -> pd.DatetimeIndex:
    """The site's interval starts (UTC slots, ``interval_minutes`` apart from UTC midnight) whose solar day
    begins in ``[first, last)``."""
    step = pd.Timedelta(minutes=site.interval_minutes)
    offset = pd.Timedelta(minutes=solar_offset_minutes(float(site.longitude)))
    begin, stop = pd.Timestamp(first) - offset, pd.Timestamp(last) - offset
    return pd.date_range(begin.floor(step), stop.floor(step), freq=step, inclusive="left")


def assess_site(
    site: RegisteredSite,
    readings: SiteReadings,
    first: datetime,
    last: datetime,
    weather: pd.DataFrame | None = None,
) -> SitePerformance:
    """One site's figures (see the module docstring)."""
    latitude, longitude = float(site.latitude), float(site.longitude)
    base = _base_figures(site, readings, first, last)
    if readings.generated_kwh.empty:
        return SitePerformance({**base, "note": "no readings in the period"}, pd.DataFrame())
    first = max(first, pd.Timestamp(readings.days.index.min()).tz_localize("UTC").to_pydatetime())
    grid = interval_grid(site, first, last)
    expectation = expect(
        latitude,
        longitude,
        float(site.capacity_kw),
        grid,
        site.interval_minutes,
        None if site.tilt_deg is None else float(site.tilt_deg),
        None if site.azimuth_deg is None else float(site.azimuth_deg),
        weather,
    )
    shifts = clock.find_shifts(readings, expectation, longitude)
    runs = clock.shift_runs(shifts)
    energy = _on_grid(clock.corrected(readings, shifts, longitude), grid, site.interval_minutes)

    found = availability.assess_availability(energy, expectation)
    daily = trends.daily_normalized(energy, expectation, found.down, solar_zone(longitude))
    soiling = trends.soiling(daily, trends.first_pass_rate(daily))
    ratio = soiling.details.get("ratio", pd.Series(dtype=float))
    soiled = soiling.value is not None and soiling.value >= trends.SOILING_CORRECTION_PCT
    degradation = trends.degradation(daily, ratio if soiled else None)

    interval_day = _solar_day(grid, longitude)
    level = losses.plant_level(daily.normalized).reindex(interval_day)
    clipping_kwh = losses.clipping_lost_kwh(energy, expectation, daily.clipped, found.down, level)
    factor = losses.degradation_factor(daily.normalized.index, degradation.value, site.commissioned_on)
    lost = losses.waterfall(energy, expectation, interval_day, found.lost_kwh, clipping_kwh, ratio, factor)
    actual = float(energy.sum())
    assumptions = list(expectation.assumptions)
    if site.commissioned_on is None and degradation.value is not None:
        assumptions.append("no commissioning date in the registry: degradation losses counted from the period's start")
    figures = {
        **base,
        "expectation": expectation.basis,
        "assumptions": assumptions,
        "actual_kwh": round(actual, 3),
        "expected_kwh": round(float((expectation.frame["power_kw"] * expectation.interval_h).sum()), 3),
        "lost_energy_kwh": {cause: round(value, 3) for cause, value in lost.items()},
        "availability_pct": found.time_pct,
        "energy_availability_pct": found.energy_pct,
        "outages": len(found.outages),
        **performance_ratios(energy, expectation, float(site.capacity_kw)),
        "degradation_pct_per_year": degradation.value,
        "degradation_ci68_pct_per_year": degradation.ci68,
        "degradation_ci95_pct_per_year": degradation.ci95,
        "degradation_refused": degradation.refused,
        "soiling_loss_pct": soiling.value,
        "soiling_loss_ci68_pct": soiling.ci68,
        "soiling_rate_pct_per_day": soiling.details.get("rate_pct_per_day"),
        "cleaning_events": [f"{day:%Y-%m-%d}" for day in soiling.details.get("cleanings", [])],
        "soiling_refused": soiling.refused,
        "clipping_loss_pct": 100 * lost["clipping"] / (actual + lost["clipping"]) if actual > 0 else None,
        "time_shift_minutes": runs[-1].minutes if runs and runs[-1].end >= readings.days.index[-1] else 0,
        "time_shifts": [run.row() for run in runs],
    }
    days = pd.DataFrame(
        {
            "normalized": daily.normalized,
            "soiling_ratio": ratio.reindex(daily.normalized.index) if len(ratio) else np.nan,
            "actual_kwh": energy.groupby(interval_day).sum().reindex(daily.normalized.index),
            "clipping_lost_kwh": clipping_kwh.groupby(interval_day).sum().reindex(daily.normalized.index),
        }
    )
    return SitePerformance({key: _plain(value) for key, value in figures.items()}, days)


def _base_figures(site: RegisteredSite, readings: SiteReadings, first: datetime, last: datetime) -> dict[str, Any]:
    days = readings.days
    return {
        "site_id": site.site_id,
        "name": site.name,
        "period_start": f"{first:%Y-%m-%d}",
        "period_end": f"{last:%Y-%m-%d}",
        "interval_minutes": site.interval_minutes,
        "dc_ac_ratio": None if site.dc_ac_ratio is None else float(site.dc_ac_ratio),
        "days_with_readings": int(len(days)),
        "readings": int(days["readings"].sum()) if len(days) else 0,
        "flagged_readings": int(days["flagged_readings"].sum()) if len(days) else 0,
    }


def _solar_day(grid: pd.DatetimeIndex, longitude: float) -> pd.DatetimeIndex:
    offset = pd.Timedelta(minutes=solar_offset_minutes(longitude))
    return (grid.tz_convert("UTC").tz_localize(None) + offset).normalize()


def _on_grid(energy: pd.Series, grid: pd.DatetimeIndex, interval_minutes: int) -> pd.Series:
    """Interval energies on the site's slots (a reading counts in the slot its timestamp falls in); NaN where
    no reading."""
    slots = energy.index.floor(pd.Timedelta(minutes=interval_minutes))
    return energy.groupby(slots).sum().reindex(grid)


def performance_ratios(energy: pd.Series, expectation: Expectation, capacity_kw: float) -> dict[str, float | None]:
    """IEC 61724-1 performance ratio PR = final yield / reference yield, and PR_STC, the same with the reference
    yield corrected to a cell temperature of 25 degC (pvlib's PVWatts with :data:`GAMMA_PDC_PER_K` and the
    expectation's cell temperature), over the intervals with a reading, on the expectation's irradiance."""
    from pvlib.pvsystem import pvwatts_dc

    frame = expectation.frame[energy.notna().to_numpy()]
    actual_kwh = float(energy.sum())
    reference_h = float(frame["poa_w_m2"].sum()) * expectation.interval_h / 1000  # [kWh/m^2] / 1 kW/m^2
    corrected_h = float(pvwatts_dc(frame["poa_w_m2"], frame["temp_cell_c"], 1.0, GAMMA_PDC_PER_K).sum())
    corrected_h *= expectation.interval_h
    if reference_h <= 0:
        return {"performance_ratio": None, "performance_ratio_stc": None}
    return {
        "performance_ratio": actual_kwh / capacity_kw / reference_h,
        "performance_ratio_stc": actual_kwh / capacity_kw / corrected_h,
    }


def _plain(value: Any) -> Any:
    """Figures as JSON values: floats rounded to 4 decimals, NaN as None, tuples as lists."""
    if isinstance(value, (float, np.floating)):
        return None if not math.isfinite(value) else round(float(value), 4)
    if isinstance(value, (tuple, list)):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, np.integer):
        return int(value)
    return value


def period_days(first: datetime, last: datetime) -> int:
    return (last - first) // timedelta(days=1)
