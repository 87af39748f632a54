"""The sun at a site, per reading interval, and the energy clear-sky irradiance promises there (pvlib, offline).

Solar position is pvlib's (:func:`pvlib.solarposition.get_solarposition`, apparent elevation: refraction
included); clear-sky irradiance is pvlib's Ineichen model with the Linke turbidity climatology that ships in
pvlib's wheel (no network data), at sea level (the registry has no altitude).
"""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
from pvlib.location import Location
from pvlib.solarposition import get_solarposition

from energy_lib.workbook.health.thresholds import MIN_ELEVATION_DEG

SAMPLE_MINUTES = 5  # step of the clear-sky integration [min]
STC_IRRADIANCE_KW_M2 = 1.0  # irradiance at which a module gives its rated (peak) power [kW/m^2]


def interval_elevations(
    latitude: float, longitude: float, starts: pd.DatetimeIndex, interval: timedelta
) -> pd.DataFrame:
    """Apparent solar elevation at the start, middle and end of each interval.

    Parameters
    ----------
    latitude, longitude : float
        The site. [degrees]
    starts : DatetimeIndex
        Interval starts, timezone-aware.
    interval : timedelta
        Length of each interval.

    Returns
    -------
    DataFrame
        Indexed by ``starts``; columns ``start``, ``middle``, ``end``. [degrees]
    """
    edges = {"start": starts, "middle": starts + interval / 2, "end": starts + interval}
    moments = edges["start"].append([edges["middle"], edges["end"]]).unique()
    elevation = get_solarposition(moments, latitude, longitude)["apparent_elevation"]
    return pd.DataFrame({name: elevation.reindex(times).to_numpy() for name, times in edges.items()}, index=starts)


def daylight(elevations: pd.DataFrame, min_elevation_deg: float = MIN_ELEVATION_DEG) -> pd.Series:
    """True for the intervals during which the sun stays at least ``min_elevation_deg`` [degrees] up (at the
    start, the middle and the end): a working plant must generate then."""
    return (elevations >= min_elevation_deg).all(axis=1)


def night(elevations: pd.DataFrame) -> pd.Series:
    """True for the intervals during which the sun stays below the horizon (at the start, the middle and the
    end): nothing can be generated then."""
    return (elevations < 0).all(axis=1)


def clear_sky_insolation_kwh_m2(latitude: float, longitude: float, days: pd.DatetimeIndex) -> pd.Series:
    """Clear-sky global horizontal irradiation of each UTC day, Ineichen model. [kWh/m^2]

    Parameters
    ----------
    days : DatetimeIndex
        UTC midnights, each the start of a day.

    Returns
    -------
    Series
        Indexed by ``days``.
    """
    if len(days) == 0:
        return pd.Series(dtype=float, index=days)
    step = pd.Timedelta(minutes=SAMPLE_MINUTES)
    samples = pd.date_range(days.min() + step / 2, days.max() + pd.Timedelta(days=1), freq=step)
    ghi_w_m2 = Location(latitude, longitude, altitude=0.0).get_clearsky(samples, model="ineichen")["ghi"]
    kwh_m2 = ghi_w_m2 / 1000 * (SAMPLE_MINUTES / 60)
    return kwh_m2.groupby(kwh_m2.index.floor("D")).sum().reindex(days, fill_value=0.0)
