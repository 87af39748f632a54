"""Stored readings: what one reading item holds.

A reading item holds the exact inputs (``rounded``, only on readings that have one, names those rounded to
9 decimals), ``net_energy_kwh``, the anomaly verdict, ``expires_at`` when the table keeps a hot window
(:mod:`energy_lib.expiry`) and the attributes the sparse anomaly indexes need (``anomaly_at`` and
``anomaly_day``, only on anomalies). The ingest only writes them (BatchWriteItem); the rollups and the lake
follow from the table's stream (:mod:`energy_lib.aggregator`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from energy_lib import expiry
from energy_lib.readings import Reading
from energy_lib.rules import Assessment
from energy_lib.timeutil import format_timestamp


def reading_item(
    reading: Reading, assessment: Assessment, source_key: str, ingested_at: datetime, ttl_days: int = 0
) -> dict[str, Any]:
    """The item of ``reading`` as stored at ``ingested_at``; with ``ttl_days`` it expires that many days after the
    later of ``ingested_at`` and the reading's own time."""
    timestamp = reading.timestamp_text
    item: dict[str, Any] = {
        "site_id": reading.site_id,
        "timestamp": timestamp,
        "energy_generated_kwh": reading.energy_generated_kwh,
        "energy_consumed_kwh": reading.energy_consumed_kwh,
        "net_energy_kwh": reading.net_energy_kwh,
        "anomaly": assessment.anomaly,
        "anomaly_reasons": list(assessment.reasons),
        "source_key": source_key,
        "ingested_at": format_timestamp(ingested_at),
    }
    if reading.rounded:
        item["rounded"] = list(reading.rounded)
    expires = expiry.expires_at(ttl_days, ingested_at, reading.timestamp)
    if expires is not None:
        item[expiry.ATTRIBUTE] = expires
    if assessment.anomaly:
        item.update(severity=assessment.severity, anomaly_at=timestamp, anomaly_day=timestamp[:10])
    return item
