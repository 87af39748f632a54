"""The lake's Parquet schema and the conversions into it: stored readings (typed DynamoDB images) and
columns of numbers (the simulator's year), both exact.

kWh values are ``decimal128(38, 9)``. pyarrow refuses, loudly, a value with more than 9 decimals or more
than 29 integer digits; the number bound of validation keeps every stored reading inside, so nothing
stored is refused (a test writes the bound's extremes).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import numpy as np
import pyarrow as pa

from energy_lib import lake
from energy_lib.dynamo import from_item
from energy_lib.timeutil import TIMESTAMP_FORMAT

KWH = pa.decimal128(lake.KWH_PRECISION, lake.KWH_SCALE)
TYPES = {
    "string": pa.string(),
    "timestamp": pa.timestamp("ms"),  # Parquet keeps milliseconds at the coarsest; values are whole seconds
    lake.KWH_TYPE: KWH,
    "boolean": pa.bool_(),
    "array<string>": pa.list_(pa.string()),
}
SCHEMA = pa.schema([pa.field(name, TYPES[kind]) for name, kind in lake.COLUMNS])
DELETED = "deleted"  # a column of change tables only: the line removes the reading
INSERTED = "inserted"  # a column of change tables only: the line's record was an INSERT (no old image)


CHANGE_SCHEMA = SCHEMA.append(pa.field(DELETED, pa.bool_())).append(pa.field(INSERTED, pa.bool_()))


def as_changes(table: pa.Table) -> pa.Table:
    """Rows of a day's file as change rows: neither deleted nor inserted."""
    present = pa.array(np.zeros(table.num_rows, bool))
    return table.append_column(DELETED, present).append_column(INSERTED, present)


def _moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.strptime(text, TIMESTAMP_FORMAT)  # naive, UTC


def change_table(lines: Iterable[lake.ChangeLine]) -> pa.Table:
    """Change lines as a table of :data:`SCHEMA` plus the boolean columns ``deleted`` and ``inserted``."""
    rows = []
    for line in lines:
        item = from_item(line["image"] if line["image"] is not None else line["keys"])
        rows.append(
            {
                **{name: item.get(name) for name, _ in lake.COLUMNS},
                "timestamp": _moment(item["timestamp"]),
                "ingested_at": _moment(item.get("ingested_at")),
                "anomaly_reasons": list(item["anomaly_reasons"]) if "anomaly_reasons" in item else None,
                "rounded": list(item.get("rounded", [])),
                "sequence_number": line["sequence_number"],
                DELETED: line["image"] is None,
                INSERTED: line["event"] == "INSERT",
            }
        )
    return pa.Table.from_pylist(rows, schema=CHANGE_SCHEMA)


def conform(table: pa.Table) -> pa.Table:
    """A day file's table as :data:`SCHEMA`: a file written before the ``rounded`` column existed gets it,
    empty (no reading was rounded then)."""
    if "rounded" not in table.column_names:
        table = table.append_column("rounded", no_rounding(table.num_rows))
    return table.select(SCHEMA.names).cast(SCHEMA)


def no_rounding(rows: int) -> pa.Array:
    """A ``rounded`` column of ``rows`` empty lists."""
    return pa.ListArray.from_arrays(pa.array(np.zeros(rows + 1, np.int32)), pa.array([], pa.string()))


def kwh_array(units: np.ndarray, scale: int) -> pa.Array:
    """Exact kWh values from whole numbers of ``10**-scale`` kWh (e.g. watt-hours with ``scale=3``).

    Builds the decimal128 buffer directly (16-byte little-endian two's complement), no Python objects.
    """
    if scale > lake.KWH_SCALE:
        raise ValueError(f"at most {lake.KWH_SCALE} decimals fit {lake.KWH_TYPE}")
    factor = 10 ** (lake.KWH_SCALE - scale)
    units = np.asarray(units, dtype=np.int64)
    if units.size and np.abs(units).max() > np.iinfo(np.int64).max // factor:
        raise OverflowError("values too large for the vectorised path")
    low = units * factor
    words = np.empty((len(low), 2), dtype="<i8")
    words[:, 0] = low
    words[:, 1] = np.where(low < 0, -1, 0)  # sign extension into the high word
    return pa.Array.from_buffers(KWH, len(low), [None, pa.py_buffer(words.tobytes())])


def empty() -> pa.Table:
    return SCHEMA.empty_table()
