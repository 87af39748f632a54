"""energy_lib.query as pandas DataFrames, with the column names and units the charts expect.

Energies become float columns [kWh] (they are exact Decimals in DynamoDB and in energy_lib.query),
timestamps timezone-aware UTC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd

from energy_lib import query
from energy_lib.config import Settings
from energy_lib.storage import COUNTERS
from energy_lib.workbook.session import aws

ENERGY_COLUMNS = ("energy_generated_kwh", "energy_consumed_kwh", "net_energy_kwh")
READING_COLUMNS = ("site_id", "timestamp", *ENERGY_COLUMNS, "anomaly", "anomaly_reasons", "severity")
SUMMARY_COLUMNS = ("site_id", *COUNTERS, "efficiency_pct", "anomaly_rate_pct")
ROLLUP_COLUMNS = ("site_id", *COUNTERS)
STATUS_COLUMNS = ("key", "etag", "status", "read", "stored", "quarantined", "anomalies", "error", "updated_at")
Moment = datetime | str | None


def _numeric(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    for column in columns:
        if column in frame:
            frame[column] = pd.to_numeric(frame[column].map(lambda v: None if v is None else float(v)))
    return frame


def readings_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(READING_COLUMNS))
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    frame["anomaly"] = frame["anomaly"].fillna(False).astype(bool)
    frame["anomaly_reasons"] = frame["anomaly_reasons"].map(lambda r: ", ".join(r) if isinstance(r, list) else "")
    frame["severity"] = frame["severity"].where(frame["anomaly"], None)
    return _numeric(frame, ENERGY_COLUMNS).sort_values(["timestamp", "site_id"], ignore_index=True)


def readings(settings: Settings, site_id: str, start: Moment = None, end: Moment = None) -> pd.DataFrame:
    """Readings of one site in ``[start, end)``."""
    return readings_frame(query.readings(settings, aws(settings, "dynamodb"), site_id, start, end))


def fleet_readings(settings: Settings, start: Moment, end: Moment) -> pd.DataFrame:
    """Readings of every site in ``[start, end)``."""
    return readings_frame(query.fleet_readings(settings, aws(settings, "dynamodb"), start, end))


def anomalies(settings: Settings, site_id: str | None = None, start: Moment = None, end: Moment = None) -> pd.DataFrame:
    """Anomalous readings of one site, or of all sites in ``[start, end)``."""
    return readings_frame(query.anomalies(settings, aws(settings, "dynamodb"), site_id, start, end))


def summary(settings: Settings, start: Moment = None, end: Moment = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """(one row per site, fleet totals) from rollups; no range means all time."""
    result = query.summary(settings, aws(settings, "dynamodb"), start, end)
    per_site = _numeric(
        pd.DataFrame(result["sites"], columns=list(SUMMARY_COLUMNS)),
        (*ENERGY_COLUMNS, "efficiency_pct", "anomaly_rate_pct"),
    )
    fleet = {k: (float(v) if v is not None and not isinstance(v, int) else v) for k, v in result["fleet"].items()}
    return per_site, fleet


def _periods(settings: Settings, buckets: list[str], column: str) -> pd.DataFrame:
    rows = query.rollups(settings, aws(settings, "dynamodb"), buckets)
    frame = pd.DataFrame(rows, columns=["bucket", *ROLLUP_COLUMNS])
    frame = frame[frame["readings"].fillna(0).astype(float) > 0].copy()
    frame[column] = pd.to_datetime(frame["bucket"].str[2:], utc=True, format="ISO8601")
    for name in COUNTERS:
        if not name.endswith("_kwh"):
            frame[name] = frame[name].fillna(0).astype(int)
    frame = _numeric(frame.drop(columns="bucket"), ENERGY_COLUMNS)
    return frame[["site_id", column, *COUNTERS]].sort_values([column, "site_id"], ignore_index=True)


def hourly(settings: Settings, start: Moment, end: Moment) -> pd.DataFrame:
    """Per site and UTC hour in ``[start, end)``: energies, readings and anomalies, from hour rollups."""
    first, last = query.bounded_range(start, end)
    hours = pd.date_range(first.replace(minute=0, second=0), last, freq="h", inclusive="left")
    return _periods(settings, [f"H#{h:%Y-%m-%dT%H}" for h in hours], "hour_start")


def daily(settings: Settings, start: Moment, end: Moment) -> pd.DataFrame:
    """Per site and UTC day touched by ``[start, end)``, from day rollups."""
    return _periods(settings, [f"D#{day}" for day in query.days(*query.bounded_range(start, end))], "day_start")


def sites(settings: Settings) -> list[str]:
    return query.sites(settings, aws(settings, "dynamodb"))


def ingest_status(settings: Settings) -> pd.DataFrame:
    """One row per object under raw/ with its ledger status and counts."""
    rows = query.ingest_status(settings, aws(settings, "s3"), aws(settings, "dynamodb"))
    return pd.DataFrame(rows, columns=list(STATUS_COLUMNS))


def ledger_errors(settings: Settings) -> pd.DataFrame:
    """Ledger entries in status ``failed`` or ``rejected``, newest first."""
    rows = []
    for status in ("failed", "rejected"):
        rows += query.ledger_entries(settings, aws(settings, "dynamodb"), status)
    frame = pd.DataFrame(rows, columns=["source_key", "etag", "status", "error", "updated_at", "attempts"])
    return frame.sort_values("updated_at", ascending=False, ignore_index=True)


def files(settings: Settings, prefix: str | None = None) -> pd.DataFrame:
    return pd.DataFrame(
        query.files(settings, aws(settings, "s3"), prefix), columns=["key", "size_bytes", "etag", "last_modified"]
    )


def kpis(fleet: dict[str, Any], health: list[dict[str, Any]]) -> pd.DataFrame:
    """The KPI header of the business report: one row, units in the column names."""
    healthy = sum(row["healthy"] for row in health)
    return pd.DataFrame(
        [
            {
                "sites": fleet["sites"],
                "readings": fleet["readings"],
                "generated_kwh": round(fleet["energy_generated_kwh"], 1),
                "consumed_kwh": round(fleet["energy_consumed_kwh"], 1),
                "net_kwh": round(fleet["net_energy_kwh"], 1),
                "efficiency_pct": fleet["efficiency_pct"],
                "anomaly_rate_pct": fleet["anomaly_rate_pct"],
                "system_health": f"{healthy}/{len(health)} resources healthy",
            }
        ]
    )


def run_statistics(status: pd.DataFrame, keys: list[str]) -> dict[str, int]:
    """Files, readings read, stored, quarantined and anomalies over the ledger rows of ``keys``."""
    rows = status[status["key"].isin(keys)]
    totals = {name: int(rows[name].sum()) for name in ("read", "stored", "quarantined", "anomalies")}
    return {"files": len(rows), "processed": int((rows["status"] == "processed").sum()), **totals}


def site_choices(sites: list[str], first: str = "") -> list[str]:
    """``sites`` with ``first`` in front (when given); never empty, so a picker always has a site."""
    ordered = [first, *(site for site in sites if site != first)] if first else list(sites)
    return ordered or ["SITE_001"]
