"""The lake against a real moto server: compaction of change objects (newest wins, idempotent, races
lost safely), exact decimals at the number bound, DuckDB over the bucket, and the Athena path as far as
moto allows (the SQL sent is the SQL DuckDB ran; results typed back into the same DataFrame)."""

from __future__ import annotations

import io
import json
import urllib.request
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal, localcontext
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from energy_lib import lake, storage
from energy_lib.clients import client
from energy_lib.compaction.days import compact, compact_day, pending, read_day
from energy_lib.config import Settings
from energy_lib.dynamo import to_item
from energy_lib.errors import LakeError
from energy_lib.readings import Reading
from energy_lib.rules import assess
from energy_lib.workbook.lake import engines, queries, stores

pytestmark = pytest.mark.stack

INGESTED = datetime(2025, 6, 12, tzinfo=timezone.utc)
ONE_DAY = timedelta(days=1)


def record(sequence: int, site: str, timestamp: str, generated: str, consumed: str, event: str = "INSERT") -> dict:
    """A stream record as Lambda delivers it, for a reading item the pipeline would store."""
    moment = datetime.fromisoformat(timestamp)
    reading = Reading(site, moment, Decimal(generated), Decimal(consumed), 1)
    item = storage.reading_item(reading, assess(reading, Settings()), f"raw/{site}-{sequence}.json", INGESTED)
    stream = {"SequenceNumber": str(sequence), "Keys": to_item({"site_id": site, "timestamp": item["timestamp"]})}
    if event != "REMOVE":
        stream["NewImage"] = to_item(item)
    return {"eventName": event, "dynamodb": stream}


def day_rows(settings: Settings, day: str) -> list[dict[str, Any]]:
    table, _ = read_day(settings, client("s3", settings), day)
    return table.to_pylist()


def values(settings: Settings, day: str) -> dict[tuple[str, str], tuple[Decimal, Decimal, Decimal]]:
    return {
        (row["site_id"], f"{row['timestamp']:%H:%M}"): (
            row["energy_generated_kwh"],
            row["energy_consumed_kwh"],
            row["net_energy_kwh"],
        )
        for row in day_rows(settings, day)
    }


def test_newest_per_site_and_second_wins_whatever_order_batches_arrive_in(settings: Settings) -> None:
    s3 = client("s3", settings)
    # GIVEN a correction (seq 300) written before the batch it corrects (seq 100), a duplicate of a batch
    # (a retried one, same key) and a removal
    lake.put_changes(s3, settings, [record(300, "A", "2025-06-11T00:00:00Z", "7.000000001", "0.25", "MODIFY")])
    lake.put_changes(
        s3,
        settings,
        [
            record(100, "A", "2025-06-11T00:00:00Z", "1.5", "0.25"),
            record(101, "A", "2025-06-11T00:05:00Z", "-2", "1"),
            record(102, "B", "2025-06-11T00:00:00Z", "3", "1"),
        ],
    )
    lake.put_changes(s3, settings, [record(100, "A", "2025-06-11T00:00:00Z", "1.5", "0.25")])
    lake.put_changes(s3, settings, [record(400, "B", "2025-06-11T00:00:00Z", "0", "0", "REMOVE")])
    # WHEN the lake is compacted
    results = compact(settings, s3)
    # THEN the day holds the newest value of each reading, the removal applied, exactly
    assert [(r.day, r.status, r.change_objects, r.rows) for r in results] == [("2025-06-11", "written", 4, 2)]
    assert values(settings, "2025-06-11") == {
        ("A", "00:00"): (Decimal("7.000000001"), Decimal("0.25"), Decimal("6.750000001")),
        ("A", "00:05"): (Decimal("-2"), Decimal("1"), Decimal("-3")),
    }
    anomaly = next(row for row in day_rows(settings, "2025-06-11") if row["energy_generated_kwh"] < 0)
    assert (anomaly["anomaly"], anomaly["anomaly_reasons"], anomaly["severity"]) == (
        True,
        ["negative_generation"],
        "LOW",
    )
    assert pending(settings, s3) == {}  # every change object folded in was deleted


def test_compaction_is_idempotent_and_an_old_batch_retried_later_changes_nothing(settings: Settings) -> None:
    s3 = client("s3", settings)
    lake.put_changes(s3, settings, [record(100, "A", "2025-06-11T00:00:00Z", "1", "1")])
    lake.put_changes(s3, settings, [record(200, "A", "2025-06-11T00:00:00Z", "2", "1", "MODIFY")])
    compact(settings, s3)
    before = s3.get_object(Bucket=settings.bucket, Key=lake.day_file_key(settings, "2025-06-11"))["Body"].read()
    # WHEN it runs again with nothing to do, THEN it changes nothing
    assert compact(settings, s3) == []
    # WHEN the old batch is delivered again after it was folded in (a stream retry)
    lake.put_changes(s3, settings, [record(100, "A", "2025-06-11T00:00:00Z", "1", "1")])
    compact(settings, s3)
    # THEN the newer value stays
    assert values(settings, "2025-06-11")[("A", "00:00")][0] == Decimal("2")
    assert pq.read_table(io.BytesIO(before)).to_pylist() == day_rows(settings, "2025-06-11")


class Racing:
    """An S3 client whose first write of a day file is preceded by another run's write of the same file."""

    def __init__(self, s3: Any, settings: Settings) -> None:
        self.s3, self.settings, self.raced = s3, settings, False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.s3, name)

    def put_object(self, **request: Any) -> Any:
        if not self.raced and request["Key"].startswith(lake.readings_prefix(self.settings)):
            self.raced = True
            compact(self.settings, self.s3)  # the other run folds the same change objects and more
        return self.s3.put_object(**request)


def test_a_run_that_loses_a_race_writes_nothing_and_deletes_nothing(settings: Settings) -> None:
    s3 = client("s3", settings)
    lake.put_changes(s3, settings, [record(100, "A", "2025-06-11T00:00:00Z", "1", "1")])
    keys = pending(settings, s3)["2025-06-11"]
    # GIVEN a run that read the day, then another run wrote it first (and a newer change arrived in between)
    racing = Racing(s3, settings)
    lake.put_changes(s3, settings, [record(200, "A", "2025-06-11T00:05:00Z", "5", "1")])
    # WHEN the first run (which saw only the first change object) tries to write
    result = compact_day(settings, racing, "2025-06-11", keys)
    # THEN its conditional write is refused; the winner's file stands with both readings
    assert (result.status, racing.raced) == ("conflict", True)
    assert sorted(values(settings, "2025-06-11")) == [("A", "00:00"), ("A", "00:05")]


def test_a_change_object_rewritten_during_a_run_survives_its_cleanup(settings: Settings) -> None:
    s3 = client("s3", settings)
    batch = [record(100, "A", "2025-06-11T00:00:00Z", "1", "1")]
    [key] = lake.put_changes(s3, settings, batch)

    class Rewriting(Racing):
        def put_object(self, **request: Any) -> Any:
            if request["Key"].startswith(lake.readings_prefix(self.settings)) and not self.raced:
                self.raced = True
                lake.put_changes(self.s3, self.settings, batch)  # the retried batch lands again: a new version
            return self.s3.put_object(**request)

    compact(settings, Rewriting(s3, settings))
    # only the version that was read is deleted: the rewritten object waits for the next run
    assert pending(settings, s3) == {"2025-06-11": [key]}


def test_values_at_the_number_bound_are_kept_exactly_and_sum_exactly(settings: Settings) -> None:
    # GIVEN the largest and smallest values the number bound lets through (below 1E+20, 9 decimals)
    largest, smallest = Decimal("99999999999999999999.999999999"), Decimal("0.000000001")
    s3 = client("s3", settings)
    lake.put_changes(
        s3,
        settings,
        [
            record(100 + i, f"S{i}", "2025-06-11T00:00:00Z", str(largest), str(smallest))
            for i in range(3)  # three of them: the sum needs 21 integer digits
        ],
    )
    compact(settings, s3)
    # THEN the lake holds them exactly and SQL sums them exactly
    answer = engines.sql(
        settings,
        "SELECT sum(energy_generated_kwh) AS g, sum(net_energy_kwh) AS n, min(energy_consumed_kwh) AS c FROM readings",
    )
    with localcontext(prec=50):
        assert answer.loc[0, "g"] == largest * 3 == Decimal("299999999999999999999.999999997")
        assert answer.loc[0, "n"] == (largest - smallest) * 3
    assert answer.loc[0, "c"] == smallest


def test_a_value_outside_decimal_38_9_is_refused_loudly_never_rounded() -> None:
    # validation stores such a value rounded to 9 decimals; should one ever reach the lake unrounded, it fails
    from energy_lib.compaction.tables import change_table

    lines = lake.change_lines([record(1, "A", "2025-06-11T00:00:00Z", "1.0000000001", "0")])["2025-06-11"]
    with pytest.raises(pa.ArrowInvalid):
        change_table(lines)


def test_an_empty_lake_is_an_empty_table(settings: Settings) -> None:
    answer = engines.sql(settings, "SELECT count(*) AS n, sum(energy_generated_kwh) AS g FROM readings")
    assert answer.loc[0, "n"] == 0 and answer["g"].isna().all()


def test_bad_sql_is_a_lake_error(settings: Settings) -> None:
    with pytest.raises(LakeError, match="nope"):
        engines.sql(settings, "SELECT nope FROM readings")


def test_a_query_over_some_days_opens_only_their_files(settings: Settings, tmp_path: Any) -> None:
    s3 = client("s3", settings)
    # GIVEN three days in the lake, and a day long before them whose file no engine can read
    changes = [record(n, "A", f"2025-06-{day}T12:00:00Z", str(n), "1") for n, day in enumerate(("10", "11", "12"), 1)]
    lake.put_changes(s3, settings, changes)
    compact(settings, s3)
    s3.put_object(Bucket=settings.bucket, Key=lake.day_file_key(settings, "2025-06-01"), Body=b"not parquet")
    local = tmp_path / "lake"
    for day in ("2025-06-01", "2025-06-10", "2025-06-11", "2025-06-12"):
        key = lake.day_file_key(settings, day)
        (local / key.removeprefix(settings.lake_prefix)).parent.mkdir(parents=True)
        s3.download_file(settings.bucket, key, str(local / key.removeprefix(settings.lake_prefix)))
    # WHEN the whole table is asked, it fails on that file; WHEN the days 11 and 12 are asked, it is never opened
    for lake_dir in (None, local):
        with pytest.raises(LakeError, match="2025-06-01"):
            engines.sql(settings, "SELECT count(*) AS n FROM readings", lake_dir)
        answer = engines.sql(
            settings,
            "SELECT day, count(*) AS n FROM readings GROUP BY 1 ORDER BY 1",
            lake_dir,
            days=("2025-06-11", "2025-06-12"),
        )
        assert answer.to_dict("records") == [{"day": "2025-06-11", "n": 1}, {"day": "2025-06-12", "n": 1}]
    # ... and so do the workbook's questions over a range, which name their days
    daily = queries.daily(settings, "2025-06-10T00:00:00Z", "2025-06-12T00:00:00Z")
    assert list(daily["day"]) == ["2025-06-10", "2025-06-11"] and list(daily["readings"]) == [1, 1]
    assert [row["timestamp"] for row in stores.lake_rows(settings, (INGESTED - 2 * ONE_DAY, INGESTED), ["A"])] == [
        "2025-06-10T12:00:00Z",
        "2025-06-11T12:00:00Z",
    ]
    # ... and days without a file are an empty table
    empty = engines.sql(settings, "SELECT count(*) AS n FROM readings", days=("2025-07-01", "2025-07-31"))
    assert empty.loc[0, "n"] == 0


# --- Athena as far as moto allows ---------------------------------------------------------------------


def athena_cells(table: pa.Table) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``table`` as Athena answers it: a header row, then text cells; the column list with Trino's types."""

    def column(field: pa.Field) -> dict[str, Any]:
        kind = field.type
        if pa.types.is_decimal(kind):
            return {"Name": field.name, "Type": "decimal", "Precision": kind.precision, "Scale": kind.scale}
        name = (
            "bigint"
            if pa.types.is_integer(kind)
            else "double"
            if pa.types.is_floating(kind)
            else "boolean"
            if pa.types.is_boolean(kind)
            else "timestamp"
            if pa.types.is_timestamp(kind)
            else "array"
            if pa.types.is_list(kind)
            else "varchar"
        )
        return {"Name": field.name, "Type": name, "Precision": 0, "Scale": 0}

    def cell(value: Any) -> dict[str, str]:
        if value is None:
            return {}
        if isinstance(value, bool):
            return {"VarCharValue": str(value).lower()}
        if isinstance(value, datetime):
            return {"VarCharValue": f"{value:%Y-%m-%d %H:%M:%S.000}"}
        if isinstance(value, list):
            return {"VarCharValue": "[" + ", ".join(value) + "]"}
        return {"VarCharValue": str(value)}

    header = [{"Data": [{"VarCharValue": name} for name in table.column_names]}]
    rows = [{"Data": [cell(value) for value in row.values()]} for row in table.to_pylist()]
    return header + rows, [column(field) for field in table.schema]


def test_athena_gets_the_sql_duckdb_ran_and_its_answer_is_the_same_dataframe(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3 = client("s3", settings)
    lake.put_changes(
        s3,
        settings,
        [
            record(100, "A", "2025-06-11T10:00:00Z", "12.345", "2.5"),
            record(101, "A", "2025-06-11T10:05:00Z", "-60", "1"),
            record(102, "B", "2025-07-02T10:00:00Z", "4", "9.75"),
        ],
    )
    compact(settings, s3)
    # GIVEN the answer DuckDB gives to the notebook's monthly query over the local bucket
    text = queries.monthly_sql("2025-06-01", "2025-08-01")
    expected = engines.duckdb_table(settings, text)
    assert expected.num_rows == 2
    # and moto's Athena primed with that answer as Athena would send it
    rows, columns = athena_cells(expected)
    body = json.dumps({"region": settings.region, "results": [{"rows": rows, "column_info": columns}]}).encode()
    request = urllib.request.Request(
        f"{settings.endpoint}/moto-api/static/athena/query-results", data=body, method="POST"
    )
    urllib.request.urlopen(request).close()
    # WHEN the same query runs on the aws target
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "moto")  # moto accepts any; not credentials
    on_aws = Settings(
        target="aws",
        endpoint_url=settings.endpoint,
        alerts_topic_arn=settings.topic_arn,
        glue_database=settings.glue_database,
        athena_workgroup=settings.athena_workgroup,
    )
    answer = engines.sql(on_aws, text)
    # THEN Athena got exactly that SQL, in the lake's workgroup and database
    athena = client("athena", settings)
    [execution_id] = athena.list_query_executions(WorkGroup=settings.athena_workgroup)["QueryExecutionIds"]
    execution = athena.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]
    assert execution["Query"] == text
    assert execution["QueryExecutionContext"]["Database"] == settings.glue_database
    # and the answer is the DataFrame DuckDB gives: same columns, types and exact values
    pd.testing.assert_frame_equal(answer, engines.to_frame(expected))
    assert answer.loc[0, "energy_generated_kwh"] == Decimal("12.345")
    assert answer.loc[0, "flagged_energy_generated_kwh"] == Decimal("-60")


def test_the_glue_table_declares_the_columns_the_parquet_files_have(settings: Settings) -> None:
    s3 = client("s3", settings)
    lake.put_changes(s3, settings, [record(100, "A", "2025-06-11T10:00:00Z", "1", "2")])
    compact(settings, s3)
    body = s3.get_object(Bucket=settings.bucket, Key=lake.day_file_key(settings, "2025-06-11"))["Body"].read()
    schema = pq.read_schema(io.BytesIO(body))
    table = client("glue", settings).get_table(DatabaseName=settings.glue_database, Name="readings")["Table"]
    glue = [column["Name"] for column in table["StorageDescriptor"]["Columns"]]
    assert glue == schema.names
    assert str(schema.field("energy_generated_kwh").type) == "decimal128(38, 9)"


def test_long_ranges_of_the_explorer_and_the_report_come_from_the_lake(settings: Settings) -> None:
    from energy_lib.rollups import COUNTERS
    from energy_lib.workbook.notebook import frames

    s3 = client("s3", settings)
    # GIVEN ten days of one site in the lake only (the tables are empty), one reading an anomaly
    lake.put_changes(
        s3,
        settings,
        [
            record(100 + day, "A", f"2025-06-{day:02d}T12:00:00Z", "-20" if day == 5 else "3.5", "1")
            for day in range(1, 11)
        ],
    )
    compact(settings, s3)
    # WHEN the explorer and the report ask for more than a week
    readings = frames.readings(settings, "A", "2025-06-01", "2025-06-15")
    anomalies = frames.anomalies(settings, "A", "2025-06-01", "2025-06-15")
    hourly = frames.hourly(settings, "2025-06-01", "2025-06-15")
    # THEN they get the lake's readings in the tables' columns and units
    assert list(readings.columns) == list(frames.READING_COLUMNS) and len(readings) == 10
    assert readings["energy_generated_kwh"].sum() == pytest.approx(9 * 3.5 - 20)
    assert str(readings["timestamp"].dt.tz) == "UTC"
    assert anomalies[["anomaly_reasons", "severity"]].values.tolist() == [["negative_generation", "MEDIUM"]]
    assert list(hourly.columns) == ["site_id", "hour_start", *COUNTERS] and hourly["readings"].sum() == 10
    assert hourly["anomalies"].dtype.kind == "i"
    # readings older than the hot window come from the lake whatever the range's length; without a hot window
    # every range of readings is DynamoDB's (empty here)
    assert len(frames.readings(settings, "A", "2025-06-01", "2025-06-08")) == 7
    assert frames.readings(replace(settings, readings_ttl_days=0), "A", "2025-06-01", "2025-06-08").empty


def test_backfill_brings_readings_stored_before_the_capture_and_the_stream_still_wins(settings: Settings) -> None:
    from energy_lib.aggregator import handle_stream_event
    from energy_lib.workbook import simulator
    from energy_lib.workbook.lake import admin
    from tests.integration.harness import Pipeline, lake_readings, put, real_handlers, table_readings

    # GIVEN a day of 3 sites stored by a pipeline whose aggregator did not capture yet (before the upgrade)
    dynamodb, s3 = client("dynamodb", settings), client("s3", settings)
    pipeline = Pipeline(
        settings, aggregator=lambda event, _: handle_stream_event(event, dynamodb, settings.rollups_table)
    )
    run = simulator.simulate(simulator.default_fleet(3), INGESTED, 24, 15, seed=9)
    files = simulator.to_files(run)
    for f in files:
        put(settings, f.key, f.body)
    pipeline.drain()
    assert lake_readings(settings) == []
    # WHEN the lake is backfilled, and meanwhile a newer version of one file arrives through the upgraded
    # aggregator (its change object is written after the backfill's, and both wait for the same compaction)
    assert admin.backfill(settings) == {"sites": 3, "change_objects": 3, "readings": 3 * 96}
    _, pipeline.stream.handler = real_handlers(settings)
    rows = json.loads(files[0].body, parse_float=Decimal)
    newer = (
        "["
        + ",\n".join(
            f'{{"site_id": "{r["site_id"]}", "timestamp": "{r["timestamp"]}", "energy_generated_kwh": '
            f'{r["energy_generated_kwh"]}, "energy_consumed_kwh": {r["energy_consumed_kwh"] + 1}}}'
            for r in rows
        )
        + "]"
    )
    put(settings, files[0].key, newer.encode())
    pipeline.drain()
    compact(settings, s3)
    # THEN the lake equals the readings table: the stream's newer values won over the backfill's older ones
    in_lake = lake_readings(settings)
    assert in_lake == table_readings(settings) and len(in_lake) == 3 * 96
    first_site = [row for row in in_lake if row["site_id"] == rows[0]["site_id"]]
    assert [row["energy_consumed_kwh"] for row in first_site] == [r["energy_consumed_kwh"] + 1 for r in rows]
    # AND a second backfill changes nothing
    admin.backfill(settings)
    compact(settings, s3)
    assert lake_readings(settings) == in_lake
