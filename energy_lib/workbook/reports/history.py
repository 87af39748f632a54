"""The run history: one Parquet table of every finished run with its figures, next to the reports.

A row per run: ``run_id``, ``notebook``, ``entry`` (the schedule entry; null for a run on demand), ``every``,
``period_start``/``period_end`` (UTC), ``parameters`` (JSON text), ``status``, ``reason``, ``error``,
``failed_cell``, ``started_utc``, ``finished_utc``, ``duration_s``, ``timeout_s``, ``attempts``, ``figures``
(a map of name to float64), ``alert`` (the kind of alert the run published), ``ipynb`` and ``html`` (where the
kept files are: relative to the reports folder, or ``s3://`` URLs on AWS).

Where: ``<reports_dir>/history.parquet`` on the local target, and ``s3://<bucket>/<reports_prefix>history.parquet``
on AWS. A run adds its row by reading the table, replacing or appending its row and writing it back; writers
take turns: locally under an exclusive ``flock``, on S3 with a conditional write (``If-Match`` the ETag read,
``If-None-Match`` for the first), read again when another writer came first. So no run is lost when runs end
at the same time.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from energy_lib import timeutil
from energy_lib.config import Settings
from energy_lib.workbook.reports.records import ReportError, RunRecord, file_lock, write_bytes

if TYPE_CHECKING:
    import pyarrow as pa

HISTORY_FILE = "history.parquet"
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
TIMES = ("period_start", "period_end", "started_utc", "finished_utc")  # the columns of UTC times
WRITE_TURNS = 20  # conditional writes tried before giving up (each loses only to a writer that succeeded)


def schema() -> pa.Schema:
    import pyarrow as pa

    moment = pa.timestamp("ms", tz="UTC")
    return pa.schema(
        [
            ("run_id", pa.string()),
            ("notebook", pa.string()),
            ("entry", pa.string()),
            ("every", pa.string()),
            ("period_start", moment),
            ("period_end", moment),
            ("parameters", pa.string()),
            ("status", pa.string()),
            ("reason", pa.string()),
            ("error", pa.string()),
            ("failed_cell", pa.int32()),
            ("started_utc", moment),
            ("finished_utc", moment),
            ("duration_s", pa.float64()),
            ("timeout_s", pa.float64()),
            ("attempts", pa.int32()),
            ("figures", pa.map_(pa.string(), pa.float64())),
            ("alert", pa.string()),
            ("ipynb", pa.string()),
            ("html", pa.string()),
        ]
    )


def _moment(text: Any) -> datetime | None:
    return timeutil.utc(text) if text else None


def row_of(record: RunRecord, reports_dir: str | os.PathLike[str], kept: Mapping[str, str] | None = None) -> dict:
    """The history row of a finished run; ``kept`` names where its files are when not under ``reports_dir``
    (``ipynb``, ``html``: S3 URLs on AWS)."""
    schedule = record.schedule or {}
    paths = record.to_json(reports_dir)["paths"]
    where = {"ipynb": paths["ipynb"], "html": paths["html"], **(kept or {})}
    return {
        "run_id": record.run_id,
        "notebook": record.notebook,
        "entry": schedule.get("entry"),
        "every": schedule.get("every"),
        "period_start": _moment(schedule.get("period_start")),
        "period_end": _moment(schedule.get("period_end")),
        "parameters": json.dumps(record.parameters, sort_keys=True, default=str),
        "status": record.status,
        "reason": record.reason,
        "error": record.error,
        "failed_cell": record.failed_cell,
        "started_utc": record.started_utc,
        "finished_utc": record.finished_utc,
        "duration_s": record.duration_s,
        "timeout_s": record.timeout_s,
        "attempts": record.attempts,
        "figures": record.figures,
        "alert": (record.alert or {}).get("kind"),
        "ipynb": where["ipynb"],
        "html": where["html"],
    }


def to_parquet(rows: Sequence[Mapping[str, Any]]) -> bytes:
    """The history table of ``rows`` as Parquet bytes, oldest run first."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    ordered = sorted(rows, key=lambda row: (row["started_utc"], row["run_id"]))
    table = pa.Table.from_pylist(
        [{**row, "figures": list((row.get("figures") or {}).items())} for row in ordered], schema=schema()
    )
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


def from_parquet(data: bytes, notebook: str | None = None, since: datetime | None = None) -> list[dict[str, Any]]:
    """The rows of a history table (figures as a dict, times as UTC datetimes), oldest run first: of ``notebook``
    (a notebook or a schedule entry), started at or after ``since``. Filtered in Arrow, so only the rows asked for
    become Python objects; times become datetimes from epoch milliseconds (pyarrow's own conversion costs ten
    times more)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from energy_lib.compaction.days import read_parquet

    table = read_parquet(data)
    if notebook is not None:
        table = table.filter(pc.or_kleene(pc.equal(table["notebook"], notebook), pc.equal(table["entry"], notebook)))
    if since is not None:
        table = table.filter(
            pc.greater_equal(table["started_utc"], pa.scalar(timeutil.as_utc(since), table["started_utc"].type))
        )
    columns = {}
    for name in table.column_names:
        if name in TIMES:
            columns[name] = [
                None if ms is None else EPOCH + timedelta(milliseconds=ms)
                for ms in table[name].cast(pa.int64()).to_pylist()
            ]
        elif name == "figures":
            columns[name] = [dict(pairs or []) for pairs in table[name].to_pylist()]
        else:
            columns[name] = table[name].to_pylist()
    return [dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)]


def upserted(rows: Sequence[Mapping[str, Any]], new: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` with each of ``new`` in place of the row of the same run, or added."""
    replacing = {row["run_id"]: dict(row) for row in new}
    kept = [dict(row) for row in rows if row["run_id"] not in replacing]
    return sorted([*kept, *replacing.values()], key=lambda row: (row["started_utc"], row["run_id"]))


@dataclass(frozen=True, slots=True)
class HistoryStore:
    """Where the history table is: a file (``path``), or an S3 object (``bucket``, ``key``, ``s3`` client)."""

    path: Path | None = None
    bucket: str = ""
    key: str = ""
    s3: Any = None

    @classmethod
    def of(cls, settings: Settings | None, reports_dir: str | os.PathLike[str]) -> HistoryStore:
        """The history of ``settings``' target: S3 under the reports prefix on AWS, else next to the reports."""
        if settings is not None and settings.target == "aws":
            from energy_lib.clients import client

            return cls(
                bucket=settings.bucket, key=f"{settings.reports_prefix}{HISTORY_FILE}", s3=client("s3", settings)
            )
        return cls(path=Path(reports_dir) / HISTORY_FILE)

    @property
    def where(self) -> str:
        return str(self.path) if self.path is not None else f"s3://{self.bucket}/{self.key}"

    def _read_bytes(self) -> tuple[bytes | None, str | None]:
        """(the table's Parquet, the ETag of the object read); (None, None) when there is no table yet."""
        if self.path is not None:
            return (self.path.read_bytes(), "") if self.path.is_file() else (None, None)
        try:
            answer = self.s3.get_object(Bucket=self.bucket, Key=self.key)
        except ClientError as error:
            if error.response["Error"]["Code"] in {"NoSuchKey", "404"}:
                return None, None
            raise
        return answer["Body"].read(), answer["ETag"]

    def _read(self) -> tuple[list[dict[str, Any]], str | None]:
        """(rows, ETag of the object read: None when there is none yet; "" for a file)."""
        data, etag = self._read_bytes()
        return ([] if data is None else from_parquet(data)), etag

    def rows(self, notebook: str | None = None, since: datetime | None = None) -> list[dict[str, Any]]:
        """The runs in the table, oldest first: of ``notebook`` (its name, or a schedule entry's), started at
        or after ``since``."""
        data, _ = self._read_bytes()
        return [] if data is None else from_parquet(data, notebook, since)

    def add(self, new: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Put the rows ``new`` into the table (replacing rows of the same runs); returns every row after."""
        if self.path is not None:
            with file_lock(self.path.with_name(f".{self.path.name}.lock")):
                rows = upserted(self._read()[0], new)
                write_bytes(self.path, to_parquet(rows))
            return rows
        for _turn in range(WRITE_TURNS):
            current, etag = self._read()
            rows = upserted(current, new)
            condition = {"IfNoneMatch": "*"} if etag is None else {"IfMatch": etag}
            try:
                self.s3.put_object(Bucket=self.bucket, Key=self.key, Body=to_parquet(rows), **condition)
            except ClientError as error:
                if error.response["Error"]["Code"] not in {"PreconditionFailed", "ConditionalRequestConflict"}:
                    raise
                continue  # another run wrote first: read its table and add ours again
            return rows
        raise ReportError(f"could not write {self.where}: {WRITE_TURNS} other writers came first")


def as_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """A history row for ``report history --json``: times as ISO-8601 UTC text, parameters as an object."""
    return {
        **row,
        **{
            name: timeutil.format_timestamp(row[name]) if row[name] is not None else None
            for name in ("period_start", "period_end", "started_utc", "finished_utc")
        },
        "parameters": json.loads(row["parameters"]) if row["parameters"] else {},
    }
