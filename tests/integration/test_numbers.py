"""Numbers as producers write them, through the real handler and aggregator on a real moto server: every
finite value below 10^20 is stored, one with more than 9 decimals rounded to 9 (half to even) and named in
the item's ``rounded``, the ledger and ``ingest status``; the rollups and the lake hold the rounded values'
sums to the last digit (issue 25)."""

from __future__ import annotations

import io
import json
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st

from energy_lib import lake, query, raw_objects
from energy_lib.clients import client
from energy_lib.compaction.days import compact, read_day
from energy_lib.compaction.tables import SCHEMA
from energy_lib.config import Settings
from energy_lib.workbook.aws import ops
from energy_lib.workbook.infra.configuration import glue_table_input
from energy_lib.workbook.lake import engines
from energy_lib.workbook.local.provisioner import provision
from tests.conftest import fresh_stack
from tests.integration.harness import Pipeline, assert_rollups_exact, lake_readings, put, table_readings

pytestmark = pytest.mark.stack

NINE_DECIMALS = Decimal("1e-9")
# the issue's table: the value in the file, the value stored, whether the reading says it was rounded
TABLE = {
    "0.30000000000000004": ("0.300000000", True),  # what 0.1 + 0.2 prints in Python, JavaScript, Java
    "1.5000000000": ("1.5", False),  # a fixed 10-decimal format: the same value
    "-4.572918374629183": ("-4.572918375", True),  # an anomaly a producer never rounded
    "12.5": ("12.5", False),
    "1e-3": ("0.001", False),
    "123456789.123456789": ("123456789.123456789", False),
}
CONSUMED = "0.1"
BOUND = 1e20  # |value| < 10^20 kWh; exactly representable as a float


def reading_text(site: str, second: int, generated: str, consumed: str) -> str:
    """One reading as JSON with its kWh values written exactly as given."""
    return (
        f'{{"site_id": "{site}", "timestamp": {1749600000 + second}, '
        f'"energy_generated_kwh": {generated}, "energy_consumed_kwh": {consumed}}}'
    )


def exact(text: str) -> Decimal:
    """What the pipeline stores for a value written as ``text``: rounded half to even to 9 decimals."""
    with localcontext(prec=50):
        return Decimal(text).quantize(NINE_DECIMALS, rounding=ROUND_HALF_EVEN)


def total(values: list[Decimal]) -> Decimal:
    with localcontext(prec=100):
        return sum(values, Decimal(0))


def site_row(settings: Settings, site: str) -> dict[str, Any]:
    [row] = [r for r in query.summary(settings, client("dynamodb", settings))["sites"] if r["site_id"] == site]
    return row


def lake_sums(settings: Settings, site: str) -> dict[str, Any]:
    frame = engines.sql(
        settings,
        "SELECT count(*) AS readings, sum(energy_generated_kwh) AS generated, sum(energy_consumed_kwh) AS consumed, "
        f"sum(net_energy_kwh) AS net FROM readings WHERE site_id = '{site}'",
    )
    return engines.records(frame)[0]


@pytest.fixture
def large_plants(moto_port: int, tmp_path: Path) -> Settings:
    """A fresh stack whose sites may deliver up to 10^9 kWh a reading (``ENERGY_IMPLAUSIBLE_KWH``): the table's
    123456789.123456789 is then a plausible value, and its only anomaly is the negative one."""
    return fresh_stack(moto_port, tmp_path, implausible_kwh=Decimal("1e9"))


def test_the_issue_s_table_is_stored_rounded_flagged_once_and_summed_exactly(large_plants: Settings) -> None:
    settings = large_plants
    # GIVEN one file holding each value of the issue's table as a reading's generated energy
    lines = [reading_text("TABLE", n, value, CONSUMED) for n, value in enumerate(TABLE)]
    put(settings, "raw/2025/06/11/table.json", ("[" + ",\n".join(lines) + "]").encode())
    # WHEN the real handler and aggregator process it, and the lake is compacted
    Pipeline(settings).drain()
    compact(settings, client("s3", settings))

    # THEN every row is stored, with the value rounded to 9 decimals where it had more, and says so
    dynamodb = client("dynamodb", settings)
    items = query.readings(settings, dynamodb, "TABLE")
    assert [(item["energy_generated_kwh"], item.get("rounded", [])) for item in items] == [
        (Decimal(stored), ["energy_generated_kwh"] if rounded else []) for stored, rounded in TABLE.values()
    ]
    # AND the negative one is flagged, the net is that of the stored values
    flagged = [item for item in items if item["anomaly"]]
    assert [(f["energy_generated_kwh"], f["anomaly_reasons"]) for f in flagged] == [
        (Decimal("-4.572918375"), ["negative_generation"])
    ]
    assert all(item["net_energy_kwh"] == item["energy_generated_kwh"] - Decimal(CONSUMED) for item in items)
    # AND one alert went out, for that one reading
    [alert] = ops.alerts(settings)
    assert (alert["anomalies"], alert["sites"], alert["severity"]) == (1, "TABLE", "LOW")
    # AND the ledger entry and ingest status report the rounded readings
    [status] = raw_objects.ingest_status(settings, client("s3", settings), dynamodb)
    assert {k: status[k] for k in ("status", "read", "stored", "quarantined", "anomalies", "rounded")} == {
        "status": "processed",
        "read": 6,
        "stored": 6,
        "quarantined": 0,
        "anomalies": 1,
        "rounded": 2,
    }
    # AND the rollups hold the stored values' sums to the last digit, valid and flagged apart
    assert_rollups_exact(settings)
    row = site_row(settings, "TABLE")
    valid = [Decimal(stored) for stored, _ in TABLE.values() if not stored.startswith("-")]
    assert (row["energy_generated_kwh"], row["flagged_energy_generated_kwh"]) == (
        Decimal("123456803.424456789"),
        Decimal("-4.572918375"),
    )
    assert row["energy_generated_kwh"] == total(valid)
    assert row["net_energy_kwh"] == total(valid) - 5 * Decimal(CONSUMED)
    # AND the lake holds the same readings, its rounded column included, and the same sums
    assert lake_readings(settings) == table_readings(settings)
    assert [row["rounded"] for row in lake_readings(settings)] == [
        ["energy_generated_kwh"] if rounded else [] for _, rounded in TABLE.values()
    ]
    sums = lake_sums(settings, "TABLE")
    assert (sums["readings"], sums["generated"]) == (6, total(valid) + Decimal("-4.572918375"))


REJECTED = {  # the value in the file -> the reason its reading is quarantined for
    "1e20": "out_of_range:energy_generated_kwh",
    "-123456789012345678901.25": "out_of_range:energy_generated_kwh",
    "99999999999999999999.9999999995": "out_of_range:energy_generated_kwh",  # 10^20 once rounded
    "NaN": "not_finite:energy_generated_kwh",
    "-Infinity": "not_finite:energy_generated_kwh",
    "true": "boolean:energy_generated_kwh",
    '"twelve"': "not_a_number:energy_generated_kwh",
    '"1,5"': "not_a_number:energy_generated_kwh",
}


def test_what_is_not_a_finite_number_below_10_20_stays_quarantined_with_its_reason(settings: Settings) -> None:
    # GIVEN one file with a reading for each value that is no reading, and one that is
    lines = [reading_text("NOPE", n, value, CONSUMED) for n, value in enumerate(REJECTED)]
    lines.append(reading_text("NOPE", len(REJECTED), "2.0000000001", CONSUMED))
    put(settings, "raw/2025/06/11/nope.json", ("[" + ",\n".join(lines) + "]").encode())
    # WHEN the real handler processes it
    Pipeline(settings).drain()
    # THEN each is quarantined with its reason and its text; the last is stored, rounded
    [quarantined] = [row["key"] for row in ops.quarantine(settings)]
    rejects = ops.quarantined_readings(settings, quarantined)
    assert [(r["position"], r["reasons"]) for r in rejects] == [
        (n + 1, [reason]) for n, reason in enumerate(REJECTED.values())
    ]
    assert all(value in r["original"] for value, r in zip(REJECTED, rejects, strict=True))
    [status] = raw_objects.ingest_status(settings, client("s3", settings), client("dynamodb", settings))
    assert [status[k] for k in ("read", "stored", "quarantined", "rounded")] == [len(REJECTED) + 1, 1, len(REJECTED), 1]
    [stored] = query.readings(settings, client("dynamodb", settings), "NOPE")
    assert (stored["energy_generated_kwh"], stored["rounded"]) == (Decimal(2), ["energy_generated_kwh"])


def net_in_bound(pair: tuple[float, float]) -> bool:
    """Whether the net of two values is below 10^20 too (a reading whose net is not is out_of_range, unchanged)."""
    with localcontext(prec=50):
        return abs(exact(repr(pair[0])) - exact(repr(pair[1]))) < 10**20


finite_in_bound = st.floats(
    min_value=-BOUND, max_value=BOUND, exclude_min=True, exclude_max=True, allow_nan=False, allow_infinity=False
)


@examples(
    max_examples=25,
    deadline=None,
    # one moto server and pipeline for every example: each example writes readings of its own site
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(values=st.lists(st.tuples(finite_in_bound, finite_in_bound).filter(net_in_bound), min_size=1, max_size=100))
def test_sums_of_any_finite_floats_equal_the_rollups_and_the_lake_to_the_last_digit(
    settings: Settings, values: list[tuple[float, float]]
) -> None:
    # GIVEN readings whose values are any finite floats below 10^20, as Python's json writes them
    site = f"P{len(query.sites(settings, client('dynamodb', settings))):04d}"
    body = json.dumps(
        [
            {"site_id": site, "timestamp": 1749600000 + n, "energy_generated_kwh": g, "energy_consumed_kwh": c}
            for n, (g, c) in enumerate(values)
        ]
    )
    put(settings, f"raw/2025/06/11/{site}.json", body.encode())
    # WHEN they are processed and the lake compacted
    Pipeline(settings).drain()
    compact(settings, client("s3", settings))

    # THEN every reading is stored with Decimal(repr(x)) rounded half to even to 9 decimals
    generated = [exact(repr(g)) for g, _ in values]
    consumed = [exact(repr(c)) for _, c in values]
    items = query.readings(settings, client("dynamodb", settings), site)
    assert [(i["energy_generated_kwh"], i["energy_consumed_kwh"]) for i in items] == list(
        zip(generated, consumed, strict=True)
    )
    # AND their sums are the rollups' (valid plus flagged) and the lake's, to the last digit
    row = site_row(settings, site)
    sums = lake_sums(settings, site)
    with localcontext(prec=100):  # exact: these sums need up to 32 digits
        expected = {
            "energy_generated_kwh": total(generated),
            "energy_consumed_kwh": total(consumed),
            "net_energy_kwh": total(generated) - total(consumed),
        }
        assert {name: row[name] + row[f"flagged_{name}"] for name in expected} == expected
    assert row["readings"] == sums["readings"] == len(values)
    assert [sums["generated"], sums["consumed"], sums["net"]] == list(expected.values())


def test_a_day_file_written_before_the_rounded_column_is_read_and_rewritten_with_it(settings: Settings) -> None:
    s3 = client("s3", settings)
    pipeline = Pipeline(settings)
    # GIVEN two days stored by the pipeline, the first day's file then replaced by one without the rounded column
    # (as written before it existed)
    lines = [reading_text("OLD", n, value, CONSUMED) for n, value in enumerate(["1.25", "2.5"])]
    lines.append(reading_text("NEW", 86400, "0.30000000000000004", CONSUMED))
    put(settings, "raw/2025/06/11/both.json", ("[" + ",".join(lines) + "]").encode())
    pipeline.drain()
    compact(settings, s3)
    current, _ = read_day(settings, s3, "2025-06-11")
    old = io.BytesIO()
    pq.write_table(current.drop_columns(["rounded"]), old)
    s3.put_object(Bucket=settings.bucket, Key=lake.day_file_key(settings, "2025-06-11"), Body=old.getvalue())
    # WHEN the lake is queried over both days
    frame = engines.sql(settings, 'SELECT site_id, rounded FROM readings ORDER BY site_id, "timestamp"')
    # THEN the old day's rows read NULL (nothing was rounded then), the new one names its rounded field
    assert [(r["site_id"], r["rounded"]) for r in engines.records(frame)] == [
        ("NEW", ["energy_generated_kwh"]),
        ("OLD", None),
        ("OLD", None),
    ]
    # AND a compaction that rewrites the old day gives it the column, empty for its readings
    correction = reading_text("OLD", 1, "2.75", CONSUMED)
    put(settings, "raw/2025/06/11/correction.json", f"[{correction}]".encode())
    pipeline.drain()
    compact(settings, s3)
    key = lake.day_file_key(settings, "2025-06-11")
    rewritten = pq.read_table(io.BytesIO(s3.get_object(Bucket=settings.bucket, Key=key)["Body"].read()))
    assert rewritten.schema.equals(SCHEMA)
    assert rewritten.select(["energy_generated_kwh", "rounded"]).to_pylist() == [
        {"energy_generated_kwh": Decimal("1.250000000"), "rounded": []},
        {"energy_generated_kwh": Decimal("2.750000000"), "rounded": []},
    ]


def test_provisioning_an_existing_local_stack_again_gives_its_glue_table_the_rounded_column(settings: Settings) -> None:
    # GIVEN a local stack whose Glue table was created before the rounded column existed
    glue = client("glue", settings)
    earlier = glue_table_input(settings)
    columns = earlier["StorageDescriptor"]["Columns"]
    earlier["StorageDescriptor"]["Columns"] = [column for column in columns if column["Name"] != "rounded"]
    glue.update_table(DatabaseName=settings.glue_database, TableInput=earlier)
    # WHEN it is provisioned again (as `energy-workbook local up` does)
    provision(settings)
    # THEN the table declares every column of the lake, rounded included
    table = glue.get_table(DatabaseName=settings.glue_database, Name=lake.TABLE)["Table"]
    assert [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]] == list(lake.COLUMNS)
