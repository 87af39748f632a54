"""A site's weather series: the CSV is validated row by row, stored as Parquet, merged on a second import."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from energy_lib.config import Settings
from energy_lib.workbook.sites import weather
from energy_lib.workbook.sites.weather import WeatherError

GOOD = (
    "timestamp,poa_global_w_m2,temp_air_c,wind_speed_m_s,precipitation_mm\n"
    "2025-06-11T12:15:00Z,805.5,25.0,2.5,0\n"
    "2025-06-11T12:00:00+00:00,800,24.5,2,0\n"
    "2025-06-11T14:30:00+02:00,-3,24.9,2,1.5\n"
)


def test_a_good_series_is_indexed_by_utc_time_sorted_with_night_offsets_at_zero() -> None:
    series = weather.parse_csv(GOOD)
    assert list(series.index.strftime("%H:%M")) == ["12:00", "12:15", "12:30"]
    assert str(series.index.tz) == "UTC"
    assert series["poa_global_w_m2"].tolist() == [800.0, 805.5, 0.0]
    assert series["precipitation_mm"].tolist() == [0.0, 0.0, 1.5]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("timestamp,temp_air_c\n2025-06-11T12:00:00Z,20\n", "missing column 'poa_global_w_m2 or ghi_w_m2'"),
        ("timestamp,ghi_w_m2,temp_air_c,sun\n", "unknown column 'sun'"),
        ("timestamp,ghi_w_m2,temp_air_c\n", "no rows"),
        ("timestamp,ghi_w_m2,temp_air_c\nnoon,1,2\n", "row 2, field timestamp: must be ISO-8601"),
        ("timestamp,ghi_w_m2,temp_air_c\n2025-06-11T12:00:00Z,2000,20\n", "row 2, field ghi_w_m2: must be a number"),
        (
            "timestamp,ghi_w_m2,temp_air_c\n2025-06-11T12:00:00Z,1,20\n2025-06-11T12:15:00Z,1,hot\nx,1,20\n",
            "row 3, field temp_air_c: must be a number from -60 to 70 [degC], not 'hot' (and 1 more row)",
        ),
        ("timestamp,ghi_w_m2,temp_air_c\n2025-06-11T12:00:00Z,1,20\n2025-06-11T12:00:00Z,1,20\n", "already on"),
    ],
)
def test_a_wrong_series_is_refused_naming_the_row_and_the_field(text: str, message: str) -> None:
    with pytest.raises(WeatherError) as refused:
        weather.parse_csv(text)
    assert message in str(refused.value)


def test_a_second_import_merges_and_its_rows_win(tmp_path: Path) -> None:
    settings = Settings()
    assert weather.get_weather(settings, "A", tmp_path) is None
    assert weather.put_weather(settings, "A", weather.parse_csv(GOOD), tmp_path) == 3
    later = weather.parse_csv(
        "timestamp,poa_global_w_m2,temp_air_c\n2025-06-11T12:15:00Z,900,26\n2025-06-11T13:00:00Z,700,27\n"
    )
    assert weather.put_weather(settings, "A", later, tmp_path) == 4
    stored = weather.get_weather(settings, "A", tmp_path)
    assert stored.loc[pd.Timestamp("2025-06-11T12:15:00Z"), "poa_global_w_m2"] == 900.0
    assert stored.loc[pd.Timestamp("2025-06-11T12:00:00Z"), "poa_global_w_m2"] == 800.0
    assert (tmp_path / "weather" / "A.parquet").is_file()
    with pytest.raises(WeatherError):
        weather.put_weather(settings, "bad id!", later, tmp_path)
