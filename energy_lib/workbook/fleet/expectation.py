"""What a site should produce in each interval: the expectation every fleet-performance figure is measured
against, from the site registry and either pvlib's clear sky or the site's own weather series.

- ``clear-sky``: pvlib's Ineichen clear sky (Linke turbidity climatology shipped with pvlib) transposed onto the
  plane of array (Hay-Davies), with the clear-sky air temperature of RdTools
  (:func:`rdtools.clearsky_temperature.get_clearsky_tamb`) and no wind: what a cloudless sky promises.
- ``weather``: the site's imported series (:mod:`energy_lib.workbook.sites.weather`): plane-of-array irradiance,
  or global horizontal irradiance split by pvlib's Erbs model and transposed (Hay-Davies); its air temperature and
  wind speed (1 m/s when not given).

Either way the sun's position is pvlib's (:func:`pvlib.solarposition.ephemeris`, at each interval's middle),
cell temperature pvlib's SAPM model (open rack), and DC power pvlib's PVWatts model at the registry's capacity
with :data:`GAMMA_PDC_PER_K`, less PVWatts' default system losses (:func:`pvlib.pvsystem.pvwatts_losses`) and a
constant inverter efficiency (:data:`INVERTER_EFFICIENCY`), never clipped: the plant as built, clean, new and
with an inverter that never limits it. Tilt and azimuth come from the registry; a site without them is taken as
horizontal, which :attr:`Expectation.assumptions` says.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta, timezone

import numpy as np
import pandas as pd
from pvlib import irradiance, pvsystem, solarposition, temperature
from pvlib.location import Location

from energy_lib.workbook.simulator.weather import MINUTES_PER_DEGREE

CLEAR_SKY, WEATHER = "clear-sky", "weather"
GAMMA_PDC_PER_K = -0.0037  # temperature coefficient of DC power when the registry has none [1/K]
INVERTER_EFFICIENCY = 0.96  # pvlib's PVWatts nominal inverter efficiency [-]
DEFAULT_WIND_M_S = 1.0  # wind speed when a weather series has none [m/s]
CELL_TEMPERATURE = temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"]["open_rack_glass_polymer"]
DAYLIGHT_ELEVATION_DEG = 5.0  # an interval counts for time-based availability when the sun is this high [degrees]
SYSTEM_LOSS_PCT = float(pvsystem.pvwatts_losses())  # PVWatts' default system losses [%]


@dataclass(frozen=True, slots=True)
class Expectation:
    """The expected output of one site on a regular grid of intervals.

    ``frame`` is indexed by the intervals' starts (UTC) with columns ``power_kw`` (expected AC power, never
    clipped), ``poa_w_m2`` (plane-of-array irradiance), ``temp_air_c``, ``temp_cell_c``, ``wind_speed_m_s`` and
    ``daylight`` (the
    sun at least :data:`DAYLIGHT_ELEVATION_DEG` up at the interval's middle), ``sun_up`` (the sun above the
    horizon at some moment of the interval: at its start or its end), and ``precipitation_mm`` when the site's
    weather has rain; ``basis`` is ``clear-sky`` or
    ``weather``; ``assumptions`` lists what was assumed for lack of registry fields.
    """

    frame: pd.DataFrame
    basis: str
    interval_minutes: int
    assumptions: tuple[str, ...] = field(default=())

    @property
    def interval_h(self) -> float:
        return self.interval_minutes / 60


def solar_offset_minutes(longitude: float) -> int:
    """Minutes from UTC to local solar time at ``longitude`` [degrees]: a day of the analysis begins at solar
    midnight, so that a site's daylight never spans two days."""
    return round(MINUTES_PER_DEGREE * longitude)


def solar_zone(longitude: float) -> timezone:
    """A fixed-offset time zone at local solar time (RdTools aggregates by the index's calendar day)."""
    return timezone(timedelta(minutes=solar_offset_minutes(longitude)))


def expect(
    latitude: float,
    longitude: float,
    capacity_kw: float,
    starts: pd.DatetimeIndex,
    interval_minutes: int,
    tilt_deg: float | None = None,
    azimuth_deg: float | None = None,
    weather: pd.DataFrame | None = None,
) -> Expectation:
    """The expected output of a site for the intervals starting at ``starts`` (UTC).

    Parameters
    ----------
    latitude, longitude : float
        The site. [degrees]
    capacity_kw : float
        DC (peak) capacity. [kW]
    starts : DatetimeIndex
        Interval starts, regular, timezone-aware.
    interval_minutes : int
        Length of an interval. [min]
    tilt_deg, azimuth_deg : float or None
        Module tilt and orientation; None: horizontal. [degrees]
    weather : DataFrame or None
        The site's weather (UTC index; ``poa_global_w_m2`` or ``ghi_w_m2`` [W/m^2], ``temp_air_c`` [degC],
        optional ``wind_speed_m_s`` [m/s] and ``precipitation_mm`` [mm]); None: clear sky.
    """
    assumptions = []
    if tilt_deg is None or azimuth_deg is None:
        assumptions.append("no tilt or azimuth in the registry: modules taken as horizontal")
        tilt_deg, azimuth_deg = 0.0, 180.0
    step = pd.Timedelta(minutes=interval_minutes)
    middles = starts + step / 2
    position = solarposition.ephemeris(middles, latitude, longitude)
    edges = solarposition.ephemeris(starts.append(starts[-1:] + step), latitude, longitude)["apparent_elevation"]
    sun_up = np.maximum(edges.to_numpy()[:-1], edges.to_numpy()[1:]) > 0
    if weather is None:
        poa, temp_air, wind = _clear_sky(latitude, longitude, middles, position, tilt_deg, azimuth_deg)
        basis = CLEAR_SKY
    else:
        poa, temp_air, wind = _weather(weather, middles, position, tilt_deg, azimuth_deg)
        basis = WEATHER
    temp_cell = temperature.sapm_cell(poa, temp_air, wind, **CELL_TEMPERATURE)
    dc_kw = np.clip(pvsystem.pvwatts_dc(poa, temp_cell, capacity_kw, GAMMA_PDC_PER_K), 0.0, None)
    power_kw = dc_kw * (1 - SYSTEM_LOSS_PCT / 100) * INVERTER_EFFICIENCY
    frame = pd.DataFrame(
        {
            "power_kw": power_kw,
            "poa_w_m2": poa,
            "temp_air_c": temp_air,
            "temp_cell_c": temp_cell,
            "wind_speed_m_s": wind,
            "daylight": position["apparent_elevation"].to_numpy() >= DAYLIGHT_ELEVATION_DEG,
            "sun_up": sun_up,
        },
        index=starts,
    )
    if weather is not None and "precipitation_mm" in weather:
        rain = weather["precipitation_mm"].astype(float)
        frame["precipitation_mm"] = rain.groupby(rain.index.floor(step)).sum().reindex(starts)
    return Expectation(frame, basis, interval_minutes, tuple(assumptions))


def _clear_sky(
    latitude: float,
    longitude: float,
    middles: pd.DatetimeIndex,
    position: pd.DataFrame,
    tilt_deg: float,
    azimuth_deg: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from rdtools.clearsky_temperature import get_clearsky_tamb

    sky = Location(latitude, longitude, altitude=0.0).get_clearsky(middles, model="ineichen", solar_position=position)
    poa = _transpose(sky["ghi"], sky["dni"], sky["dhi"], position, tilt_deg, azimuth_deg)
    hours = pd.date_range(middles[0].floor("h"), middles[-1].ceil("h"), freq="h")  # hourly: RdTools' cost is per time
    temp_hourly = get_clearsky_tamb(hours.tz_convert(solar_zone(longitude)), latitude, longitude)
    temp_air = np.interp(middles.asi8, hours.asi8, temp_hourly.to_numpy())
    return poa, temp_air, np.zeros(len(middles))


def _weather(
    weather: pd.DataFrame, middles: pd.DatetimeIndex, position: pd.DataFrame, tilt_deg: float, azimuth_deg: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    def at_middles(column: str) -> np.ndarray:
        series = weather[column].astype(float)
        return np.interp(middles.asi8, series.index.asi8, series.to_numpy(), left=np.nan, right=np.nan)

    if "poa_global_w_m2" in weather:
        poa = np.clip(np.nan_to_num(at_middles("poa_global_w_m2")), 0.0, None)
    else:
        ghi = pd.Series(np.clip(np.nan_to_num(at_middles("ghi_w_m2")), 0.0, None), index=middles)
        split = irradiance.erbs(ghi, position["apparent_zenith"], middles)
        poa = _transpose(ghi, split["dni"], split["dhi"], position, tilt_deg, azimuth_deg)
    temp_air = at_middles("temp_air_c")
    wind = at_middles("wind_speed_m_s") if "wind_speed_m_s" in weather else np.full(len(middles), DEFAULT_WIND_M_S)
    return poa, temp_air, np.nan_to_num(wind, nan=DEFAULT_WIND_M_S)


def _transpose(
    ghi: pd.Series, dni: pd.Series, dhi: pd.Series, position: pd.DataFrame, tilt_deg: float, azimuth_deg: float
) -> np.ndarray:
    poa = irradiance.get_total_irradiance(
        tilt_deg,
        azimuth_deg,
        position["apparent_zenith"],
        position["azimuth"],
        dni,
        ghi,
        dhi,
        dni_extra=irradiance.get_extra_radiation(position.index),
        model="haydavies",
    )["poa_global"]
    return np.clip(poa.fillna(0.0).to_numpy(), 0.0, None)
