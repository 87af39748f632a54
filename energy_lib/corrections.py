"""Rollups stay exact when a reading is stored again after its item expired.

The aggregator adds each stream record's new image and takes its old image away. A reading whose item the time
to live deleted (:mod:`energy_lib.expiry`) stays in the rollups and in the lake; stored again later (a newer
version of its file, a correction), it reaches the stream as an ``INSERT`` without an old image, so the rollups
would count it twice. Only the lake knows the value they counted: compaction, folding the day's change lines,
sees the ``INSERT`` meet a row it holds (:func:`energy_lib.compaction.days.compact_day`) and writes a
**correction item** into the readings table, outside every site's partition: its stream record takes that row
away from the rollups, through the aggregator, exactly once like any record.

A correction item: partition ``<site_id>#expired`` (``#`` is in no site id), sort key ``<timestamp>#<sequence>``
(the ``INSERT``'s stream sequence number: the same correction is the same item), the energies, verdict and
severity of the row to take away. Written again with the same values it changes nothing (new − old = 0); its
deletion (compaction deletes it once the day's file holds the ``INSERT``; the time to live after
:data:`KEEP_DAYS`) is no change either. No query of readings, no index and not the lake ever sees one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from energy_lib.rollups import ENERGY

SUFFIX = "#expired"  # of a correction item's partition key
KEEP_DAYS = 19  # a correction compaction failed to delete goes with the time to live after this long
COUNTED = (*ENERGY, "anomaly", "severity")  # what the rollups read of a reading (rollups.contribution)


def is_correction(site_id: str) -> bool:
    """True for the partition key of a correction item."""
    return site_id.endswith(SUFFIX)


def site_of(site_id: str) -> str:
    """The site a partition key belongs to: itself, or the site a correction item corrects."""
    return site_id.removesuffix(SUFFIX)


def item(row: dict[str, Any], sequence: str, now: datetime) -> dict[str, Any]:
    """The correction item that takes ``row`` (a reading the rollups counted: ``site_id``, ``timestamp`` text and
    :data:`COUNTED`) away from the rollups, for the ``INSERT`` with stream ``sequence`` (padded)."""
    values = {name: row[name] for name in COUNTED if row.get(name) is not None}
    return {
        "site_id": row["site_id"] + SUFFIX,
        "timestamp": f"{row['timestamp']}#{sequence}",
        **values,
        "expires_at": int(now.timestamp()) + KEEP_DAYS * 24 * 3600,
    }


def reading(image: dict[str, Any]) -> dict[str, Any]:
    """The reading a correction item's image (plain values) stands for, under its own site and time."""
    return {**image, "site_id": site_of(image["site_id"]), "timestamp": image["timestamp"].split("#", 1)[0]}
