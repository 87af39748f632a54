"""One simulated PV plant over a long period, with every loss injected on purpose and counted: the truth that
fleet performance analysis (:mod:`energy_lib.workbook.fleet`) must recover.

The chain, per 5-minute sample (pvlib for the physics):

1. plane-of-array irradiance from the site's :mod:`.weather` (Perez transposition), cell temperature
   (SAPM, open rack), DC power (PVWatts, the plant's temperature coefficient), less the plant's system losses,
   times a constant inverter efficiency: the energy the plant would make as commissioned, clean, never clipped
   and always available (``expected_kwh``);
2. degradation: times ``(1 + rate / 100) ** age``, age in years since commissioning;
3. soiling: times the soiling ratio of the solar day, which falls by ``soiling_rate_pct_per_day`` each day from
   1 and comes back to 1 on a cleaning: a day with at least :data:`CLEANING_RAIN_MM` of rain, or the operator's
   cleaning when the ratio reaches the plant's limit;
4. clipping: at most the inverter's AC rating, capacity / DC-AC ratio;
5. outages: zero in the outage intervals (the meter reports 0 kWh);
6. a clock shift: from ``time_shift_start`` on, readings carry ``time_shift_minutes`` more than their true start.

Each loss is the energy between two steps, so expected - losses = actual exactly (up to rounding to watt-hours).
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from pvlib import irradiance, pvsystem, temperature

from energy_lib.workbook.simulator.model import Site, load_profile
from energy_lib.workbook.simulator.weather import Climate, Weather, simulate_weather, solar_days

SAMPLE_MINUTES = 5  # longest step of the physics inside an interval [min]
INVERTER_EFFICIENCY = 0.96  # [-]
CLEANING_RAIN_MM = 5.0  # a day with this much rain cleans the modules [mm]
DAYLIGHT_ELEVATION_DEG = 5.0  # an interval counts for time-based availability when the sun is this high [degrees]
CELL_TEMPERATURE = temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"]["open_rack_glass_polymer"]
CAUSES = ("outage", "clipping", "soiling", "degradation", "other")
SENSOR_CALIBRATION = 0.01  # spread of a station pyranometer's calibration error [-]
SENSOR_NOISE = 0.01  # spread of its reading-to-reading error, log-normal [-]


@dataclass(frozen=True, slots=True)
class Plant:
    """A simulated PV plant: the site, how it is built, its weather, and the losses injected into it.

    Parameters
    ----------
    site : Site
        Position, time zone, type; ``capacity_kw`` is the DC (peak) capacity. [kW]
    tilt_deg, azimuth_deg : float
        Module tilt from horizontal and orientation (180: south). [degrees]
    dc_ac_ratio : float
        DC capacity over the inverter's AC rating. [-]
    commissioned_on : date
        When it started; degradation counts from then.
    climate : Climate
        Its weather.
    degradation_pct_per_year : float
        Change of output per year, compounded (negative: a loss). [%/yr]
    soiling_rate_pct_per_day : float
        Soiling ratio lost per day between cleanings (0: the modules stay clean). [%/day]
    cleaning_limit_pct : float
        The operator cleans when soiling costs this much. [%]
    gamma_pdc_per_k : float
        Temperature coefficient of DC power. [1/K]
    system_loss_pct : float
        Wiring, mismatch and other DC losses. [%]
    outages : tuple of (datetime, datetime)
        ``[start, end)`` of each outage, on interval boundaries, UTC.
    time_shift_start : datetime or None
        From this moment on (a solar midnight, UTC), readings carry a clock error.
    time_shift_minutes : int
        The clock error: minutes added to every reading's start from ``time_shift_start``. [min]
    """

    site: Site
    tilt_deg: float
    azimuth_deg: float
    dc_ac_ratio: float
    commissioned_on: date
    climate: Climate
    degradation_pct_per_year: float = 0.0
    soiling_rate_pct_per_day: float = 0.0
    cleaning_limit_pct: float = 15.0
    gamma_pdc_per_k: float = -0.0037
    system_loss_pct: float = 10.0
    outages: tuple[tuple[datetime, datetime], ...] = ()
    time_shift_start: datetime | None = None
    time_shift_minutes: int = 0


@dataclass(frozen=True, slots=True)
class History:
    """What a plant sent, and what was injected into it.

    ``moments`` are the readings' timestamps as sent (a clock shift included; ``datetime64[ms]``, UTC),
    ``generated_wh`` and ``consumed_wh`` their energies in whole watt-hours; ``station`` is the site's weather
    station (its own clock, which is right) per interval start: ``poa_global_w_m2``, ``temp_air_c``,
    ``wind_speed_m_s``, interval means as its sensors read them; ``truth`` has the analysis's field names (see
    :func:`truth`).
    """

    site_id: str
    moments: np.ndarray
    generated_wh: np.ndarray
    consumed_wh: np.ndarray
    station: pd.DataFrame = field(default_factory=pd.DataFrame)
    truth: dict[str, Any] = field(default_factory=dict)


def simulate_plant(plant: Plant, starts: pd.DatetimeIndex, interval_minutes: int, seed: int) -> History:
    """The readings of ``plant`` for the intervals starting at ``starts`` (UTC, ``interval_minutes`` apart), and
    the truth of that period."""
    rng = np.random.default_rng([seed, zlib.crc32(plant.site.site_id.encode())])
    per_interval = max(1, math.ceil(interval_minutes / SAMPLE_MINUTES))
    step = pd.Timedelta(minutes=interval_minutes) / per_interval
    offsets = pd.TimedeltaIndex([(index + 0.5) * step for index in range(per_interval)])
    samples = starts.repeat(per_interval) + np.tile(offsets, len(starts))
    weather = simulate_weather(plant.site.latitude, plant.site.longitude, plant.climate, samples, rng)
    power = _power_chain(plant, weather, samples)

    def interval_kwh(kw: np.ndarray) -> np.ndarray:
        return kw.reshape(-1, per_interval).mean(axis=1) * interval_minutes / 60

    energies = {name: interval_kwh(kw) for name, kw in power.items()}
    down = _outage_mask(plant, starts)
    energies["actual"] = np.where(down, 0.0, energies["clipped"])
    generated_wh = np.rint(energies["actual"] * 1000).astype(np.int64)
    consumed_wh = _consumption_wh(plant.site, starts, interval_minutes, rng)

    moments = starts.tz_convert(None).to_numpy().astype("datetime64[ms]")
    if plant.time_shift_start is not None:
        shifted = starts >= plant.time_shift_start
        moments = moments + np.where(shifted, np.timedelta64(plant.time_shift_minutes, "m"), np.timedelta64(0, "m"))
        # a reading moved onto an earlier one's time replaces it, as a logger overwriting its record would
        _, last = np.unique(moments[::-1], return_index=True)
        keep = np.sort(len(moments) - 1 - last)
        moments, generated_wh, consumed_wh = moments[keep], generated_wh[keep], consumed_wh[keep]
    elevation = weather.samples["apparent_elevation"].to_numpy().reshape(-1, per_interval)[:, per_interval // 2]
    daylight = elevation >= DAYLIGHT_ELEVATION_DEG
    found = truth(plant, weather, power, energies, down, daylight, per_interval, generated_wh.sum() / 1000)
    station = _station(weather, power["poa"], starts, per_interval, rng)
    return History(plant.site.site_id, moments, generated_wh, consumed_wh, station, found)


def _station(
    weather: Weather, poa: np.ndarray, starts: pd.DatetimeIndex, per_interval: int, rng: np.random.Generator
) -> pd.DataFrame:
    """The on-site weather station's intervals: plane-of-array irradiance from a pyranometer (a calibration error
    of its own, :data:`SENSOR_NOISE` per reading), air temperature (0.3 K noise), wind speed (means) and rain
    (the day's rain spread evenly over its intervals)."""

    def mean(values: np.ndarray) -> np.ndarray:
        return values.reshape(-1, per_interval).mean(axis=1)

    day = weather.samples["day"].to_numpy()[::per_interval]
    rain_mm = weather.days["rain_mm"].to_numpy()[day]
    calibration = 1 + rng.normal(0, SENSOR_CALIBRATION)
    noise = np.exp(rng.normal(0, SENSOR_NOISE, len(starts)))
    return pd.DataFrame(
        {
            "poa_global_w_m2": np.round(mean(poa) * calibration * noise, 1),
            "temp_air_c": np.round(mean(weather.samples["temp_air"].to_numpy()) + rng.normal(0, 0.3, len(starts)), 2),
            "wind_speed_m_s": np.round(mean(weather.samples["wind_speed"].to_numpy()), 2),
            "precipitation_mm": np.round(rain_mm / np.bincount(day)[day], 3),
        },
        index=starts,
    )


def _power_chain(plant: Plant, weather: Weather, samples: pd.DatetimeIndex) -> dict[str, np.ndarray]:
    """AC power at each step of the chain [kW]: ``as_new`` (commissioned, clean, unclipped), ``degraded``,
    ``soiled``, ``clipped``; and ``soiling_ratio`` [-] and ``poa`` [W/m^2] per sample."""
    frame = weather.samples
    poa = irradiance.get_total_irradiance(
        plant.tilt_deg,
        plant.azimuth_deg,
        frame["apparent_zenith"],
        frame["azimuth"],
        frame["dni"],
        frame["ghi"],
        frame["dhi"],
        dni_extra=frame["dni_extra"],
        airmass=frame["airmass"],
        model="perez",
    )["poa_global"].fillna(0.0)
    poa = poa.clip(lower=0.0).to_numpy()
    cell_c = temperature.sapm_cell(
        poa, frame["temp_air"].to_numpy(), frame["wind_speed"].to_numpy(), **CELL_TEMPERATURE
    )
    dc_kw = pvsystem.pvwatts_dc(poa, cell_c, plant.site.capacity_kw, plant.gamma_pdc_per_k)
    as_new = np.clip(dc_kw, 0.0, None) * (1 - plant.system_loss_pct / 100) * INVERTER_EFFICIENCY
    age_years = (samples.tz_convert(None) - pd.Timestamp(plant.commissioned_on)) / pd.Timedelta(days=365.25)
    degraded = as_new * (1 + plant.degradation_pct_per_year / 100) ** np.clip(age_years.to_numpy(), 0, None)
    ratio = soiling_ratio(plant, weather.days)[frame["day"].to_numpy()]
    soiled = degraded * ratio
    clipped = np.minimum(soiled, plant.site.capacity_kw / plant.dc_ac_ratio)
    return {"as_new": as_new, "degraded": degraded, "soiled": soiled, "clipped": clipped, "ratio": ratio, "poa": poa}


def soiling_ratio(plant: Plant, days: pd.DataFrame) -> np.ndarray:
    """The soiling ratio of each solar day of ``days`` (its rain): 1 on a clean day, falling by the soiling rate
    each day, back to 1 on a day with :data:`CLEANING_RAIN_MM` of rain or once it reaches the cleaning limit. [-]"""
    ratio = np.ones(len(days))
    if plant.soiling_rate_pct_per_day <= 0:
        return ratio
    rate, floor = plant.soiling_rate_pct_per_day / 100, 1 - plant.cleaning_limit_pct / 100
    rain = days["rain_mm"].to_numpy()
    current = 1.0
    for day in range(len(days)):
        current = 1.0 if rain[day] >= CLEANING_RAIN_MM or current - rate < floor else current - rate
        ratio[day] = current
    return ratio


def _outage_mask(plant: Plant, starts: pd.DatetimeIndex) -> np.ndarray:
    down = np.zeros(len(starts), dtype=bool)
    for start, end in plant.outages:
        down |= (starts >= start) & (starts < end)
    return down


def _consumption_wh(
    site: Site, starts: pd.DatetimeIndex, interval_minutes: int, rng: np.random.Generator
) -> np.ndarray:
    local = starts.tz_convert(site.timezone)
    hour = local.hour.to_numpy() + local.minute.to_numpy() / 60 + interval_minutes / 120
    kwh = site.base_load_kw * load_profile(hour) * interval_minutes / 60 * np.exp(rng.normal(0, 0.08, len(starts)))
    return np.rint(kwh * 1000).astype(np.int64)


def truth(
    plant: Plant,
    weather: Weather,
    power: dict[str, np.ndarray],
    energies: dict[str, np.ndarray],
    down: np.ndarray,
    daylight: np.ndarray,
    per_interval: int,
    actual_kwh: float,
) -> dict[str, Any]:
    """What was injected, with the analysis's field names and units."""
    lost = {
        "outage": float(energies["clipped"][down].sum()),
        "clipping": float((energies["soiled"] - energies["clipped"]).sum()),
        "soiling": float((energies["degraded"] - energies["soiled"]).sum()),
        "degradation": float((energies["as_new"] - energies["degraded"]).sum()),
    }
    expected_kwh = float(energies["as_new"].sum())
    lost["other"] = expected_kwh - actual_kwh - sum(lost.values())  # rounding to watt-hours only
    day = weather.samples["day"].to_numpy()
    insolation = np.bincount(day, weights=power["poa"], minlength=len(weather.days))
    daily_ratio = soiling_ratio(plant, weather.days)
    cleaned = daily_ratio[1:] > daily_ratio[:-1]
    shifts = []
    if plant.time_shift_start is not None:
        start_day = solar_days(pd.DatetimeIndex([plant.time_shift_start]), plant.site.longitude)[0]
        shifts.append({"start": start_day.strftime("%Y-%m-%d"), "minutes": plant.time_shift_minutes})
    return {
        "site_id": plant.site.site_id,
        "expected_kwh": round(expected_kwh, 3),
        "actual_kwh": round(actual_kwh, 3),
        "lost_energy_kwh": {cause: round(lost[cause], 3) for cause in CAUSES},
        "availability_pct": 100 * (1 - np.count_nonzero(down & daylight) / max(1, np.count_nonzero(daylight))),
        "energy_availability_pct": 100 * (1 - lost["outage"] / (lost["outage"] + actual_kwh)),
        "degradation_pct_per_year": plant.degradation_pct_per_year,
        "soiling_loss_pct": 100 * (1 - float((daily_ratio * insolation).sum() / insolation.sum())),
        "soiling_rate_pct_per_day": plant.soiling_rate_pct_per_day,
        "cleaning_events": [d.strftime("%Y-%m-%d") for d in weather.days.index[1:][cleaned]],
        "clipping_loss_pct": 100 * lost["clipping"] / float(energies["soiled"].sum()),
        "time_shift_minutes": plant.time_shift_minutes if shifts else 0,
        "time_shifts": shifts,
        "outages": len(plant.outages),
        "dc_ac_ratio": plant.dc_ac_ratio,
    }


def outage_spans(
    starts: pd.DatetimeIndex, interval_minutes: int, rng: np.random.Generator, per_year: float
) -> tuple[tuple[datetime, datetime], ...]:
    """Outages for a period: a Poisson number (``per_year`` a year on average), each from a random interval for
    30 minutes to 3 days (log-uniform), on interval boundaries."""
    years = len(starts) * interval_minutes / (365.25 * 24 * 60)
    spans = []
    for _ in range(rng.poisson(per_year * years)):
        first = int(rng.integers(0, len(starts)))
        minutes = math.exp(rng.uniform(math.log(30), math.log(3 * 24 * 60)))
        count = max(1, round(minutes / interval_minutes))
        start = starts[first].to_pydatetime()
        spans.append((start, start + timedelta(minutes=count * interval_minutes)))
    return tuple(sorted(spans))
