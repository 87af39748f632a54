"""The schedule: which notebook runs when with which parameters, and running what is due.

``schedule.toml`` holds ``[[report]]`` tables::

    [[report]]
    notebook = "04-report-business"        # a name in the notebooks dir (or a path to an .ipynb)
    every = "daily"                        # hourly | daily | weekly | monthly (UTC; weeks start on Monday)
    name = "business-daily"                # optional; tells apart two entries of one notebook and every
    timeout_s = 900                        # optional; seconds the run may take (default: the top-level
                                           # timeout_s, else Settings.report_timeout_s)
    [report.parameters]                    # optional; strings may hold {placeholders}
    start_utc = "{previous_day_start}"
    end_utc = "{previous_day_end}"

An entry is due when no run of it (running, succeeded or failed) exists for the period of ``now`` (the hour,
day or week that contains it), so running what is due twice in one period runs nothing the second time.
Placeholders are filled when the entry is due, as ISO-8601 UTC ``2025-06-11T00:00:00Z``, or with a
``strftime`` format after a colon (``{previous_day_start:%Y-%m-%d}``); ``{{`` and ``}}`` are literal braces.
Ends are exclusive, as in :mod:`energy_lib.query` (``previous_day_end`` is today's midnight). Names:

- ``now``;
- ``period_start``, ``period_end``, ``previous_period_start``, ``previous_period_end``: the entry's own period
  (hour, day, week or month) containing ``now``, and the one before;
- ``hour_start``/``_end``, ``day_start``/``_end``, ``week_start``/``_end``, ``month_start``/``_end``: the hour,
  day, week, month containing ``now``, and each with a ``previous_`` prefix (``previous_day_start`` …) for the
  one before.
"""

from __future__ import annotations

import contextlib
import os
import string
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from energy_lib import timeutil
from energy_lib.config import Settings
from energy_lib.workbook.reports.parameters import plain, resolve_notebook, validate_parameters
from energy_lib.workbook.reports.records import (
    ReportBusy,
    ReportError,
    ReportFailed,
    RunRecord,
    file_lock,
    list_runs,
)
from energy_lib.workbook.reports.runs import run_report

EVERY = ("hourly", "daily", "weekly", "monthly")


def _aware(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive datetime is refused (which zone would it be?)."""
    if moment.tzinfo is None:
        raise ReportError(f"expected a timezone-aware datetime, got {moment!r}")
    return timeutil.as_utc(moment)


def period_bounds(every: str, now: datetime) -> tuple[datetime, datetime]:
    """``[start, end)`` of the hour, UTC day, ISO week (Monday 00:00 UTC) or UTC month that contains ``now``."""
    moment = _aware(now)
    if every == "hourly":
        start = moment.replace(minute=0, second=0, microsecond=0)
        return start, start + timedelta(hours=1)
    if every == "daily":
        start = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        return start, start + timedelta(days=1)
    if every == "weekly":
        start = moment.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=moment.weekday())
        return start, start + timedelta(weeks=1)
    if every == "monthly":
        start = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        return start, (start + timedelta(days=32)).replace(day=1)
    raise ReportError(f"every must be one of {list(EVERY)}, not {every!r}")


class _Stamp(datetime):
    """A UTC datetime that formats as ISO-8601 ``...Z`` by default, or with a strftime spec."""

    def __format__(self, spec: str) -> str:
        return self.strftime(spec) if spec else timeutil.format_timestamp(self)


def _stamp(moment: datetime) -> _Stamp:
    m = _aware(moment)
    return _Stamp(m.year, m.month, m.day, m.hour, m.minute, m.second, m.microsecond, tzinfo=timezone.utc)


def template_context(now: datetime, every: str | None = None) -> dict[str, datetime]:
    """The values of schedule placeholders at ``now`` (see the module docstring); ``period_*`` need ``every``."""
    context: dict[str, datetime] = {"now": _stamp(now)}
    units = {"hour": "hourly", "day": "daily", "week": "weekly", "month": "monthly"}
    for unit, unit_every in units.items():
        start, end = period_bounds(unit_every, now)
        previous_start, _ = period_bounds(unit_every, start - timedelta(microseconds=1))
        context[f"{unit}_start"], context[f"{unit}_end"] = _stamp(start), _stamp(end)
        context[f"previous_{unit}_start"], context[f"previous_{unit}_end"] = _stamp(previous_start), _stamp(start)
    if every is not None:
        unit = {value: key for key, value in units.items()}[every] if every in EVERY else None
        if unit is None:
            raise ReportError(f"every must be one of {list(EVERY)}, not {every!r}")
        for edge in ("start", "end"):
            context[f"period_{edge}"] = context[f"{unit}_{edge}"]
            context[f"previous_period_{edge}"] = context[f"previous_{unit}_{edge}"]
    return context


class _Formatter(string.Formatter):
    """str.format limited to plain names of the context: no attribute or index access."""

    def get_field(self, field_name: str, args: Any, kwargs: Mapping[str, Any]) -> Any:
        if field_name not in kwargs:
            known = ", ".join(sorted(kwargs))
            raise ReportError(f"unknown placeholder {{{field_name}}}; known: {known}")
        return kwargs[field_name], field_name


def _fill(value: Any, context: Mapping[str, Any]) -> Any:
    if isinstance(value, str):
        try:
            return _Formatter().vformat(value, (), context)
        except (ValueError, IndexError) as error:
            raise ReportError(f"bad placeholder in {value!r}: {error}") from error
    if isinstance(value, list):
        return [_fill(item, context) for item in value]
    if isinstance(value, dict):
        return {key: _fill(item, context) for key, item in value.items()}
    return value


def resolve_parameters(parameters: Mapping[str, Any], now: datetime, every: str | None = None) -> dict[str, Any]:
    """``parameters`` with every ``{placeholder}`` in string values (also in lists and tables) filled at ``now``."""
    context = template_context(now, every)
    return {name: _fill(value, context) for name, value in parameters.items()}


@dataclass(frozen=True, slots=True)
class ScheduleEntry:
    """One ``[[report]]`` of the schedule file; ``parameters`` still hold their placeholders."""

    notebook: str
    every: str
    parameters: dict[str, Any]
    name: str
    timeout_s: float | None = None  # seconds the run may take; None: the runner's default

    def period(self, now: datetime) -> tuple[datetime, datetime]:
        return period_bounds(self.every, now)


@dataclass(frozen=True, slots=True)
class DueReport:
    """An entry due at ``now``: its period ``[period_start, period_end)`` and its parameters, filled in."""

    entry: ScheduleEntry
    period_start: datetime
    period_end: datetime
    parameters: dict[str, Any]

    @property
    def schedule(self) -> dict[str, Any]:
        """What run.json records of the schedule."""
        return {
            "entry": self.entry.name,
            "every": self.entry.every,
            "period_start": timeutil.format_timestamp(self.period_start),
            "period_end": timeutil.format_timestamp(self.period_end),
        }


_ENTRY_KEYS = {"notebook", "every", "parameters", "name", "timeout_s"}


def _timeout(value: Any, where: str) -> float | None:
    """A ``timeout_s`` of the schedule: seconds above 0, or None when not given."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < float("inf"):
        raise ReportError(f"{where}: timeout_s must be a number of seconds above 0, not {value!r}")
    return float(value)


def load_schedule(
    schedule_path: str | os.PathLike[str] = "schedule.toml",
    notebooks_dir: str | os.PathLike[str] = "notebooks",
    now: datetime | None = None,
) -> list[ScheduleEntry]:
    """The entries of a schedule file, checked: keys, ``every``, placeholders, distinct names, and each entry's
    notebook and parameters (placeholders filled at ``now``, default the current time) as a run checks them
    (:mod:`energy_lib.workbook.reports.parameters`), so a bad value is refused before anything runs."""
    path = Path(schedule_path)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise ReportError(f"no schedule file {path}") from error
    except tomllib.TOMLDecodeError as error:
        raise ReportError(f"{path}: {error}") from error
    reports = document.get("report", [])
    default_timeout = _timeout(document.get("timeout_s"), str(path))
    if not isinstance(reports, list):
        raise ReportError(f"{path}: write entries as [[report]] tables")
    entries: list[ScheduleEntry] = []
    probe = datetime(2025, 6, 11, 12, 0, tzinfo=timezone.utc)
    for number, table in enumerate(reports, start=1):
        where = f"{path} [[report]] #{number}"
        unknown = sorted(set(table) - _ENTRY_KEYS)
        if unknown:
            raise ReportError(f"{where}: unknown keys {unknown}; allowed {sorted(_ENTRY_KEYS)}")
        notebook, every = table.get("notebook"), table.get("every")
        if not isinstance(notebook, str) or not notebook:
            raise ReportError(f"{where}: notebook must be a notebook name")
        if every not in EVERY:
            raise ReportError(f"{where}: every must be one of {list(EVERY)}, not {every!r}")
        parameters = table.get("parameters", {})
        if not isinstance(parameters, dict):
            raise ReportError(f"{where}: parameters must be a table")
        parameters = plain(parameters)
        try:
            resolve_parameters(parameters, probe, every)
        except ReportError as error:
            raise ReportError(f"{where}: {error}") from error
        entry_name = table.get("name") or f"{Path(notebook).stem}:{every}"
        if any(entry.name == entry_name for entry in entries):
            raise ReportError(f"{where}: a second entry named {entry_name!r}; give each a distinct name")
        timeout_s = _timeout(table.get("timeout_s"), where)
        entries.append(
            ScheduleEntry(
                notebook=notebook,
                every=every,
                parameters=parameters,
                name=entry_name,
                timeout_s=default_timeout if timeout_s is None else timeout_s,
            )
        )
    moment = _aware(now) if now is not None else timeutil.now()
    for number, entry in enumerate(entries, start=1):
        try:
            notebook_path = resolve_notebook(entry.notebook, notebooks_dir)
            validate_parameters(notebook_path, resolve_parameters(entry.parameters, moment, entry.every))
        except ReportError as error:  # ParameterError stays a ParameterError
            raise type(error)(f"{path} [[report]] #{number} ({entry.name}): {error}") from error
    return entries


def due(
    schedule_path: str | os.PathLike[str] = "schedule.toml",
    reports_dir: str | os.PathLike[str] = "reports",
    now: datetime | None = None,
    notebooks_dir: str | os.PathLike[str] = "notebooks",
) -> list[DueReport]:
    """The schedule entries with no run (running, succeeded or failed) in the period that contains ``now``;
    the schedule is checked first (:func:`load_schedule`)."""
    moment = _aware(now) if now is not None else timeutil.now()
    done = {
        (record.schedule.get("entry"), record.schedule.get("period_start"))
        for record in list_runs(reports_dir)
        if record.schedule
    }
    result = []
    for entry in load_schedule(schedule_path, notebooks_dir, moment):
        start, end = entry.period(moment)
        if (entry.name, timeutil.format_timestamp(start)) in done:
            continue
        result.append(DueReport(entry, start, end, resolve_parameters(entry.parameters, moment, entry.every)))
    return result


def run_due(
    schedule_path: str | os.PathLike[str] = "schedule.toml",
    reports_dir: str | os.PathLike[str] = "reports",
    notebooks_dir: str | os.PathLike[str] = "notebooks",
    now: datetime | None = None,
    *,
    target: str | None = None,
    settings: Settings | None = None,
) -> list[RunRecord]:
    """Run every entry :func:`due` at ``now``, one after the other; all are attempted even if one fails.

    A schedule file with a bad entry (key, notebook, parameter value) is refused as a whole before anything
    runs (:class:`ReportError`, :func:`load_schedule`). Each run may take its entry's ``timeout_s`` (default
    ``settings.report_timeout_s``); with ``settings``, runs go into the target's history and publish their alerts
    (see :func:`run_report`).

    Returns the runs when all succeeded. Otherwise raises :class:`ReportFailed` after the last one, with
    ``runs`` (all runs), ``failed`` and ``not_started`` (entries that could not start: they stay due).
    """
    runs: list[RunRecord] = []
    failed: list[RunRecord] = []
    not_started: list[str] = []
    with _exclusive(Path(reports_dir) / ".run_due.lock"):
        for item in due(schedule_path, reports_dir, now, notebooks_dir):
            try:
                record = run_report(
                    item.entry.notebook,
                    item.parameters,
                    reports_dir=reports_dir,
                    notebooks_dir=notebooks_dir,
                    target=target,
                    schedule=item.schedule,
                    timeout_s=item.entry.timeout_s,
                    settings=settings,
                )
            except ReportFailed as failure:
                runs.extend(failure.runs)
                failed.extend(failure.failed)
            except ReportError as error:
                not_started.append(f"{item.entry.name}: {error}")
            else:
                runs.append(record)
    if failed or not_started:
        raise ReportFailed(failed, runs, not_started)
    return runs


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``lock_path`` (see :func:`~energy_lib.workbook.reports.records.file_lock`) or raise
    ReportBusy."""
    with contextlib.ExitStack() as held:
        try:
            held.enter_context(file_lock(lock_path, wait=False))
        except BlockingIOError as error:
            raise ReportBusy(f"another run of the due reports holds {lock_path}") from error
        yield
