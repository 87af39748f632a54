"""Seeded weather at a simulated site: clear sky modulated by clouds, air temperature, wind and rain.

Each solar day (days begin at local solar midnight, UTC + longitude x 4 min) has a sky: ``clear``, ``partly``
(cloudy) or ``overcast``, drawn from the site's :class:`Climate` (sunnier in summer, or in winter for a monsoon
climate) with some persistence from one day to the next. The clear sky is pvlib's Ineichen model with the Linke
turbidity of pvlib's climatology varied from day to day (an atmosphere is never exactly its climatology); clouds
scale its global horizontal irradiance by a clear-sky index (1 on a clear day; a correlated random walk on a
partly cloudy day; low and steady under overcast), and pvlib's Erbs model splits cloudy light into direct and
diffuse. Air temperature is the place's clear-sky temperature climatology (RdTools'
:func:`~rdtools.clearsky_temperature.get_clearsky_tamb`: season and daily cycle from satellite land-surface
temperatures) with a day-to-day anomaly, a smaller daily cycle under clouds; rain falls on some cloudy days.

Every draw comes from the generator given, so the same site, times and seed give the same weather.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from pvlib import atmosphere, clearsky, irradiance, solarposition
from scipy.signal import lfilter

SKIES = ("clear", "partly", "overcast")
PERSISTENCE = 0.5  # chance that a day keeps the previous day's sky [-]
PARTLY_SHARE = 0.6  # of the days that are not clear, the share that are partly cloudy (the rest overcast) [-]
CLOUD_STEP_CORRELATION = 0.92  # correlation of the clear-sky index between samples 5 minutes apart [-]
RAIN_MEAN_MM = 7.0  # mean rain of a rainy day [mm]
DAILY_CYCLE = {"clear": 1.0, "partly": 0.7, "overcast": 0.4}  # share of the clear-sky daily temperature cycle [-]
TURBIDITY_SPREAD = 0.1  # day-to-day spread of the Linke turbidity around its climatology, log-normal [-]
SUNNIEST_DAY = {"north": 172, "south": 355}  # day of year of the most clear days
MINUTES_PER_DEGREE = 4  # the sun's time per degree of longitude [min]


@dataclass(frozen=True, slots=True)
class Climate:
    """What the weather of a place is like.

    Parameters
    ----------
    clear_share : float
        Share of clear days over the year. [-]
    clear_swing : float
        How many more clear days summer has than the mean (negative: a cloudy summer, e.g. a monsoon). [-]
    rain_share : float
        Chance that an overcast day rains (a quarter of it for a partly cloudy day). [-]
    """

    clear_share: float
    clear_swing: float
    rain_share: float


@dataclass(frozen=True, slots=True)
class Weather:
    """Weather at each sample time and each solar day.

    ``samples`` (indexed by the sample times, UTC): ``ghi``, ``dni``, ``dhi`` [W/m^2], ``temp_air`` [degC],
    ``wind_speed`` [m/s], ``apparent_zenith``, ``azimuth``, ``apparent_elevation`` [degrees], ``dni_extra``
    [W/m^2], ``airmass`` (relative) [-], ``day`` (the solar day's position in ``days``). ``days`` (indexed by
    solar date): ``sky``, ``rain_mm`` [mm].
    """

    samples: pd.DataFrame
    days: pd.DataFrame


def solar_days(times: pd.DatetimeIndex, longitude: float) -> pd.DatetimeIndex:
    """The solar day (a date, at midnight, without time zone) of each time: days begin at local solar midnight,
    UTC + ``longitude`` [degrees] x 4 minutes."""
    shifted = times.tz_convert("UTC").tz_localize(None) + pd.Timedelta(minutes=MINUTES_PER_DEGREE * longitude)
    return shifted.floor("D")


def simulate_weather(
    latitude: float, longitude: float, climate: Climate, times: pd.DatetimeIndex, rng: np.random.Generator
) -> Weather:
    """The weather at ``times`` (UTC, regular, 5 minutes apart or less for realistic clouds).

    Parameters
    ----------
    latitude, longitude : float
        The place. [degrees]
    climate : Climate
        What its weather is like.
    times : DatetimeIndex
        Sample times, timezone-aware.
    rng : numpy.random.Generator
        Every random draw comes from it.
    """
    hemisphere = "north" if latitude >= 0 else "south"
    day_of_sample = solar_days(times, longitude)
    dates, day_index = np.unique(day_of_sample.to_numpy(), return_inverse=True)
    dates = pd.DatetimeIndex(dates)
    days = _days(dates, climate, hemisphere, rng)

    position = solarposition.ephemeris(times, latitude, longitude)
    zenith = position["apparent_zenith"].to_numpy()
    dni_extra = irradiance.get_extra_radiation(times).to_numpy()
    turbidity = clearsky.lookup_linke_turbidity(times, latitude, longitude).to_numpy()
    relative_airmass = atmosphere.get_relative_airmass(zenith)
    airmass = atmosphere.get_absolute_airmass(relative_airmass)
    with np.errstate(divide="ignore", invalid="ignore"):  # the sun below the horizon: no airmass
        sky = clearsky.ineichen(
            zenith, airmass, turbidity * days["turbidity_factor"].to_numpy()[day_index], 0, dni_extra
        )
    clear_ghi = np.nan_to_num(np.asarray(sky["ghi"], dtype=float))
    index = _clear_sky_index(days["sky"].to_numpy()[day_index], days["overcast_index"].to_numpy()[day_index], rng)
    ghi = clear_ghi * index
    split = irradiance.erbs(ghi, zenith, times.dayofyear.to_numpy())
    clear_day = days["sky"].to_numpy()[day_index] == "clear"
    dni = np.where(clear_day, np.nan_to_num(np.asarray(sky["dni"], dtype=float)), np.nan_to_num(split["dni"]))
    dhi = np.where(clear_day, np.nan_to_num(np.asarray(sky["dhi"], dtype=float)), np.nan_to_num(split["dhi"]))
    temp_air = _temperature(latitude, longitude, times, days, day_index)
    samples = pd.DataFrame(
        {
            "ghi": ghi,
            "dni": dni,
            "dhi": dhi,
            "temp_air": temp_air,
            "wind_speed": days["wind_speed"].to_numpy()[day_index],
            "apparent_zenith": zenith,
            "azimuth": position["azimuth"].to_numpy(),
            "apparent_elevation": position["apparent_elevation"].to_numpy(),
            "dni_extra": dni_extra,
            "airmass": relative_airmass,
            "day": day_index,
        },
        index=times,
    )
    return Weather(samples, days[["sky", "rain_mm"]])


def _days(dates: pd.DatetimeIndex, climate: Climate, hemisphere: str, rng: np.random.Generator) -> pd.DataFrame:
    """Per solar day: sky, rain, aerosols, water vapour, overcast level, temperature anomaly, wind."""
    count = len(dates)
    season = np.cos(2 * np.pi * (dates.dayofyear.to_numpy() - SUNNIEST_DAY[hemisphere]) / 365.25)
    clear_chance = np.clip(climate.clear_share + climate.clear_swing * season, 0.02, 0.98)
    draws, keeps = rng.random(count), rng.random(count)
    partly = rng.random(count) < PARTLY_SHARE
    codes = np.empty(count, dtype=np.int64)
    for day in range(count):
        if day and keeps[day] < PERSISTENCE:
            codes[day] = codes[day - 1]
        else:
            codes[day] = 0 if draws[day] < clear_chance[day] else (1 if partly[day] else 2)
    rain_chance = np.array([0.0, climate.rain_share / 4, climate.rain_share])[codes]
    rain_mm = np.where(rng.random(count) < rain_chance, rng.exponential(RAIN_MEAN_MM, count), 0.0)
    anomaly = lfilter([np.sqrt(1 - 0.7**2) * 2.5], [1, -0.7], rng.normal(size=count))  # AR(1), 2.5 K spread
    return pd.DataFrame(
        {
            "sky": np.array(SKIES)[codes],
            "sky_code": codes,
            "rain_mm": np.round(rain_mm, 1),
            "turbidity_factor": rng.lognormal(0.0, TURBIDITY_SPREAD, count),
            "overcast_index": rng.uniform(0.15, 0.45, count),
            "temp_anomaly_c": anomaly - 1.5 * (codes == 2),
            "wind_speed": rng.lognormal(np.log(2.5), 0.4, count),
        },
        index=dates,
    )


def _temperature(
    latitude: float, longitude: float, times: pd.DatetimeIndex, days: pd.DataFrame, day_index: np.ndarray
) -> np.ndarray:
    """Air temperature [degC]: RdTools' clear-sky climatology (computed hourly: its cost grows with the times
    asked for), its daily cycle damped under clouds, plus the day's anomaly."""
    from rdtools.clearsky_temperature import get_clearsky_tamb

    hours = pd.date_range(times[0].floor("D"), times[-1].ceil("D"), freq="h")
    climate = get_clearsky_tamb(hours, latitude, longitude).to_numpy()
    daily_mean = pd.Series(climate, index=hours).rolling(24, center=True, min_periods=1).mean().to_numpy()
    climate, daily_mean = (np.interp(times.asi8, hours.asi8, values) for values in (climate, daily_mean))
    cycle = np.array([DAILY_CYCLE[name] for name in SKIES])[days["sky_code"].to_numpy()[day_index]]
    return daily_mean + cycle * (climate - daily_mean) + days["temp_anomaly_c"].to_numpy()[day_index]


def _clear_sky_index(sky: np.ndarray, overcast_index: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Share of the clear sky's global irradiance that gets through, per sample. [-]"""
    phi = CLOUD_STEP_CORRELATION
    walk = lfilter([np.sqrt(1 - phi**2)], [1, -phi], rng.normal(size=len(sky)))  # unit variance, correlated
    partly = np.clip(0.65 + 0.3 * walk, 0.1, 1.05)
    overcast = np.clip(overcast_index + 0.05 * walk, 0.05, 0.6)
    return np.select([sky == "clear", sky == "partly"], [1.0, partly], overcast)
