"""A site's own weather series: irradiance and air temperature the site measures (or a provider's), which fleet
performance uses instead of the clear sky where a site has one (``energy-workbook sites import-weather``).

A CSV with a header naming the columns, in any order: ``timestamp`` (ISO-8601; ``Z``, an offset or none for
UTC; the start of the interval the values stand for), ``poa_global_w_m2`` (plane-of-array irradiance) or
``ghi_w_m2`` (global horizontal irradiance) or both [W/m^2], ``temp_air_c`` [degC], and optionally
``wind_speed_m_s`` [m/s] and ``precipitation_mm`` (rain in the interval, which tells soiling analysis when rain
may have cleaned the modules) [mm]. Nothing is stored when a row is wrong: the error names the row (the header is row 1)
and the field, as the registry's import does.

Each site's series is one Parquet file in the lake's folder, ``lake/weather/<site_id>.parquet`` (or under a
lake folder on disk); importing again merges, the new rows winning where both have a time.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from botocore.exceptions import ClientError

from energy_lib.clients import client
from energy_lib.compaction.days import read_parquet
from energy_lib.config import Settings
from energy_lib.errors import EnergyError
from energy_lib.validation import SITE_ID
from energy_lib.wording import count

FOLDER = "weather/"
IRRADIANCE = ("poa_global_w_m2", "ghi_w_m2")
COLUMNS = ("timestamp", *IRRADIANCE, "temp_air_c", "wind_speed_m_s", "precipitation_mm")
LIMITS = {  # field -> (lowest, highest, unit)
    "poa_global_w_m2": (-20.0, 1600.0, "W/m^2"),
    "ghi_w_m2": (-20.0, 1600.0, "W/m^2"),
    "temp_air_c": (-60.0, 70.0, "degC"),
    "wind_speed_m_s": (0.0, 75.0, "m/s"),
    "precipitation_mm": (0.0, 500.0, "mm"),
}


class WeatherError(EnergyError):
    """A weather series that cannot be stored: the message names the row and the field."""


def weather_key(settings: Settings, site_id: str) -> str:
    """``lake/weather/<site_id>.parquet``."""
    return f"{settings.lake_prefix}{FOLDER}{site_id}.parquet"


def parse_csv(text: str | bytes) -> pd.DataFrame:
    """The series of a weather CSV, indexed by UTC time, sorted; irradiance below zero (a sensor's night offset)
    is kept as 0.

    Raises
    ------
    WeatherError
        ``"row 4, field temp_air_c: must be a number from -60 to 70 [degC], not 'hot'"`` and how many more rows
        are wrong; or a header without the columns needed.
    """
    try:
        frame = pd.read_csv(
            io.BytesIO(text if isinstance(text, bytes) else text.encode()), dtype=str, encoding="utf-8-sig"
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise WeatherError(f"not a CSV with a header: {error}") from None
    frame.columns = [str(name).strip() for name in frame.columns]
    unknown = [name for name in frame.columns if name not in COLUMNS]
    missing = [name for name in ("timestamp", "temp_air_c") if name not in frame.columns]
    if not any(name in frame.columns for name in IRRADIANCE):
        missing.append(" or ".join(IRRADIANCE))
    if unknown or missing:
        what = [f"unknown column {name!r}" for name in unknown] + [f"missing column {name!r}" for name in missing]
        raise WeatherError(f"row 1 (header): {'; '.join(what)} (the columns are {', '.join(COLUMNS)})")
    if frame.empty:
        raise WeatherError("no rows: the file has a header only")
    problems: list[tuple[int, str]] = []
    times = pd.to_datetime(frame["timestamp"].str.strip(), utc=True, format="ISO8601", errors="coerce")
    for row in frame.index[times.isna()]:
        problems.append(
            (row, f"field timestamp: must be ISO-8601, e.g. 2025-06-11T12:00:00Z, not {frame.at[row, 'timestamp']!r}")
        )
    values = {}
    for name in [column for column in frame.columns if column in LIMITS]:
        low, high, unit = LIMITS[name]
        numbers = pd.to_numeric(frame[name].str.strip(), errors="coerce")
        bad = numbers.isna() | (numbers < low) | (numbers > high)
        for row in frame.index[bad]:
            problems.append(
                (row, f"field {name}: must be a number from {low:g} to {high:g} [{unit}], not {frame.at[row, name]!r}")
            )
        values[name] = numbers
    duplicated = times.duplicated(keep="first") & times.notna()
    for row in frame.index[duplicated]:
        problems.append((row, f"field timestamp: {times[row]:%Y-%m-%dT%H:%M:%SZ} is already on an earlier row"))
    if problems:
        problems.sort()
        row, what = problems[0]
        rows = len({row for row, _ in problems})
        raise WeatherError(f"row {row + 2}, {what}" + (f" (and {count(rows - 1, 'more row')})" if rows > 1 else ""))
    series = pd.DataFrame(values)
    series.index = pd.DatetimeIndex(times, name="timestamp")
    for name in IRRADIANCE:
        if name in series:
            series[name] = series[name].clip(lower=0.0)
    return series.sort_index()


def put_weather(settings: Settings, site_id: str, series: pd.DataFrame, lake_dir: str | Path | None = None) -> int:
    """Store ``series`` as the site's weather, merged with what it has (the new rows win); returns its rows."""
    if not SITE_ID.fullmatch(site_id):
        raise WeatherError(f"not a site id: {site_id!r}")
    earlier = get_weather(settings, site_id, lake_dir)
    merged = series if earlier is None else series.combine_first(earlier)
    merged = merged.sort_index().rename_axis("timestamp")
    table = pa.Table.from_pandas(merged.reset_index(), preserve_index=False)
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    if lake_dir is not None:
        path = Path(lake_dir) / FOLDER / f"{site_id}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(sink.getvalue())
    else:
        client("s3", settings).put_object(
            Bucket=settings.bucket, Key=weather_key(settings, site_id), Body=sink.getvalue()
        )
    return len(merged)


def get_weather(settings: Settings, site_id: str, lake_dir: str | Path | None = None) -> pd.DataFrame | None:
    """The site's weather series (UTC index), or None when it has none."""
    if lake_dir is not None:
        path = Path(lake_dir) / FOLDER / f"{site_id}.parquet"
        if not path.is_file():
            return None
        body = path.read_bytes()
    else:
        try:
            body = (
                client("s3", settings)
                .get_object(Bucket=settings.bucket, Key=weather_key(settings, site_id))["Body"]
                .read()
            )
        except ClientError as error:
            if error.response["Error"]["Code"] in ("NoSuchKey", "404"):
                return None
            raise
    frame = read_parquet(body).to_pandas()
    index = pd.DatetimeIndex(frame.pop("timestamp"))
    frame.index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
    return frame
