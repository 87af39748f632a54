"""One query function, two engines: :func:`sql` runs the same SQL with DuckDB (local target, or any
local copy of the lake) or with Athena (AWS target), and returns the same DataFrame.

What differs between the two is hidden here:

- the table ``readings`` is a DuckDB view over the Parquet files (``day`` read from the path as text,
  like the Glue table's partition column) or the Glue table of that name in the workgroup's database;
- DuckDB reads the local stack's S3 through its httpfs extension, loaded from the
  ``duckdb-extension-httpfs`` package (nothing is downloaded at run time);
- Athena's answer (text cells and a column list) is typed back into Arrow, so both engines give the same
  columns: decimals as exact ``Decimal``, counts as integers, timestamps as UTC.

Write SQL both engines speak (Trino and DuckDB share most of it): double-quote ``"timestamp"``, use
``date_trunc``, ``CAST``, ``FILTER (WHERE ...)``, ``TIMESTAMP '2025-06-11 00:00:00'``, and
``CAST(x AS DOUBLE)`` before ``avg`` (Trino averages decimals as decimals, DuckDB as doubles). On Athena,
constrain ``day`` in every query: partition projection spans the years the pipeline keeps.
"""

from __future__ import annotations

import time
from decimal import Decimal
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from energy_lib import lake
from energy_lib.clients import client
from energy_lib.compaction.tables import SCHEMA
from energy_lib.config import LOCAL_ACCESS_KEY, Settings
from energy_lib.errors import LakeError, LakeQueryError

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

DUCKDB_THREADS = 2
ATHENA_FINAL = ("SUCCEEDED", "FAILED", "CANCELLED")
ATHENA_POLL_S = (0.2, 2.0)  # first and longest pause between looks at a running query
ATHENA_USER_ERROR = 2  # AthenaError.ErrorCategory of a query the asker got wrong (1: system, 3: other)


Days = tuple[str, str]  # the first and the last UTC day (``YYYY-MM-DD``) a query reads, both included


def sql(settings: Settings, query: str, lake_dir: str | Path | None = None, days: Days | None = None) -> pd.DataFrame:
    """Run ``query`` over the lake's table ``readings`` and return the answer as a DataFrame.

    DuckDB reads ``lake_dir`` when given (a folder with the lake's layout: ``readings/day=*/*.parquet``),
    else the local stack's bucket; on the AWS target without ``lake_dir`` the query runs on Athena. With ``days``
    DuckDB's table holds those days' files only (a query that names its days opens only them anyway; the table
    over every file reads each file's schema whenever a query is planned, a second per thousand days).
    """
    if lake_dir is None and settings.target == "aws":
        return to_frame(athena(settings, query))
    return to_frame(duckdb_table(settings, query, lake_dir, days))


# --- DuckDB -----------------------------------------------------------------------------------------


def httpfs_extension() -> Path:
    """The httpfs extension file that the ``duckdb-extension-httpfs`` package ships for this DuckDB."""
    import duckdb_extension_httpfs

    path = (
        Path(duckdb_extension_httpfs.__file__).parent
        / "extensions"
        / f"v{version('duckdb')}"
        / "httpfs.duckdb_extension"
    )
    if not path.is_file():
        raise LakeError(f"{path} is missing: install duckdb-extension-httpfs of the same version as duckdb")
    return path


@lru_cache(maxsize=8)
def _database(settings: Settings, lake_dir: str | None, threads: int) -> duckdb.DuckDBPyConnection:
    """One DuckDB database per lake for the process: its file cache keeps what earlier queries read
    (validated against each file's ETag or modification time before use)."""
    import duckdb

    database = duckdb.connect(
        config={"threads": threads, "autoinstall_known_extensions": False, "autoload_known_extensions": False}
    )
    if lake_dir is None:
        database.execute(f"LOAD {_text(str(httpfs_extension()))}")
        endpoint = (settings.endpoint or "").removeprefix("http://")
        key = _text(LOCAL_ACCESS_KEY)  # moto accepts any key; a placeholder, not a credential
        database.execute(
            f"CREATE SECRET lake (TYPE s3, KEY_ID {key}, SECRET {key}, REGION {_text(settings.region)}, "
            f"ENDPOINT {_text(endpoint)}, URL_STYLE 'path', USE_SSL false)"
        )
    return database


def connect(
    settings: Settings, lake_dir: str | Path | None = None, threads: int = DUCKDB_THREADS, days: Days | None = None
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the view ``readings`` over the lake (``lake_dir`` or the local bucket); with
    ``days``, over those days' files only."""
    connection = _database(settings, None if lake_dir is None else str(lake_dir), threads).cursor()
    if days is not None:
        files = _day_files(settings, lake_dir, days)
        found, source = bool(files), "[" + ", ".join(_text(file) for file in files) + "]"
    elif lake_dir is not None:
        readings = Path(lake_dir) / lake.READINGS
        found = any(readings.glob("day=*/*.parquet"))
        source = _text(f"{readings.as_posix()}/day=*/*.parquet")
    else:
        prefix = lake.readings_prefix(settings)
        listing = client("s3", settings).list_objects_v2(Bucket=settings.bucket, Prefix=prefix, MaxKeys=1)
        found = bool(listing.get("KeyCount"))
        source = _text(f"s3://{settings.bucket}/{prefix}day=*/*.parquet")
    if found:  # by name: day files written before a column existed (``rounded``) read it as NULL
        connection.execute(
            f"CREATE TEMP VIEW {lake.TABLE} AS SELECT * FROM read_parquet({source}, hive_partitioning = true, "
            f"hive_types = {{'{lake.PARTITION[0]}': 'VARCHAR'}}, union_by_name = true)"
        )
    else:  # an empty lake is an empty table, not an error
        connection.register(
            f"{lake.TABLE}_empty", SCHEMA.append(pa.field(lake.PARTITION[0], pa.string())).empty_table()
        )
        connection.execute(f"CREATE TEMP VIEW {lake.TABLE} AS SELECT * FROM {lake.TABLE}_empty")
    return connection


def _day_files(settings: Settings, lake_dir: str | Path | None, days: Days) -> list[str]:
    """The Parquet files of the days ``days`` spans, in the folder ``lake_dir`` or the local bucket (one listing
    from the first day on)."""
    first, last = days
    if lake_dir is not None:
        folders = sorted((Path(lake_dir) / lake.READINGS).glob("day=*"))
        chosen = [folder for folder in folders if first <= folder.name.removeprefix("day=") <= last]
        return [file.as_posix() for folder in chosen for file in sorted(folder.glob("*.parquet"))]
    prefix = f"{lake.readings_prefix(settings)}day="
    pages = client("s3", settings).get_paginator("list_objects_v2")
    files = []
    for page in pages.paginate(Bucket=settings.bucket, Prefix=prefix, StartAfter=f"{prefix}{first}"):
        for listed in page.get("Contents", []):
            day, _, name = listed["Key"].removeprefix(prefix).partition("/")
            if day > last:
                return files
            if name.endswith(".parquet") and "/" not in name:
                files.append(f"s3://{settings.bucket}/{listed['Key']}")
    return files


def _text(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def duckdb_table(
    settings: Settings, query: str, lake_dir: str | Path | None = None, days: Days | None = None
) -> pa.Table:
    import duckdb

    try:
        connection = connect(settings, lake_dir, days=days)  # the view over the day files reads their schema
    except duckdb.Error as error:
        raise LakeError(f"DuckDB: {one_line(str(error))}") from error
    try:
        return connection.execute(query).to_arrow_table()
    except duckdb.Error as error:
        # the query's own mistake (syntax, names, conversions), not the lake's (a file it cannot read)
        mistake = isinstance(error, duckdb.ProgrammingError | duckdb.DataError)
        refused = mistake and not isinstance(error, duckdb.InvalidInputException)
        raise (LakeQueryError if refused else LakeError)(f"DuckDB: {one_line(str(error))}") from error
    finally:
        connection.close()


def one_line(message: str) -> str:
    """An engine's message on one line: its lines joined, the caret line that points into the query left out."""
    lines = (line.strip() for line in message.splitlines())
    return " ".join(line for line in lines if line and set(line) != {"^"})


# --- Athena -----------------------------------------------------------------------------------------


def athena(settings: Settings, query: str) -> pa.Table:
    """Run ``query`` in the lake's workgroup and database; the answer as an Arrow table."""
    athena_client = client("athena", settings)
    execution_id = athena_client.start_query_execution(
        QueryString=query,
        WorkGroup=settings.athena_workgroup,
        QueryExecutionContext={"Database": settings.glue_database},
    )["QueryExecutionId"]
    pause = ATHENA_POLL_S[0]
    while True:  # a running query answers later, never "dead": Athena itself ends it at its time limit
        status = athena_client.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]["Status"]
        if status["State"] in ATHENA_FINAL:
            break
        time.sleep(pause)
        pause = min(pause * 2, ATHENA_POLL_S[1])
    if status["State"] != "SUCCEEDED":
        refused = status.get("AthenaError", {}).get("ErrorCategory") == ATHENA_USER_ERROR
        message = f"Athena query {execution_id} {status['State']}: {one_line(status.get('StateChangeReason', ''))}"
        raise (LakeQueryError if refused else LakeError)(message)
    return athena_results(athena_client, execution_id)


def athena_results(client: Any, execution_id: str) -> pa.Table:
    """Every page of a query's results, typed by its column list (the first row repeats the names)."""
    columns: list[dict[str, Any]] = []
    rows: list[list[str | None]] = []
    for page in client.get_paginator("get_query_results").paginate(QueryExecutionId=execution_id):
        result = page["ResultSet"]
        columns = columns or result["ResultSetMetadata"]["ColumnInfo"]
        rows += [[cell.get("VarCharValue") for cell in row["Data"]] for row in result["Rows"]]
    if rows and columns and rows[0] == [column["Name"] for column in columns]:
        rows = rows[1:]
    return pa.table(
        {column["Name"]: _athena_array(column, [row[i] for row in rows]) for i, column in enumerate(columns)}
    )


def _athena_array(column: dict[str, Any], cells: list[str | None]) -> pa.Array:
    kind = column["Type"].lower()
    if kind == "decimal":
        return pa.array(
            [None if c is None else Decimal(c) for c in cells], pa.decimal128(column["Precision"], column["Scale"])
        )
    if kind in ("bigint", "integer", "smallint", "tinyint"):
        return pa.array([None if c is None else int(c) for c in cells], pa.int64())
    if kind in ("double", "float", "real"):
        return pa.array([None if c is None else float(c) for c in cells], pa.float64())
    if kind == "boolean":
        return pa.array([None if c is None else c == "true" for c in cells], pa.bool_())
    if kind == "timestamp":
        return pa.array(cells, pa.string()).cast(pa.timestamp("us"))  # as DuckDB answers
    if kind == "date":
        return pa.array(cells, pa.string()).cast(pa.date32())
    if kind == "array":
        return pa.array([None if c is None else _athena_list(c) for c in cells], pa.list_(pa.string()))
    return pa.array(cells, pa.string())


def _athena_list(text: str) -> list[str]:
    """``[a, b]`` (how Athena writes an array of strings) as ``["a", "b"]``."""
    inner = text.strip()[1:-1]
    return [item.strip() for item in inner.split(",")] if inner.strip() else []


# --- both ---------------------------------------------------------------------------------------------


def to_frame(table: pa.Table) -> pd.DataFrame:
    """An Arrow answer as a DataFrame: decimals stay exact ``Decimal`` objects, timestamps become UTC."""
    frame = table.to_pandas()
    for field in table.schema:
        if pa.types.is_timestamp(field.type):
            column = frame[field.name]
            frame[field.name] = column.dt.tz_localize("UTC") if field.type.tz is None else column.dt.tz_convert("UTC")
        elif pa.types.is_integer(field.type) and frame[field.name].dtype.kind == "f":
            frame[field.name] = frame[field.name].astype("Int64")  # integers with missing values stay integers
    return frame


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of an answer as plain values for JSON: Decimals stay Decimals, times ISO-8601, missing None."""
    import pandas as pd

    def plain(value: Any) -> Any:
        if isinstance(value, pd.Timestamp):
            return value.isoformat().replace("+00:00", "Z")
        if hasattr(value, "tolist"):  # numpy scalars and arrays (lists of reasons)
            return value.tolist()
        return None if value is None or (not isinstance(value, (str, Decimal, list)) and pd.isna(value)) else value

    return [{name: plain(value) for name, value in row.items()} for row in frame.to_dict("records")]
