"""A fleet of sites and the energy readings it produces (:mod:`.files` writes and uploads them).

Generation follows pvlib's Haurwitz clear-sky model at each site (no data files needed), scaled by
capacity, a performance ratio and seeded weather: a cloudiness factor per site and local day plus small
noise per interval. Consumption follows a daily load profile in local time (a morning and a larger
evening peak) around the site's base load, with noise. A seeded share of readings gets a negative
value (an anomaly for the pipeline to find).

On request (``faults``, see :mod:`energy_lib.workbook.simulator.faults`) a site goes silent, its meter
freezes, its inverter trips or its yield slowly falls.

Repeatability: the same fleet, period, interval, rate and seed give the same readings, the same keys
and the same bytes. The cloudiness of a site-day depends only on seed, site and day, so consecutive
batches of :func:`run_continuous` share their weather; per-interval noise and anomalies depend on seed
and start time.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TypedDict
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd
from pvlib.location import Location

from energy_lib import timeutil
from energy_lib.validation import EARLIEST, LATEST, SITE_ID
from energy_lib.workbook.simulator import faults as fault_model
from energy_lib.workbook.simulator.faults import Fault
from energy_lib.workbook.sites.registry import RegisteredSite, site_from_fields

PERFORMANCE_RATIO = 0.8  # AC energy out over what the clear-sky irradiance promises [-]
SAMPLE_MINUTES = 5  # longest spacing of irradiance and load samples inside one interval [min]
ANOMALY_KWH = (0.5, 80.0)  # magnitude range of an injected negative value, log-uniform [kWh]
MAX_READINGS = 5_000_000  # per simulate() call (about 2 GB of Python objects); longer runs go in parts
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
FIRST_MOMENT = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Site:
    """One producing site.

    Parameters
    ----------
    site_id : str
        1-128 letters, digits, ``-``, ``_`` or ``.``.
    latitude, longitude : float
        Position. [degrees]
    timezone : str
        IANA time zone name, e.g. ``Europe/Madrid``; sets the local day of the load profile.
    site_type : str
        Kind of plant, e.g. ``solar``, ``solar_storage``, ``hybrid``; descriptive.
    capacity_kw : float
        PV peak capacity. [kW]
    base_load_kw : float
        Average consumption. [kW]
    name : str
        For people, e.g. the town; optional.
    """

    site_id: str
    latitude: float
    longitude: float
    timezone: str
    site_type: str
    capacity_kw: float
    base_load_kw: float
    name: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.site_id, str) or not SITE_ID.fullmatch(self.site_id):
            raise ValueError(f"site_id must be 1-128 letters, digits, '-', '_' or '.': {self.site_id!r}")
        if not -90 <= self.latitude <= 90:
            raise ValueError(f"latitude must be within [-90, 90] degrees: {self.latitude!r}")
        if not -180 <= self.longitude <= 180:
            raise ValueError(f"longitude must be within [-180, 180] degrees: {self.longitude!r}")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
            raise ValueError(f"timezone must be an IANA time zone name: {self.timezone!r}") from exc
        if not isinstance(self.site_type, str) or not self.site_type:
            raise ValueError(f"site_type must be a non-empty string: {self.site_type!r}")
        for name in ("capacity_kw", "base_load_kw"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0: {value!r}")
        if not isinstance(self.name, str) or not self.name.isprintable():
            raise ValueError(f"name must be printable text: {self.name!r}")


# (latitude, longitude, timezone, site_type, capacity_kw, base_load_kw), one per time zone; sized so that
# a June day of the default fleet spans the efficiency zones (Seville green, Phoenix amber, the rest red)
_LOCATIONS: tuple[tuple[float, float, str, str, float, float], ...] = (
    (37.389, -5.984, "Europe/Madrid", "solar", 750.0, 120.0),  # Seville
    (33.448, -112.074, "America/Phoenix", "solar_storage", 1150.0, 210.0),  # Phoenix
    (-33.869, 151.209, "Australia/Sydney", "hybrid", 320.0, 95.0),  # Sydney
    (26.912, 75.787, "Asia/Kolkata", "solar", 1200.0, 260.0),  # Jaipur
    (-33.925, 18.424, "Africa/Johannesburg", "solar_storage", 410.0, 130.0),  # Cape Town
    (25.205, 55.271, "Asia/Dubai", "solar", 950.0, 300.0),  # Dubai
    (-23.551, -46.633, "America/Sao_Paulo", "hybrid", 280.0, 110.0),  # Sao Paulo
    (35.690, 139.692, "Asia/Tokyo", "solar_storage", 220.0, 80.0),  # Tokyo
    (21.307, -157.858, "Pacific/Honolulu", "solar", 150.0, 45.0),  # Honolulu
    (19.433, -99.133, "America/Mexico_City", "hybrid", 600.0, 190.0),  # Mexico City
    (-31.951, 115.861, "Australia/Perth", "solar", 380.0, 100.0),  # Perth
    (52.520, 13.405, "Europe/Berlin", "solar_storage", 260.0, 90.0),  # Berlin
)
_TOWNS = (
    "Seville",
    "Phoenix",
    "Sydney",
    "Jaipur",
    "Cape Town",
    "Dubai",
    "Sao Paulo",
    "Tokyo",
    "Honolulu",
    "Mexico City",
    "Perth",
    "Berlin",
)


def default_fleet(n_sites: int = 5) -> list[Site]:
    """A deterministic fleet ``SITE_001``, ``SITE_002``, ... at real places in different time zones.

    The first 12 sites are in 12 time zones; further sites revisit them, moved 0.02 degrees east per
    round, so every location stays distinct.
    """
    if isinstance(n_sites, bool) or not isinstance(n_sites, int) or n_sites < 1:
        raise ValueError(f"n_sites must be an integer >= 1: {n_sites!r}")
    fleet = []
    for index in range(n_sites):
        lap, slot = divmod(index, len(_LOCATIONS))
        latitude, longitude, zone, site_type, capacity_kw, base_load_kw = _LOCATIONS[slot]
        longitude = round((longitude + 0.02 * lap + 180) % 360 - 180, 3)
        name = _TOWNS[slot] + (f" {lap + 1}" if lap else "")
        fleet.append(
            Site(f"SITE_{index + 1:03d}", latitude, longitude, zone, site_type, capacity_kw, base_load_kw, name)
        )
    return fleet


class SimulatedReading(TypedDict):
    site_id: str
    timestamp: str  # start of the interval, UTC, ``YYYY-MM-DDTHH:MM:SSZ``
    energy_generated_kwh: float  # over the interval [kWh]
    energy_consumed_kwh: float  # over the interval [kWh]


@dataclass(frozen=True, slots=True)
class Simulation:
    """The readings of one run, site by site in time order, and how many of them carry an anomaly."""

    readings: list[SimulatedReading]
    injected_anomalies: int
    start: datetime  # first interval's start, aware UTC
    seed: int
    faults: tuple[Fault, ...] = ()


def load_profile(local_hour: np.ndarray) -> np.ndarray:
    """Relative demand by local hour: a night trough, a morning peak (07:30) and an evening peak (19:00).

    Parameters
    ----------
    local_hour : array of float
        Hour of the local day, 0 to 24. [h]

    Returns
    -------
    array of float
        Demand over the site's base load; averages about 1 over a day. [-]
    """
    return 0.75 + 0.45 * _daily_peak(local_hour, 7.5, 1.5) + 0.75 * _daily_peak(local_hour, 19.0, 2.0)


def _daily_peak(local_hour: np.ndarray, centre_h: float, width_h: float) -> np.ndarray:
    distance_h = (local_hour - centre_h + 12) % 24 - 12
    return np.exp(-0.5 * (distance_h / width_h) ** 2)


def simulate(
    fleet: Sequence[Site],
    start: datetime,
    hours: float,
    interval_minutes: int = 5,
    anomaly_rate: float = 0.02,
    seed: int = 42,
    faults: Sequence[Fault] = (),
) -> Simulation:
    """Readings of every site for each interval starting in ``[start, start + hours)``.

    Parameters
    ----------
    fleet : sequence of Site
        At least one site; site ids must be distinct.
    start : datetime
        Start of the first interval; timezone-aware UTC, in the years the pipeline stores (2000 to 2199).
    hours : float
        Length of the period; at most :data:`MAX_READINGS` readings in all. [h]
    interval_minutes : int
        Length of one reading's interval, 1 to 1440. [min]
    anomaly_rate : float
        Share of readings given a negative generation or consumption, 0 to 1. [-]
    seed : int
        Makes the run repeatable.
    faults : sequence of Fault
        Faults to inject (:mod:`energy_lib.workbook.simulator.faults`); the rest of the run is as without them.

    Returns
    -------
    Simulation
        Readings and the number of anomalies injected.
    """
    energy = fleet_energy(fleet, start, hours, interval_minutes, anomaly_rate, seed, faults)
    stamps = list(energy.starts.strftime(timeutil.TIMESTAMP_FORMAT))
    readings: list[SimulatedReading] = [
        {"site_id": site.site_id, "timestamp": stamp, "energy_generated_kwh": gen, "energy_consumed_kwh": con}
        for site, gen_row, con_row, sent_row in zip(
            energy.fleet,
            energy.generated_kwh.tolist(),
            energy.consumed_kwh.tolist(),
            energy.sent.tolist(),
            strict=True,
        )
        for stamp, gen, con, keep in zip(stamps, gen_row, con_row, sent_row, strict=True)
        if keep
    ]
    return Simulation(readings, energy.injected_anomalies, require_utc(start, "start"), seed, energy.faults)


@dataclass(frozen=True, slots=True)
class FleetEnergy:
    """A run as arrays: ``generated_kwh[site, interval]`` and ``consumed_kwh[site, interval]``, rounded to
    3 decimals [kWh], for the intervals starting at ``starts`` (aware UTC), sites in ``fleet`` order;
    ``sent[site, interval]`` is False where a fault keeps the reading from being sent."""

    fleet: list[Site]
    starts: pd.DatetimeIndex
    generated_kwh: np.ndarray
    consumed_kwh: np.ndarray
    sent: np.ndarray
    injected_anomalies: int
    faults: tuple[Fault, ...]


def fleet_energy(
    fleet: Sequence[Site],
    start: datetime,
    hours: float,
    interval_minutes: int = 5,
    anomaly_rate: float = 0.02,
    seed: int = 42,
    faults: Sequence[Fault] = (),
) -> FleetEnergy:
    """What :func:`simulate` simulates, as arrays (no Python object per reading); same arguments."""
    start = require_utc(start, "start")
    check_run_args(interval_minutes, anomaly_rate, seed)
    if not isinstance(hours, int | float) or not math.isfinite(hours) or hours <= 0:
        raise ValueError(f"hours must be a finite number > 0: {hours!r}")
    fleet = list(fleet)
    if not fleet:
        raise ValueError("fleet must hold at least one site (n_sites >= 1)")
    if not all(isinstance(site, Site) for site in fleet):
        raise ValueError("fleet must hold Site objects")
    site_ids = [site.site_id for site in fleet]
    if len(set(site_ids)) != len(site_ids):
        raise ValueError(f"site ids in a fleet must be distinct: {site_ids}")
    faults = fault_model.check(faults, site_ids)

    if start < EARLIEST or start + timedelta(hours=min(hours, 2e6)) > LATEST:
        raise ValueError(f"readings must lie in [{EARLIEST:%Y-%m-%d}, {LATEST:%Y-%m-%d}): the years the pipeline keeps")
    count = max(1, math.ceil(hours * 60 / interval_minutes - 1e-9))  # the tolerance absorbs float error
    if count * len(fleet) > MAX_READINGS:
        raise ValueError(
            f"{count * len(fleet):,} readings is more than {MAX_READINGS:,} in one run; simulate the period in parts"
        )
    starts = pd.date_range(start, periods=count, freq=pd.Timedelta(minutes=interval_minutes))
    rng = np.random.default_rng([seed, (start - FIRST_MOMENT) // timedelta(seconds=1)])
    generated_kwh, consumed_kwh = np.array(
        [_site_energy(site, starts, interval_minutes, seed, rng) for site in fleet]
    ).transpose(1, 0, 2)
    sent, faulted = fault_model.apply(faults, site_ids, starts, generated_kwh, consumed_kwh)
    injected = _inject_anomalies(generated_kwh, consumed_kwh, anomaly_rate, rng, faulted)

    return FleetEnergy(fleet, starts, generated_kwh, consumed_kwh, sent, injected, tuple(faults))


def _site_energy(
    site: Site, starts: pd.DatetimeIndex, interval_minutes: int, seed: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Generated and consumed energy of each interval, rounded to 3 decimals. [kWh]"""
    per_interval = max(1, math.ceil(interval_minutes / SAMPLE_MINUTES))
    step = pd.Timedelta(minutes=interval_minutes) / per_interval
    offsets = pd.TimedeltaIndex([(index + 0.5) * step for index in range(per_interval)])
    samples = starts.repeat(per_interval) + np.tile(offsets, len(starts))  # sample midpoints, interval-major

    location = Location(site.latitude, site.longitude, tz=site.timezone, altitude=0.0)  # altitude: no lookup file
    ghi_w_m2 = location.get_clearsky(samples, model="haurwitz")["ghi"].to_numpy()
    local = samples.tz_convert(site.timezone).tz_localize(None)
    local_midnight = local.normalize()
    local_hour = ((local - local_midnight) / pd.Timedelta(hours=1)).to_numpy()
    local_day = ((local_midnight - pd.Timestamp("1970-01-01")) // pd.Timedelta(days=1)).to_numpy() + _EPOCH_ORDINAL
    clearness = _clearness_by_day(site, local_day, seed)

    interval_h = interval_minutes / 60
    mean_power_kw = (site.capacity_kw * ghi_w_m2 / 1000 * PERFORMANCE_RATIO * clearness).reshape(-1, per_interval)
    generated_kwh = mean_power_kw.mean(axis=1) * interval_h * np.exp(rng.normal(0.0, 0.06, len(starts)))
    load_kw = (site.base_load_kw * load_profile(local_hour)).reshape(-1, per_interval)
    consumed_kwh = load_kw.mean(axis=1) * interval_h * np.exp(rng.normal(0.0, 0.08, len(starts)))
    return np.round(generated_kwh, 3), np.round(consumed_kwh, 3)


def _clearness_by_day(site: Site, local_day: np.ndarray, seed: int) -> np.ndarray:
    """Share of clear-sky irradiance that gets through on each sample's local day (a proleptic ordinal). [-]"""
    site_number = zlib.crc32(site.site_id.encode())
    by_day = {
        day: 1.0 - 0.7 * np.random.default_rng([seed, site_number, day]).beta(1.5, 4.0)
        for day in np.unique(local_day).tolist()
    }
    return np.array([by_day[day] for day in local_day.tolist()])


def _inject_anomalies(
    generated_kwh: np.ndarray,
    consumed_kwh: np.ndarray,
    anomaly_rate: float,
    rng: np.random.Generator,
    spared: np.ndarray,
) -> int:
    """Make a random ``anomaly_rate`` share of readings negative in one field, in place, except where ``spared``
    (faulted intervals); return how many. The draws do not depend on ``spared``."""
    hit = rng.random(generated_kwh.shape) < anomaly_rate
    count = int(hit.sum())
    low_kwh, high_kwh = ANOMALY_KWH
    values_kwh = -np.round(np.exp(rng.uniform(math.log(low_kwh), math.log(high_kwh), count)), 3)
    on_generation = rng.random(count) < 0.5
    rows, columns = np.nonzero(hit)
    kept = ~spared[rows, columns]
    rows, columns, values_kwh, on_generation = rows[kept], columns[kept], values_kwh[kept], on_generation[kept]
    generated_kwh[rows[on_generation], columns[on_generation]] = values_kwh[on_generation]
    consumed_kwh[rows[~on_generation], columns[~on_generation]] = values_kwh[~on_generation]
    return int(kept.sum())


def require_utc(moment: datetime, name: str) -> datetime:
    if not isinstance(moment, datetime) or moment.tzinfo is None or moment.utcoffset() != timedelta(0):
        raise ValueError(
            f"{name} must be a timezone-aware UTC datetime, e.g. datetime(2025, 6, 11, tzinfo=timezone.utc): {moment!r}"
        )
    return moment.astimezone(UTC)


def check_run_args(interval_minutes: int, anomaly_rate: float, seed: int) -> None:
    if isinstance(interval_minutes, bool) or not isinstance(interval_minutes, int) or not 1 <= interval_minutes <= 1440:
        raise ValueError(f"interval_minutes must be an integer from 1 to 1440: {interval_minutes!r}")
    if not isinstance(anomaly_rate, int | float) or not 0 <= anomaly_rate <= 1:
        raise ValueError(f"anomaly_rate must be a number from 0 to 1: {anomaly_rate!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0: {seed!r}")


def registry_entries(fleet: Iterable[Site], interval_minutes: int) -> list[RegisteredSite]:
    """The site registry's entries of a simulated fleet, reporting all day every ``interval_minutes``."""
    return [
        site_from_fields(
            {
                "site_id": site.site_id,
                "name": site.name,
                "latitude": repr(site.latitude),
                "longitude": repr(site.longitude),
                "timezone": site.timezone,
                "site_type": site.site_type,
                "capacity_kw": repr(site.capacity_kw),
                "interval_minutes": interval_minutes,
            },
            f"site {site.site_id}",
        )
        for site in fleet
    ]
