"""Small DataFrames for the fixture notebooks of the report tests (no AWS, no local stack)."""

from __future__ import annotations

from datetime import datetime

import pandas as pd


def readings(site_id: str, start: datetime, end: datetime) -> pd.DataFrame:
    """Hourly readings of one site in ``[start, end)``; every fifth one has negative generation."""
    timestamps = pd.date_range(start, end, freq="h", inclusive="left")
    generated = [(-2.0 if i % 5 == 1 else 10.0 + i) for i in range(len(timestamps))]
    frame = pd.DataFrame(
        {
            "site_id": site_id,
            "timestamp": timestamps,
            "energy_generated_kwh": generated,
            "energy_consumed_kwh": 8.0,
        }
    )
    frame["net_energy_kwh"] = frame["energy_generated_kwh"] - frame["energy_consumed_kwh"]
    frame["anomaly"] = frame["energy_generated_kwh"] < 0
    frame["anomaly_reasons"] = frame["anomaly"].map({True: "negative_generation", False: ""})
    frame["severity"] = frame["anomaly"].map({True: "LOW", False: None})
    return frame


def anomalies(site_id: str, start: datetime, end: datetime) -> pd.DataFrame:
    frame = readings(site_id, start, end)
    return frame[frame["anomaly"]].reset_index(drop=True)


def site_summary() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "site_id": ["site-a", "site-b", "site-c"],
            "energy_generated_kwh": [130.0, 105.0, 60.0],
            "energy_consumed_kwh": [100.0, 100.0, 100.0],
            "efficiency_pct": [130.0, 105.0, 60.0],
        }
    )
