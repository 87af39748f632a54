"""Long simulated history straight into the lake: a year of a large fleet, for benchmarks and demos.

The same model as :func:`~energy_lib.workbook.simulator.model.simulate` (:func:`fleet_energy` runs it
as arrays), judged by the pipeline's own rules (:func:`energy_lib.rules.assess` on every reading that can
be an anomaly), written as the compaction writes: one Parquet file per UTC day, kWh exact. Nothing goes
through raw/, DynamoDB or the stream, so the readings table and the rollups do not hold these readings.
Vectorised with numpy and pyarrow; the period is cut into chunks that run in parallel processes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from botocore.exceptions import ClientError
from tqdm.auto import tqdm

from energy_lib import lake
from energy_lib.clients import client
from energy_lib.compaction.days import to_parquet
from energy_lib.compaction.tables import SCHEMA, kwh_array, no_rounding
from energy_lib.config import Settings
from energy_lib.errors import LakeError
from energy_lib.readings import Reading
from energy_lib.rules import assess
from energy_lib.workbook.simulator.model import MAX_READINGS, Site, fleet_energy

SOURCE_PREFIX = "simulated-year/"  # source_key of these readings: no raw object holds them
MILLI = 1000  # the simulator's values have 3 decimals: whole watt-hours


@dataclass(frozen=True, slots=True)
class YearRun:
    """What :func:`write_history` wrote."""

    sites: int
    days: int
    readings: int
    anomalies: int
    size_bytes: int  # of the Parquet files


def write_history(
    settings: Settings,
    fleet: Sequence[Site],
    start: datetime,
    days: int = 365,
    interval_minutes: int = 5,
    anomaly_rate: float = 0.02,
    seed: int = 42,
    lake_dir: str | Path | None = None,
    workers: int = 2,
    progress: bool = True,
) -> YearRun:
    """Simulate ``days`` whole UTC days from ``start`` (a UTC midnight) and write each as the lake's day
    file: into the settings' bucket, or under ``lake_dir`` (the lake's layout on disk). A day that already
    has a file is refused (:class:`~energy_lib.errors.LakeError`): real history is never overwritten."""
    if (
        start.tzinfo is None
        or start.utcoffset() != timedelta(0)
        or start != start.replace(hour=0, minute=0, second=0, microsecond=0)
    ):
        raise ValueError(f"start must be a UTC midnight, e.g. 2024-01-01T00:00:00Z: {start!r}")
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise ValueError(f"days must be a whole number >= 1: {days!r}")
    per_day = math.ceil(24 * 60 / interval_minutes)
    chunk_days = max(1, min(31, MAX_READINGS // (len(fleet) * per_day)))
    chunks = [
        (
            settings,
            list(fleet),
            start + timedelta(days=first),
            min(chunk_days, days - first),
            interval_minutes,
            anomaly_rate,
            seed,
            lake_dir,
        )
        for first in range(0, days, chunk_days)
    ]
    totals = np.zeros(4, dtype=np.int64)
    with ProcessPoolExecutor(workers) as pool:
        for done in tqdm(
            pool.map(_write_chunk, chunks), total=len(chunks), desc="lake", unit="chunk", disable=not progress
        ):
            totals += done
    return YearRun(len(fleet), int(totals[0]), int(totals[1]), int(totals[2]), int(totals[3]))


def _write_chunk(arguments: tuple[Any, ...]) -> np.ndarray:
    """Simulate and write one chunk of days; returns (days, readings, anomalies, bytes)."""
    settings, fleet, first, days, interval_minutes, anomaly_rate, seed, lake_dir = arguments
    energy = fleet_energy(fleet, first, days * 24, interval_minutes, anomaly_rate, seed)
    generated = np.rint(energy.generated_kwh * MILLI).astype(np.int64)
    consumed = np.rint(energy.consumed_kwh * MILLI).astype(np.int64)
    moments = energy.starts.tz_convert(None).to_numpy().astype("datetime64[ms]")
    day_of = energy.starts.strftime("%Y-%m-%d").to_numpy()
    site_ids = np.array([site.site_id for site in energy.fleet])
    written = np.zeros(4, dtype=np.int64)
    ingested_at = np.datetime64(datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0), "ms")
    for day in dict.fromkeys(day_of.tolist()):
        columns = np.flatnonzero(day_of == day)
        sent = energy.sent[:, columns].ravel()  # every reading: this writer injects no faults
        table = day_table(
            settings,
            np.repeat(site_ids, len(columns))[sent],
            np.tile(moments[columns], len(site_ids))[sent],
            generated[:, columns].ravel()[sent],
            consumed[:, columns].ravel()[sent],
            ingested_at,
            f"{SOURCE_PREFIX}{first:%Y%m%d}-s{seed}",
        )
        body = to_parquet(table)
        put_day(settings, lake_dir, day, body)
        written += (1, table.num_rows, int(np.count_nonzero(table["anomaly"].to_numpy())), len(body))
    return written


def day_table(
    settings: Settings,
    site_ids: np.ndarray,
    moments: np.ndarray,
    generated_wh: np.ndarray,
    consumed_wh: np.ndarray,
    ingested_at: np.datetime64,
    source_key: str,
) -> pa.Table:
    """One day file's table from arrays (energies in whole watt-hours), judged by the pipeline's rules."""
    reasons: list[list[str]] = [[] for _ in range(len(site_ids))]
    severity: list[str | None] = [None] * len(site_ids)
    limit_wh = int(settings.implausible_kwh * MILLI)  # |x| > limit [kWh] <=> |x_wh| > floor(limit_wh) for whole x_wh
    maybe = (generated_wh < 0) | (consumed_wh < 0) | (np.maximum(np.abs(generated_wh), np.abs(consumed_wh)) > limit_wh)
    for row in np.flatnonzero(maybe).tolist():
        reading = Reading(
            str(site_ids[row]),
            moments[row].astype(datetime).replace(tzinfo=timezone.utc),
            Decimal(int(generated_wh[row])).scaleb(-3),
            Decimal(int(consumed_wh[row])).scaleb(-3),
            row + 1,
        )
        verdict = assess(reading, settings)
        reasons[row], severity[row] = list(verdict.reasons), verdict.severity
    rows = len(site_ids)
    table = pa.table(
        {
            "site_id": pa.array(site_ids, pa.string()),
            "timestamp": pa.array(moments, pa.timestamp("ms")),
            "energy_generated_kwh": kwh_array(generated_wh, 3),
            "energy_consumed_kwh": kwh_array(consumed_wh, 3),
            "net_energy_kwh": kwh_array(generated_wh - consumed_wh, 3),
            "anomaly": pa.array([bool(r) for r in reasons], pa.bool_()),
            "anomaly_reasons": pa.array(reasons, pa.list_(pa.string())),
            "severity": pa.array(severity, pa.string()),
            "rounded": no_rounding(rows),  # whole watt-hours: nothing to round
            "source_key": pa.array(np.full(rows, source_key), pa.string()),
            "ingested_at": pa.array(np.full(rows, ingested_at), pa.timestamp("ms")),
            "sequence_number": pa.array(np.full(rows, lake.OLDEST_SEQUENCE), pa.string()),
        },
        schema=SCHEMA,
    )
    return table.sort_by([("site_id", "ascending"), ("timestamp", "ascending")])


def put_day(settings: Settings, lake_dir: str | Path | None, day: str, body: bytes) -> None:
    """Write one day file (``day`` is ``YYYY-MM-DD``) into the settings' bucket or under ``lake_dir``; a day that
    has a file already is refused (:class:`~energy_lib.errors.LakeError`)."""
    if lake_dir is not None:
        path = Path(lake_dir) / lake.READINGS / f"day={day}" / lake.DAY_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with path.open("xb") as file:
                file.write(body)
        except FileExistsError:
            raise LakeError(f"{path} exists: the lake already holds {day}") from None
        return
    try:
        client("s3", settings).put_object(
            Bucket=settings.bucket, Key=lake.day_file_key(settings, day), Body=body, IfNoneMatch="*"
        )
    except ClientError as error:
        if error.response["Error"]["Code"] in ("PreconditionFailed", "412"):
            raise LakeError(f"the lake already holds {day}; simulated history is written only to empty days") from None
        raise
