"""A simulated PV fleet whose truth is known: ``energy-workbook fleet simulate``.

:func:`draw_fleet` draws plants (:class:`~energy_lib.workbook.simulator.plant.Plant`) at a dozen places of
different climates, each with its own tilt, orientation, DC/AC ratio, commissioning date and injected losses: a
degradation rate (none at a fifth of the sites), soiling with cleanings by rain and by the operator (none at
three tenths), outages, and at a quarter of the sites a clock that jumps. :func:`simulate_fleet` runs them
(:func:`~energy_lib.workbook.simulator.plant.simulate_plant`, in parallel processes); :func:`write_fleet` writes
the readings into the lake as :mod:`.year` does (one Parquet file per UTC day, never over a day that has one)
and :func:`truth_document` is the truth file, with the field names of the analysis's output.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from energy_lib.config import Settings
from energy_lib.validation import EARLIEST, LATEST
from energy_lib.workbook.simulator.model import Site, require_utc
from energy_lib.workbook.simulator.plant import Plant, outage_spans, simulate_plant
from energy_lib.workbook.simulator.weather import MINUTES_PER_DEGREE, Climate
from energy_lib.workbook.simulator.year import YearRun, day_table, put_day
from energy_lib.workbook.sites.registry import RegisteredSite, site_from_fields
from energy_lib.workbook.sites.weather import put_weather

PREFIX = "PV_"  # site ids PV_001, PV_002, ...: apart from the pipeline simulator's SITE_001 ...
SOURCE_PREFIX = "simulated-fleet/"
OUTAGES_PER_YEAR = 3.0
# DC capacity drawn: an hour of the largest stays under the pipeline's implausible-magnitude limit (1,000 kWh)
CAPACITY_KW = (100.0, 900.0)
SHIFT_MINUTES = (60, -60, 120, 30)  # clock errors drawn (those that are whole intervals)
# (town, latitude, longitude, time zone, climate): sunny and cloudy, dry and wet, both hemispheres
PLACES: tuple[tuple[str, float, float, str, Climate], ...] = (
    ("Seville", 37.389, -5.984, "Europe/Madrid", Climate(0.65, 0.25, 0.5)),
    ("Phoenix", 33.448, -112.074, "America/Phoenix", Climate(0.8, 0.1, 0.3)),
    ("Sydney", -33.869, 151.209, "Australia/Sydney", Climate(0.5, 0.1, 0.6)),
    ("Jaipur", 26.912, 75.787, "Asia/Kolkata", Climate(0.65, -0.3, 0.7)),
    ("Cape Town", -33.925, 18.424, "Africa/Johannesburg", Climate(0.6, 0.2, 0.6)),
    ("Dubai", 25.205, 55.271, "Asia/Dubai", Climate(0.85, 0.05, 0.2)),
    ("Sao Paulo", -23.551, -46.633, "America/Sao_Paulo", Climate(0.4, -0.1, 0.7)),
    ("Tokyo", 35.690, 139.692, "Asia/Tokyo", Climate(0.4, 0.0, 0.7)),
    ("Honolulu", 21.307, -157.858, "Pacific/Honolulu", Climate(0.5, 0.05, 0.5)),
    ("Mexico City", 19.433, -99.133, "America/Mexico_City", Climate(0.55, -0.2, 0.6)),
    ("Perth", -31.951, 115.861, "Australia/Perth", Climate(0.6, 0.25, 0.5)),
    ("Berlin", 52.520, 13.405, "Europe/Berlin", Climate(0.3, 0.2, 0.7)),
)


@dataclass(frozen=True, slots=True)
class FleetRun:
    """A simulated fleet: its plants, the intervals' starts, and each plant's readings and truth."""

    plants: list[Plant]
    start: datetime
    days: int
    interval_minutes: int
    seed: int
    histories: list[Any]  # plant.History, one per plant, in the same order


def draw_fleet(n_sites: int, start: datetime, days: int, interval_minutes: int, seed: int) -> list[Plant]:
    """``n_sites`` plants ``PV_001`` ... for the period of ``days`` days from ``start``; the same arguments
    draw the same fleet."""
    if isinstance(n_sites, bool) or not isinstance(n_sites, int) or n_sites < 1:
        raise ValueError(f"sites must be a whole number >= 1: {n_sites!r}")
    starts = interval_starts(start, days, interval_minutes)
    plants = []
    for index in range(n_sites):
        rng = np.random.default_rng([seed, index, 7])
        town, latitude, longitude, zone, climate = PLACES[index % len(PLACES)]
        latitude = round(float(np.clip(latitude + rng.uniform(-0.5, 0.5), -89, 89)), 3)
        longitude = round(float((longitude + rng.uniform(-0.5, 0.5) + 180) % 360 - 180), 3)
        capacity_kw = round(float(rng.uniform(*CAPACITY_KW)), 1)
        site = Site(
            f"{PREFIX}{index + 1:03d}", latitude, longitude, zone, "solar", capacity_kw, 0.1 * capacity_kw, town
        )
        facing = 180.0 if latitude >= 0 else 0.0
        plants.append(
            Plant(
                site=site,
                tilt_deg=round(float(np.clip(abs(latitude) * 0.76 + 3.1 + rng.uniform(-5, 5), 5, 45)), 1),
                azimuth_deg=round(float((facing + rng.uniform(-30, 30)) % 360), 1),
                dc_ac_ratio=round(float(rng.uniform(1.0, 1.1) if rng.random() < 0.3 else rng.uniform(1.2, 1.5)), 2),
                commissioned_on=(start - timedelta(days=int(rng.integers(0, 6 * 365)))).date(),
                climate=climate,
                degradation_pct_per_year=0.0 if rng.random() < 0.2 else round(float(-rng.uniform(0.2, 1.5)), 2),
                soiling_rate_pct_per_day=0.0 if rng.random() < 0.3 else round(float(rng.uniform(0.05, 0.3)), 3),
                cleaning_limit_pct=round(float(rng.uniform(6, 15)), 1),
                gamma_pdc_per_k=round(float(rng.uniform(-0.0045, -0.003)), 5),
                system_loss_pct=round(float(rng.uniform(6, 14)), 1),
                outages=outage_spans(starts, interval_minutes, rng, OUTAGES_PER_YEAR),
                **_clock_shift(rng, start, days, interval_minutes, longitude),
            )
        )
    return plants


def _clock_shift(
    rng: np.random.Generator, start: datetime, days: int, interval_minutes: int, longitude: float
) -> dict[str, Any]:
    """At a quarter of the sites (with a period long enough), a clock error from a solar midnight on."""
    choices = [minutes for minutes in SHIFT_MINUTES if minutes % interval_minutes == 0]
    if rng.random() >= 0.25 or days < 120 or not choices:
        return {}
    day = int(rng.integers(60, days - 60))
    solar_midnight = start + timedelta(days=day, minutes=-MINUTES_PER_DEGREE * longitude)
    return {"time_shift_start": solar_midnight, "time_shift_minutes": int(rng.choice(choices))}


def interval_starts(start: datetime, days: int, interval_minutes: int) -> pd.DatetimeIndex:
    """The starts of every interval of ``days`` whole UTC days from ``start`` (a UTC midnight)."""
    start = require_utc(start, "start")
    if start != start.replace(hour=0, minute=0, second=0, microsecond=0):
        raise ValueError(f"start must be a UTC midnight, e.g. 2022-01-01T00:00:00Z: {start!r}")
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise ValueError(f"days must be a whole number >= 1: {days!r}")
    if isinstance(interval_minutes, bool) or not isinstance(interval_minutes, int) or 1440 % max(interval_minutes, 1):
        raise ValueError(f"interval_minutes must divide a day (5, 10, 15, 30, 60 ...): {interval_minutes!r}")
    if start < EARLIEST or start + timedelta(days=days) > LATEST:
        raise ValueError(
            f"the period must lie in [{EARLIEST:%Y-%m-%d}, {LATEST:%Y-%m-%d}): the years the pipeline keeps"
        )
    return pd.date_range(start, periods=days * 1440 // interval_minutes, freq=pd.Timedelta(minutes=interval_minutes))


def simulate_fleet(
    n_sites: int, start: datetime, days: int, interval_minutes: int = 15, seed: int = 42, workers: int = 2
) -> FleetRun:
    """Draw a fleet and simulate every plant over ``days`` days from ``start`` (in ``workers`` processes)."""
    plants = draw_fleet(n_sites, start, days, interval_minutes, seed)
    jobs = [(plant, start, days, interval_minutes, seed) for plant in plants]
    if workers > 1 and len(plants) > 1:
        with ProcessPoolExecutor(min(workers, len(plants))) as pool:
            histories = list(pool.map(_simulate_one, jobs))
    else:
        histories = [_simulate_one(job) for job in jobs]
    return FleetRun(plants, start, days, interval_minutes, seed, histories)


def _simulate_one(job: tuple[Plant, datetime, int, int, int]) -> Any:
    plant, start, days, interval_minutes, seed = job
    return simulate_plant(plant, interval_starts(start, days, interval_minutes), interval_minutes, seed)


def write_fleet(
    settings: Settings, run: FleetRun, lake_dir: str | Path | None = None, stations: bool = True
) -> YearRun:
    """Write the fleet's readings as the lake's day files (into the settings' bucket, or under ``lake_dir``);
    a day that already has a file is refused (:class:`~energy_lib.errors.LakeError`). With ``stations``, each
    site's weather station series is stored as its imported weather (:mod:`energy_lib.workbook.sites.weather`)."""
    if stations:
        for history in run.histories:
            put_weather(settings, history.site_id, history.station, lake_dir)
    moments = np.concatenate([history.moments for history in run.histories])
    site_ids = np.concatenate([np.full(len(h.moments), h.site_id, dtype=object) for h in run.histories])
    generated = np.concatenate([history.generated_wh for history in run.histories])
    consumed = np.concatenate([history.consumed_wh for history in run.histories])
    days = moments.astype("datetime64[D]")
    order = np.argsort(days, kind="stable")
    moments, site_ids, generated, consumed, days = (a[order] for a in (moments, site_ids, generated, consumed, days))
    bounds = np.flatnonzero(np.diff(days.astype(np.int64))) + 1
    ingested_at = np.datetime64(datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0), "ms")
    source_key = f"{SOURCE_PREFIX}{run.start:%Y%m%d}-s{run.seed}"
    written = np.zeros(3, dtype=np.int64)
    for part in np.split(np.arange(len(moments)), bounds):
        table = day_table(
            settings,
            site_ids[part].astype(str),
            moments[part],
            generated[part],
            consumed[part],
            ingested_at,
            source_key,
        )
        body = _parquet(table)
        put_day(settings, lake_dir, str(days[part[0]]), body)
        written += (1, table.num_rows, len(body))
    return YearRun(len(run.plants), int(written[0]), int(written[1]), 0, int(written[2]))


def _parquet(table: Any) -> bytes:
    from energy_lib.compaction.days import to_parquet

    return to_parquet(table)


def registry_entries(plants: Sequence[Plant], interval_minutes: int) -> list[RegisteredSite]:
    """The site registry's entries of a simulated fleet: place, capacity, tilt, azimuth, DC/AC ratio and
    commissioning date as built (what an asset owner knows), not the losses injected."""
    return [
        site_from_fields(
            {
                "site_id": plant.site.site_id,
                "name": plant.site.name,
                "latitude": repr(plant.site.latitude),
                "longitude": repr(plant.site.longitude),
                "timezone": plant.site.timezone,
                "site_type": plant.site.site_type,
                "capacity_kw": repr(plant.site.capacity_kw),
                "interval_minutes": interval_minutes,
                "tilt_deg": repr(plant.tilt_deg),
                "azimuth_deg": repr(plant.azimuth_deg),
                "dc_ac_ratio": repr(plant.dc_ac_ratio),
                "commissioned_on": plant.commissioned_on.isoformat(),
            },
            f"site {plant.site.site_id}",
        )
        for plant in plants
    ]


def truth_document(run: FleetRun) -> dict[str, Any]:
    """The truth file: the run's arguments, and per site what was injected, with the analysis's field names."""
    end = run.start + timedelta(days=run.days)
    return {
        "simulation": {
            "sites": len(run.plants),
            "start": f"{run.start:%Y-%m-%dT%H:%M:%SZ}",
            "end": f"{end:%Y-%m-%dT%H:%M:%SZ}",
            "interval_minutes": run.interval_minutes,
            "seed": run.seed,
        },
        "sites": {history.site_id: _rounded(history.truth) for history in run.histories},
    }


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4) if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_rounded(item) for item in value]
    if isinstance(value, np.generic):
        return _rounded(value.item())
    return value


def ensure_fleet(
    settings: Settings,
    n_sites: int,
    start: datetime,
    days: int,
    interval_minutes: int = 15,
    seed: int = 42,
    lake_dir: str | Path | None = None,
) -> tuple[FleetRun, bool]:
    """The simulated fleet of these arguments in the lake: simulated, then written unless the lake already holds
    readings of its sites in its period (a second run of a notebook). It is not registered (site health would
    call its sites silent: their history is in the lake only). Returns the run (its truth) and whether it was
    written now."""
    from energy_lib.workbook.lake import engines, queries

    run = simulate_fleet(n_sites, start, days, interval_minutes, seed)
    end = start + timedelta(days=days)
    site_ids = [plant.site.site_id for plant in run.plants]
    held = engines.sql(
        settings, f"SELECT count(*) AS readings FROM readings WHERE {queries.where(start, end, site_ids)}", lake_dir
    )
    written = int(held["readings"].iloc[0]) == 0
    if written:
        write_fleet(settings, run, lake_dir)
    return run, written
