"""Write units per 1,000 readings, per table and index, for three file shapes, through the real pipeline on a
real moto server, from the sizes of the items really written (tests/benchmarks/capacity.py). Printed; the
counts that follow from the design are asserted, times are not measured here.

Rollups cost one write unit per rollup item and tumbling window (15 minutes; items are far below 1 KB). A
reading touches three items (its site's hour, day and all time), so rollups add 3 write units per site and
window: 1 per reading when readings come every 5 minutes (the snapshot, and files of single readings arriving
one by one), and less the more readings of a site a window holds: 3 / 12 for a site's hour in a file.
"""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from energy_lib.config import Settings
from energy_lib.pipeline import CHUNK_RECORDS
from tests.benchmarks.shapes import Measured, shape_files

pytestmark = pytest.mark.benchmark


def columns(settings: Settings) -> dict[str, str]:
    readings, rollups, ledger = settings.readings_table, settings.rollups_table, settings.ledger_table
    return {
        "readings": readings,
        "site_anom.": f"{readings}/site_anomalies",
        "fleet_anom.": f"{readings}/fleet_anomalies",
        "ledger": ledger,
        "problems": f"{ledger}/problems",
        "rollups": rollups,
    }


def test_write_units_per_1000_readings_by_table_index_and_shape(measured: dict[tuple[str, str], Measured]) -> None:
    names = columns(Settings())
    header = f"{'shape':<22}{'mode':<11}{'files':>6}" + "".join(f"{c:>12}" for c in names) + f"{'total':>9}"
    lines = ["", "Write units per 1,000 readings (DynamoDB's rules on the items written)", header]
    for (shape, mode), result in measured.items():
        values = [result.per_thousand(table) for table in names.values()]
        lines.append(
            f"{shape:<22}{mode:<11}{result.files:>6}" + "".join(f"{v:>12.0f}" for v in values) + f"{sum(values):>9.0f}"
        )
    lines.append("")
    lines.append("rollups per reading (target: at most 1, amortized):")
    for (shape, mode), result in measured.items():
        rollup = result.per_thousand(names["rollups"]) / 1000
        lines.append(f"  {shape:<22}{mode:<11}{rollup:6.3f} {'meets it' if rollup <= 1 else 'above it'}")
    print("\n".join(lines))

    for (shape, _), result in measured.items():
        files = shape_files(shape)
        # every reading is one item write of under 1 KB, in the table only (no index by day)
        assert result.per_thousand(names["readings"]) == 1000
        assert not [name for name in result.wru if name.endswith("/by_day")]
        # anomalies are in the two sparse indexes, and only they
        anomalies = result.wru.get(names["site_anom."], 0)
        assert anomalies == result.wru.get(names["fleet_anom."], 0) == result.anomalies > 0
        # the ledger: claim the key, record the outcome (the lease runs out by itself); one more for a file that
        # alerted, and one per chunk of readings after the first (the lease renewed)
        alerted = sum(any(Decimal(r["energy_generated_kwh"]) < 0 for r in f) for f in files)
        renewals = sum(math.ceil(len(f) / CHUNK_RECORDS) - 1 for f in files)
        assert result.wru[names["ledger"]] == 2 * result.files + alerted + renewals
        assert result.wru.get(names["problems"], 0) == 0
        # the ingest writes readings 25 a request and reads nothing of them: one read per file, of its ledger entry
        assert result.ingest_requests.get("BatchWriteItem") == sum(math.ceil(len(f) / 25) for f in files)
        assert result.ingest_requests.get("GetItem") == result.files
        assert not {"TransactWriteItems", "Query", "BatchGetItem"} & set(result.ingest_requests)

    rollups = {key: result.per_thousand(names["rollups"]) / 1000 for key, result in measured.items()}
    # a window holds three 5-minute readings of a site: three items written for three readings
    assert rollups[("fleet snapshot", "real time")] == rollups[("fleet snapshot", "burst")] == 1
    assert rollups[("one reading per file", "real time")] == 1
    # a site's hour in one window: three items for twelve readings
    assert rollups[("one site's hour", "real time")] == 0.25
    assert rollups[("one reading per file", "burst")] <= 0.25 and rollups[("one site's hour", "burst")] <= 0.25
    assert all(value <= 1 for value in rollups.values())
