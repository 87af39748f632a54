"""The record of a report run (its ``run.json``), the errors of the report runner, and the runs on disk.

A run of notebook ``NAME`` lives in ``<reports_dir>/NAME/<run-id>/``:

- ``NAME.ipynb``: the executed notebook (papermill output, kept also when a cell failed);
- ``NAME.html``: the same without code cells, openable from disk with no network (see
  :mod:`energy_lib.workbook.notebook.display` for how charts embed plotly.js once);
- ``run.json``: notebook, parameters (every value the run used: the notebook's defaults and the
  ``overrides``), started/finished UTC, duration, status (``running``, ``succeeded`` or ``failed``), error,
  the host and pid that ran it, paths relative to ``reports_dir``, and for a scheduled run its entry and
  period; and what running unattended adds: the time limit, the attempts, a failed run's ``reason`` (see
  :data:`REASONS`), failing cell and first lines of its error, the figures the notebook recorded
  (:mod:`.figures`) and the alert it published (:mod:`.alerts`). A ``running`` run whose process has ended
  on this host is listed as failed, reason ``abandoned``.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from energy_lib import timeutil
from energy_lib.errors import EnergyError
from energy_lib.workbook.local.processes import pid_alive

RUN_FILE = "run.json"
RUNNING, SUCCEEDED, FAILED = "running", "succeeded", "failed"
# Why a run failed: a cell raised; it ran past its time limit; its kernel died; a transient AWS error outlasted
# the retries; it was interrupted (Ctrl-C); its HTML export broke; its process ended before it finished (seen
# afterwards); anything else (the kernel did not start).
REASONS = (
    "cell_error",
    "timeout",
    "kernel_died",
    "aws_transient",
    "interrupted",
    "export_failed",
    "abandoned",
    "error",
)


class ReportError(EnergyError):
    """A report cannot be started: unknown notebook, bad parameter, bad schedule file."""


class ParameterError(ReportError):
    """A parameter value the notebook's declaration refuses (or a name it does not declare); nothing ran.
    The message is one line, the same from the command line, the schedule and the dashboard."""


class ReportBusy(ReportError):
    """Another :func:`run_due` is running on the same reports directory; nothing was run."""


class ReportFailed(ReportError):
    """One or more runs failed; their notebooks, HTML, run.json and the index are written.

    ``failed`` lists the failed runs, ``runs`` every run of the call (for :func:`run_due`, also the good
    ones), ``not_started`` the scheduled entries that could not start (bad parameter, missing notebook).
    ``record`` is the first failed run, or None.
    """

    def __init__(
        self, failed: list[RunRecord], runs: list[RunRecord] | None = None, not_started: list[str] | None = None
    ) -> None:
        self.failed = list(failed)
        self.runs = list(runs) if runs is not None else list(failed)
        self.not_started = list(not_started or [])
        self.record = self.failed[0] if self.failed else None
        details = [f"{r.notebook} {r.run_id}: {r.error}" for r in self.failed] + self.not_started
        super().__init__(f"{len(self.failed) + len(self.not_started)} report run(s) failed: " + "; ".join(details))


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One run of a notebook, as written to its ``run.json``. Paths are absolute."""

    run_id: str
    notebook: str
    parameters: dict[str, Any]
    status: str  # running | succeeded | failed
    started_utc: datetime
    finished_utc: datetime | None
    error: str | None
    run_dir: Path
    ipynb: Path
    html: Path | None
    schedule: dict[str, Any] | None = field(default=None)
    overrides: tuple[str, ...] = ()  # the parameters given for this run; the rest are the notebook's defaults
    duration_s: float | None = None
    host: str = ""
    pid: int = 0
    timeout_s: float | None = None  # the time the run was allowed [s]
    attempts: int = 1  # runs of the notebook: more than one after transient AWS errors
    reason: str | None = None  # a failed run's reason, one of REASONS
    failed_cell: int | None = None  # index of the cell that failed (in the executed notebook)
    error_lines: tuple[str, ...] = ()  # the first lines of the failing cell's error, without colours
    figures: dict[str, float | None] = field(default_factory=dict)  # recorded by the notebook
    alert: dict[str, Any] | None = None  # kind and message id of the alert published for it, or its error

    @property
    def streak_key(self) -> str:
        """What failures are counted by: the schedule entry, or the notebook for a run on demand."""
        return str((self.schedule or {}).get("entry") or self.notebook)

    def finished(self, status: str, error: str | None, html: Path | None = None) -> RunRecord:
        """This run, ended now with ``status``."""
        now = timeutil.now()
        duration_s = round((now - self.started_utc).total_seconds(), 3)
        return replace(self, status=status, error=error, finished_utc=now, duration_s=duration_s, html=html)

    def abandoned(self) -> bool:
        """True for a ``running`` run whose process on this host has ended (killed, machine restarted)."""
        return self.status == RUNNING and self.host == socket.gethostname() and not pid_alive(self.pid)

    def to_json(self, reports_dir: str | os.PathLike[str]) -> dict[str, Any]:
        """The ``run.json`` document; paths relative to ``reports_dir``, with ``/``."""
        base = Path(reports_dir).resolve()

        def rel(path: Path | None) -> str | None:
            return None if path is None else path.resolve().relative_to(base).as_posix()

        return {
            "run_id": self.run_id,
            "notebook": self.notebook,
            "parameters": self.parameters,
            "overrides": list(self.overrides),
            "status": self.status,
            "error": self.error,
            "started_utc": timeutil.format_timestamp(self.started_utc),
            "finished_utc": timeutil.format_timestamp(self.finished_utc) if self.finished_utc else None,
            "duration_s": self.duration_s,
            "paths": {"run_dir": rel(self.run_dir), "ipynb": rel(self.ipynb), "html": rel(self.html)},
            "schedule": self.schedule,
            "host": self.host,
            "pid": self.pid,
            "timeout_s": self.timeout_s,
            "attempts": self.attempts,
            "reason": self.reason,
            "failed_cell": self.failed_cell,
            "error_lines": list(self.error_lines),
            "figures": self.figures,
            "alert": self.alert,
        }

    @classmethod
    def from_json(cls, document: Mapping[str, Any], reports_dir: str | os.PathLike[str]) -> RunRecord:
        base = Path(reports_dir).resolve()
        paths = document.get("paths") or {}
        finished = document.get("finished_utc")
        return cls(
            run_id=document["run_id"],
            notebook=document["notebook"],
            parameters=dict(document.get("parameters") or {}),
            status=document.get("status") or FAILED,
            started_utc=timeutil.utc(document["started_utc"]),
            finished_utc=timeutil.utc(finished) if finished else None,
            error=document.get("error"),
            run_dir=base / paths["run_dir"],
            ipynb=base / paths["ipynb"],
            html=base / paths["html"] if paths.get("html") else None,
            schedule=document.get("schedule"),
            overrides=tuple(document.get("overrides") or ()),
            duration_s=document.get("duration_s"),
            host=document.get("host") or "",
            pid=int(document.get("pid") or 0),
            timeout_s=document.get("timeout_s"),
            attempts=int(document.get("attempts") or 1),
            reason=document.get("reason") or ("error" if document.get("status") == FAILED else None),
            failed_cell=document.get("failed_cell"),
            error_lines=tuple(document.get("error_lines") or ()),
            figures=dict(document.get("figures") or {}),
            alert=document.get("alert"),
        )

    def write(self, reports_dir: str | os.PathLike[str]) -> Path:
        path = self.run_dir / RUN_FILE
        write_text(path, json.dumps(self.to_json(reports_dir), indent=2, default=str) + "\n")
        return path


def write_bytes(path: Path, data: bytes) -> None:
    """Write through a temporary file and rename, so a reader never sees half a file."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(data)
    temporary.replace(path)


def write_text(path: Path, text: str) -> None:
    """:func:`write_bytes` of ``text`` in UTF-8."""
    write_bytes(path, text.encode("utf-8"))


@contextlib.contextmanager
def file_lock(lock_path: Path, wait: bool = True) -> Iterator[None]:
    """Hold an exclusive lock on ``lock_path`` (POSIX ``flock``; elsewhere no lock): waiting for it, or with
    ``wait`` False raising BlockingIOError when another process holds it."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+") as handle:
        try:
            import fcntl
        except ImportError:  # not POSIX: callers are not kept apart
            yield
            return
        fcntl.flock(handle, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def list_runs(reports_dir: str | os.PathLike[str] = "reports") -> list[RunRecord]:
    """Every run with a readable run.json under ``reports_dir``, newest first."""
    reports = Path(reports_dir)
    records = []
    for path in reports.glob(f"*/*/{RUN_FILE}"):
        try:
            record = RunRecord.from_json(json.loads(path.read_text(encoding="utf-8")), reports)
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if record.abandoned():
            record = replace(
                record,
                status=FAILED,
                reason="abandoned",
                error=f"the run's process (pid {record.pid}) ended before it finished",
            )
        records.append(record)
    return sorted(records, key=lambda r: (r.started_utc, r.run_id), reverse=True)
