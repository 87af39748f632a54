"""The lake's per-site, per-solar-day answer: only four columns read, days from local solar midnight, the
day's valid readings as lists; flagged readings counted, never used."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from energy_lib.compaction.days import to_parquet
from energy_lib.config import Settings
from energy_lib.workbook.fleet import readings
from energy_lib.workbook.lake import queries
from energy_lib.workbook.simulator.year import day_table, put_day
from energy_lib.workbook.sites.registry import site_from_fields

TOKYO = site_from_fields(
    {
        "site_id": "T1",
        "latitude": "35.69",
        "longitude": "139.69",
        "timezone": "Asia/Tokyo",
        "site_type": "solar",
        "capacity_kw": "100",
        "interval_minutes": "60",
    }
)


def write(lake_dir: Path, stamps: list[str], generated_wh: list[int]) -> None:
    moments = np.array([np.datetime64(stamp.rstrip("Z"), "ms") for stamp in stamps])
    for day in sorted({stamp[:10] for stamp in stamps}):
        rows = [index for index, stamp in enumerate(stamps) if stamp.startswith(day)]
        table = day_table(
            Settings(),
            np.array(["T1"] * len(rows)),
            moments[rows],
            np.array(generated_wh)[rows],
            np.zeros(len(rows), dtype=np.int64),
            np.datetime64("2025-01-01T00:00:00", "ms"),
            "test",
        )
        put_day(Settings(), lake_dir, day, to_parquet(table))


def test_a_solar_day_spans_two_utc_days_and_flagged_readings_are_counted_not_used(tmp_path: Path) -> None:
    # GIVEN Tokyo (solar time is UTC + 9 h 19 min): its solar day of 10 June runs from 9 June 14:41 UTC on
    stamps = ["2025-06-09T20:00:00Z", "2025-06-09T23:00:00Z", "2025-06-10T03:00:00Z", "2025-06-10T09:00:00Z"]
    write(tmp_path, stamps, [0, 30_000, -5_000, 8_000])  # the negative one is an anomaly
    # WHEN the lake is asked for that day
    table = readings.read_days(
        Settings(), [TOKYO], datetime(2025, 6, 10, tzinfo=UTC), datetime(2025, 6, 11, tzinfo=UTC), tmp_path
    )
    site = readings.site_readings(table, TOKYO)
    # THEN one solar day of four readings, one flagged; the valid ones by minute of the solar day
    assert site.days.to_dict("index") == {
        pd.Timestamp("2025-06-10"): {
            "readings": 4,
            "flagged_readings": 1,
            "generated_kwh": 38.0,
            "first_producing_minute": 8 * 60 + 19,
            "last_producing_minute": 18 * 60 + 19,
        }
    }
    assert site.generated_kwh.to_dict() == {
        pd.Timestamp("2025-06-09T20:00:00Z"): 0.0,
        pd.Timestamp("2025-06-09T23:00:00Z"): 30.0,
        pd.Timestamp("2025-06-10T09:00:00Z"): 8.0,
    }


def test_the_query_reads_only_the_columns_it_needs() -> None:
    text = queries.performance_days_sql("2025-06-10", "2025-06-11", {"T1": 559})
    columns = {"site_id", '"timestamp"', "energy_generated_kwh", "anomaly", "day"}
    assert all(name in text for name in columns)
    assert not any(name in text for name in ("energy_consumed_kwh", "net_energy_kwh", "severity", "source_key"))
    assert "day BETWEEN '2025-06-09' AND '2025-06-11'" in text
