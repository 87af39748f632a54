"""Reports: run a notebook with papermill, export it to HTML without code, index the runs, run the schedule.

A run of notebook ``NAME`` lives in ``<reports_dir>/NAME/<run-id>/``:

- ``NAME.ipynb``: the executed notebook (papermill output, kept also when a cell failed);
- ``NAME.html``: the same without code cells, openable from disk with no network (see
  :mod:`energy_lib.workbook.notebook.charts` for how charts embed plotly.js once);
- ``run.json``: notebook, parameters (every value the run used: the notebook's defaults and the
  ``overrides``), started/finished UTC, duration, status (``running``, ``succeeded`` or ``failed``), error,
  the host and pid that ran it, paths relative to ``reports_dir``, and for a scheduled run its entry and
  period. A ``running`` run whose process has ended on this host is listed as failed.

``<reports_dir>/index.html`` lists every run and is rebuilt after each one.

Schedule
--------
``schedule.toml`` holds ``[[report]]`` tables::

    [[report]]
    notebook = "04-report-business"        # a name in the notebooks dir (or a path to an .ipynb)
    every = "daily"                        # hourly | daily | weekly (UTC; weeks start on Monday)
    name = "business-daily"                # optional; tells apart two entries of one notebook and every
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
  (hour, day or week) containing ``now``, and the one before;
- ``hour_start``/``_end``, ``day_start``/``_end``, ``week_start``/``_end``: the hour, day, week containing ``now``,
  and each with a ``previous_`` prefix (``previous_day_start`` …) for the one before.

Parameters
----------
Values given as strings (``-p hours 6`` on the command line) are converted to the type of the notebook's
parameter: the annotation papermill infers from the ``parameters`` cell (``hours: int = 6``), else the type of
its default value. A name the notebook does not declare is an error.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import html
import json
import os
import socket
import string
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

from energy_lib.config import absolute_path_variables
from energy_lib.errors import EnergyError
from energy_lib.workbook.local.processes import pid_alive

__all__ = [
    "EVERY",
    "NOTEBOOKS",
    "DueReport",
    "ReportBusy",
    "ReportError",
    "ReportFailed",
    "RunRecord",
    "ScheduleEntry",
    "coerce_parameters",
    "declared_parameters",
    "due",
    "export_html",
    "list_runs",
    "load_schedule",
    "period_bounds",
    "resolve_parameters",
    "resolve_notebook",
    "run_due",
    "run_report",
    "template_context",
    "write_index",
]

NOTEBOOKS = (
    "01-check-provisioning",
    "02-run-simulation",
    "03-explore-readings",
    "04-report-business",
    "05-operate-pipeline",
    "07-query-history",
)
EVERY = ("hourly", "daily", "weekly")
KERNEL_NAME = "python3"
RUN_FILE = "run.json"
INDEX_FILE = "index.html"
RUNNING, SUCCEEDED, FAILED = "running", "succeeded", "failed"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
HIDE_TAG = "report-hide"  # cells with this tag (e.g. those only nbval checks) are left out of the HTML
# Asset URLs of nbconvert's lab template pointed at empty scripts: an exported report loads nothing remote.
_NO_SCRIPT = "data:text/javascript,"


class ReportError(EnergyError):
    """A report cannot be started: unknown notebook, bad parameter, bad schedule file."""


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


# --------------------------------------------------------------------------------------------- time


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ReportError(f"expected a timezone-aware datetime, got {moment!r}")
    return moment.astimezone(timezone.utc)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else _as_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_iso(text: str | None) -> datetime | None:
    return None if not text else datetime.fromisoformat(text.replace("Z", "+00:00"))


def period_bounds(every: str, now: datetime) -> tuple[datetime, datetime]:
    """``[start, end)`` of the hour, UTC day or ISO week (Monday 00:00 UTC) that contains ``now``."""
    moment = _as_utc(now)
    if every == "hourly":
        start = moment.replace(minute=0, second=0, microsecond=0)
        return start, start + timedelta(hours=1)
    if every == "daily":
        start = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        return start, start + timedelta(days=1)
    if every == "weekly":
        start = moment.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=moment.weekday())
        return start, start + timedelta(weeks=1)
    raise ReportError(f"every must be one of {list(EVERY)}, not {every!r}")


class _Stamp(datetime):
    """A UTC datetime that formats as ISO-8601 ``...Z`` by default, or with a strftime spec."""

    def __format__(self, spec: str) -> str:
        return self.strftime(spec) if spec else self.strftime("%Y-%m-%dT%H:%M:%SZ")


def _stamp(moment: datetime) -> _Stamp:
    m = _as_utc(moment)
    return _Stamp(m.year, m.month, m.day, m.hour, m.minute, m.second, m.microsecond, tzinfo=timezone.utc)


def template_context(now: datetime, every: str | None = None) -> dict[str, datetime]:
    """The values of schedule placeholders at ``now`` (see the module docstring); ``period_*`` need ``every``."""
    context: dict[str, datetime] = {"now": _stamp(now)}
    units = {"hour": "hourly", "day": "daily", "week": "weekly"}
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


# --------------------------------------------------------------------------------------------- parameters


def resolve_notebook(notebook: str | os.PathLike[str], notebooks_dir: str | os.PathLike[str] = "notebooks") -> Path:
    """The ``.ipynb`` of ``notebook``: a name such as ``04-report-business`` in ``notebooks_dir``, or a path."""
    text = os.fspath(notebook)
    if text.endswith(".ipynb") or os.sep in text or "/" in text:
        path = Path(text)
    else:
        path = Path(notebooks_dir) / f"{text}.ipynb"
    if not path.is_file():
        available = sorted(p.stem for p in Path(notebooks_dir).glob("*.ipynb")) if Path(notebooks_dir).is_dir() else []
        raise ReportError(f"no notebook {path}; available in {notebooks_dir}: {available}")
    return path.resolve()


def declared_parameters(notebook_path: str | os.PathLike[str]) -> dict[str, tuple[str, str]]:
    """``{name: (type name, default source)}`` of the notebook's ``parameters`` cell.

    papermill's inference (:func:`papermill.inspect_notebook`) first; names its line patterns miss (such as
    ``x: int | None = None``) are taken from the cell's Python syntax tree. Type ``"None"`` means unannotated.
    """
    import nbformat
    import papermill

    try:
        inspected = papermill.inspect_notebook(str(notebook_path))
    except ValueError:  # papermill needs a kernelspec in the metadata; the syntax tree below does not
        inspected = {}
    declared = {
        name: (str(info.get("inferred_type_name") or "None"), str(info.get("default") or ""))
        for name, info in inspected.items()
    }
    notebook = nbformat.read(os.fspath(notebook_path), as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code" and "parameters" in cell.get("metadata", {}).get("tags", []):
            with contextlib.suppress(SyntaxError):
                for node in ast.parse(cell.source).body:
                    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                        default = ast.unparse(node.value) if node.value is not None else ""
                        declared.setdefault(node.target.id, (ast.unparse(node.annotation), default))
                    elif isinstance(node, ast.Assign):
                        for target in node.targets:
                            if isinstance(target, ast.Name):
                                declared.setdefault(target.id, ("None", ast.unparse(node.value)))
            break
    return declared


_KINDS = {"int", "float", "bool", "str", "list", "dict", "tuple", "set"}


def _kind(type_name: str, default: str) -> tuple[str | None, bool]:
    """(base kind or None if unknown, whether None is allowed) of a parameter's annotation or default."""
    text = type_name.strip().strip("'\"")
    optional = False
    if text.startswith(("Optional[", "typing.Optional[")) and text.endswith("]"):
        text, optional = text[text.index("[") + 1 : -1], True
    parts = [part.strip() for part in text.split("|")]
    if len(parts) > 1 and "None" in parts:
        parts.remove("None")
        text, optional = parts[0], True
    base = text.split("[", 1)[0].rsplit(".", 1)[-1].lower()
    if base in _KINDS:
        return base, optional
    try:
        value = ast.literal_eval(default)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None, optional
    if value is None:
        return None, True
    name = type(value).__name__
    return (name if name in _KINDS else None), optional


def _plain(value: Any) -> Any:
    """TOML dates and times as ISO text, which papermill can inject."""
    if isinstance(value, datetime):
        return _iso(value) if value.tzinfo else value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


_TRUE = {"true", "1", "yes", "y", "on"}
_FALSE = {"false", "0", "no", "n", "off"}


def _coerce(name: str, value: Any, type_name: str, default: str) -> Any:
    kind, optional = _kind(type_name, default)
    value = _plain(value)
    if not isinstance(value, str):
        if kind == "float" and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        return value
    text = value.strip()
    if optional and text in {"None", "none", "null"}:
        return None
    try:
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
        if kind == "bool":
            if text.lower() in _TRUE:
                return True
            if text.lower() in _FALSE:
                return False
            raise ValueError(text)
        if kind in {"list", "tuple", "set", "dict"}:
            try:
                parsed = json.loads(text)
            except json.JSONDecodeError:
                try:
                    parsed = ast.literal_eval(text)
                except (ValueError, SyntaxError) as error:
                    if kind == "dict":
                        raise ValueError(text) from error
                    parsed = [item.strip() for item in text.split(",") if item.strip()]
            if kind == "dict" and not isinstance(parsed, dict):
                raise ValueError(text)
            return parsed if kind == "dict" else list(parsed)
    except ValueError as error:
        raise ReportError(f"parameter {name}: {value!r} is not a {type_name} (default {default})") from error
    return value


def coerce_parameters(notebook_path: str | os.PathLike[str], parameters: Mapping[str, Any]) -> dict[str, Any]:
    """``parameters`` with string values converted to the types the notebook declares (see the module doc).

    Raises
    ------
    ReportError
        A name the notebook's ``parameters`` cell does not declare, or a value that is not of its type.
    """
    return _coerce_declared(Path(notebook_path).stem, declared_parameters(notebook_path), parameters)


def _coerce_declared(
    notebook: str, declared: dict[str, tuple[str, str]], parameters: Mapping[str, Any]
) -> dict[str, Any]:
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        raise ReportError(f"{notebook} has no parameter {unknown}; it declares {sorted(declared)}")
    return {name: _coerce(name, value, *declared[name]) for name, value in parameters.items()}


def _default_values(declared: dict[str, tuple[str, str]]) -> dict[str, Any]:
    """Declared parameters with their default values (the source text where it is not a literal)."""
    values = {}
    for name, (_, default) in declared.items():
        try:
            values[name] = ast.literal_eval(default)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            values[name] = default
    return values


# --------------------------------------------------------------------------------------------- runs


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

    @property
    def ok(self) -> bool:
        return self.status == SUCCEEDED

    def finished(self, status: str, error: str | None, html: Path | None = None) -> RunRecord:
        """This run, ended now with ``status``."""
        now = _utc_now()
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
            "started_utc": _iso(self.started_utc),
            "finished_utc": _iso(self.finished_utc),
            "duration_s": self.duration_s,
            "paths": {"run_dir": rel(self.run_dir), "ipynb": rel(self.ipynb), "html": rel(self.html)},
            "schedule": self.schedule,
            "host": self.host,
            "pid": self.pid,
        }

    @classmethod
    def from_json(cls, document: Mapping[str, Any], reports_dir: str | os.PathLike[str]) -> RunRecord:
        base = Path(reports_dir).resolve()
        paths = document.get("paths") or {}
        return cls(
            run_id=document["run_id"],
            notebook=document["notebook"],
            parameters=dict(document.get("parameters") or {}),
            status=document.get("status") or FAILED,
            started_utc=_parse_iso(document["started_utc"]),
            finished_utc=_parse_iso(document.get("finished_utc")),
            error=document.get("error"),
            run_dir=base / paths["run_dir"],
            ipynb=base / paths["ipynb"],
            html=base / paths["html"] if paths.get("html") else None,
            schedule=document.get("schedule"),
            overrides=tuple(document.get("overrides") or ()),
            duration_s=document.get("duration_s"),
            host=document.get("host") or "",
            pid=int(document.get("pid") or 0),
        )

    def write(self, reports_dir: str | os.PathLike[str]) -> Path:
        path = self.run_dir / RUN_FILE
        _write_text(path, json.dumps(self.to_json(reports_dir), indent=2, default=str) + "\n")
        return path


def _write_text(path: Path, text: str) -> None:
    """Write through a temporary file and rename, so a reader never sees half a file."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)


def _parameters_hash(parameters: Mapping[str, Any]) -> str:
    text = json.dumps(parameters, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def _new_run_dir(notebook_dir: Path, started: datetime, parameters: Mapping[str, Any], run_id: str | None) -> Path:
    notebook_dir.mkdir(parents=True, exist_ok=True)
    if run_id is not None:
        if "/" in run_id or "\\" in run_id or run_id in {"", ".", ".."}:
            raise ReportError(f"run id {run_id!r} must be a plain directory name")
        try:
            (notebook_dir / run_id).mkdir()
        except FileExistsError as error:
            raise ReportError(f"run {run_id} of {notebook_dir.name} exists already") from error
        return notebook_dir / run_id
    base = f"{started:%Y%m%dT%H%M%SZ}-{_parameters_hash(parameters)}"
    for attempt in range(1, 1000):
        candidate = notebook_dir / (base if attempt == 1 else f"{base}-{attempt}")
        try:
            candidate.mkdir()
        except FileExistsError:
            continue
        return candidate
    raise ReportError(f"too many runs named {base} in {notebook_dir}")


def _summary_cell(record: RunRecord) -> Any:
    """A cell heading the export: what ran, with which parameters, and how it ended.

    A markdown cell holding one line of HTML: nbconvert passes it through, while raw cells are sanitized.
    """
    from nbformat.v4 import new_markdown_cell

    rows = "".join(
        f"<tr><th>{html.escape(str(name))}</th><td><code>{html.escape(json.dumps(value, default=str))}</code>"
        f"{' (given)' if name in record.overrides else ''}</td></tr>"
        for name, value in record.parameters.items()
    )
    status = html.escape(record.status)
    colour = "#b00020" if record.status == FAILED else "#1b5e20"
    error = f"<p><b>Error:</b> <code>{html.escape(record.error)}</code></p>" if record.error else ""
    # One line: a blank line would end the markdown HTML block.
    body = (
        '<div class="energy-run-summary" style="border:1px solid #ccc;padding:.5em 1em;margin-bottom:1em">'
        f"<p><b>{html.escape(record.notebook)}</b> · run <code>{html.escape(record.run_id)}</code> · "
        f'<b style="color:{colour}">{status}</b> · started {_iso(record.started_utc)}'
        f"{' · finished ' + str(_iso(record.finished_utc)) if record.finished_utc else ''}</p>"
        f"{error}"
        f'<table style="margin-left:0"><tbody>{rows or "<tr><td>no parameters</td></tr>"}</tbody></table>'
        "</div>"
    ).replace("\n", "<br>")
    return new_markdown_cell(body)


def export_html(
    ipynb: str | os.PathLike[str], html_path: str | os.PathLike[str], record: RunRecord | None = None
) -> Path:
    """Export an executed notebook to HTML with no code cells and no prompts, loading nothing remote.

    Widget state is left out so that widgets show the HTML copy they carry (see
    :class:`energy_lib.workbook.notebook.widgets.Explorer`) instead of needing the widget manager from a CDN.
    Cells tagged ``report-hide`` are left out, unless one of them failed: its traceback stays. So are
    widget outputs without an HTML copy (a progress bar frozen at its first frame, a button): they mean
    nothing on a static page.
    With ``record``, a summary of the run (parameters, status, error) heads the page.
    """
    import nbformat
    from nbconvert import HTMLExporter

    notebook = nbformat.read(os.fspath(ipynb), as_version=4)
    notebook.metadata.pop("widgets", None)
    notebook.cells = [
        cell
        for cell in notebook.cells
        if HIDE_TAG not in cell.get("metadata", {}).get("tags", [])
        or any(output.get("output_type") == "error" for output in cell.get("outputs", []))
    ]
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = [output for output in cell.outputs if not _live_widget_only(output)]
    if record is not None:
        notebook.metadata["title"] = f"{record.notebook} · {record.run_id}"
        notebook.cells.insert(0, _summary_cell(record))
    exporter = HTMLExporter(
        template_name="lab",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
        require_js_url=_NO_SCRIPT,
        mathjax_url=_NO_SCRIPT,
    )
    body, _resources = exporter.from_notebook_node(notebook)
    path = Path(html_path)
    _write_text(path, body)
    return path


def _live_widget_only(output: Any) -> bool:
    data = output.get("data", {})
    return WIDGET_VIEW in data and "text/html" not in data


def run_report(
    notebook: str,
    parameters: Mapping[str, Any] | None = None,
    reports_dir: str | os.PathLike[str] = "reports",
    notebooks_dir: str | os.PathLike[str] = "notebooks",
    run_id: str | None = None,
    *,
    target: str | None = None,
    schedule: Mapping[str, Any] | None = None,
    execution_timeout: int | None = None,
) -> RunRecord:
    """Execute a notebook with papermill into ``reports_dir/<notebook>/<run-id>/`` and export its HTML.

    Parameters
    ----------
    notebook : str
        A name in ``notebooks_dir`` (``"04-report-business"``) or a path to an ``.ipynb``.
    parameters : mapping, optional
        Overrides of the notebook's parameters; string values are converted to the declared types.
    reports_dir, notebooks_dir : path
        Where runs go; where named notebooks are. The kernel (``python3``) runs in the notebook's directory,
        as in Jupyter; relative paths in ``ENERGY_*`` variables are made absolute for it.
    run_id : str, optional
        Directory name of the run; by default ``<UTC start %Y%m%dT%H%M%SZ>-<8 hex of the parameters' hash>``.
    target : str, optional
        ``local`` or ``aws``: the notebook's ``target`` parameter when ``parameters`` do not set it (the
        command line passes its configured target, so a run configured for AWS never falls back to the
        notebook's default ``local``).
    schedule : mapping, optional
        Recorded in run.json as ``schedule`` (set by :func:`run_due`: entry, every, period).
    execution_timeout : int, optional
        Seconds a cell may run (papermill's ``execution_timeout``); no limit by default.

    Returns
    -------
    RunRecord
        The succeeded run. run.json and ``index.html`` are written either way.

    Raises
    ------
    ReportError
        Before anything runs: unknown notebook or parameter, a value not of its type, a taken ``run_id``.
    ReportFailed
        The run failed (a cell raised, the kernel died, the export broke) — after its executed notebook, HTML
        with the traceback, run.json (status ``failed``) and the index are written.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    source = resolve_notebook(notebook, notebooks_dir)
    name = source.stem
    declared = declared_parameters(source)
    given = dict(parameters or {})
    if target is not None and "target" in declared:
        given.setdefault("target", target)
    values = _coerce_declared(name, declared, given)
    reports = Path(reports_dir).resolve()
    started = _utc_now()
    run_dir = _new_run_dir(reports / name, started, values, run_id)
    record = RunRecord(
        run_id=run_dir.name,
        notebook=name,
        parameters={**_default_values(declared), **values},
        overrides=tuple(values),
        host=socket.gethostname(),
        pid=os.getpid(),
        status=RUNNING,
        started_utc=started,
        finished_utc=None,
        error=None,
        run_dir=run_dir,
        ipynb=run_dir / f"{name}.ipynb",
        html=None,
        schedule=dict(schedule) if schedule is not None else None,
    )
    record.write(reports)
    error: str | None = None
    interrupted: BaseException | None = None
    try:
        with _kernel_environment():
            papermill.execute_notebook(
                str(source),
                str(record.ipynb),
                parameters=values,
                kernel_name=KERNEL_NAME,
                cwd=str(source.parent),
                progress_bar=False,
                log_output=False,
                execution_timeout=execution_timeout,
            )
    except PapermillExecutionError as failure:
        error = f"{failure.ename}: {failure.evalue} (In [{failure.exec_count}])"
    except Exception as failure:
        error = f"{type(failure).__name__}: {failure}"
    except KeyboardInterrupt as failure:
        error, interrupted = "KeyboardInterrupt: the run was interrupted", failure
    html_path: Path | None = None
    ended = record.finished(FAILED if error else SUCCEEDED, error)
    if record.ipynb.is_file():
        try:
            html_path = export_html(record.ipynb, run_dir / f"{name}.html", ended)
        except Exception as failure:
            error = error or f"HTML export failed: {type(failure).__name__}: {failure}"
    record = replace(ended, status=FAILED if error else SUCCEEDED, error=error, html=html_path)
    record.write(reports)
    write_index(reports)
    if interrupted is not None:
        raise interrupted
    if record.status == FAILED:
        raise ReportFailed([record])
    return record


@contextlib.contextmanager
def _kernel_environment() -> Iterator[None]:
    """The environment a kernel inherits, with relative ``ENERGY_*`` paths made absolute (it runs elsewhere)."""
    changed = absolute_path_variables()
    saved = {name: os.environ.get(name) for name in changed}
    os.environ.update(changed)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


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
                record, status=FAILED, error=f"the run's process (pid {record.pid}) ended before it finished"
            )
        records.append(record)
    return sorted(records, key=lambda r: (r.started_utc, r.run_id), reverse=True)


_INDEX_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid #ddd; padding: .4em .6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
tr.failed { background: #fdecea; }
tr.running { background: #fff8e1; }
.status { font-weight: bold; padding: .1em .5em; border-radius: .3em; white-space: nowrap; }
.status.succeeded { color: #1b5e20; background: #e8f5e9; }
.status.failed { color: #fff; background: #b00020; }
.status.running { color: #6d4c00; background: #ffe082; }
code { font-size: .9em; }
.error { color: #b00020; font-family: monospace; white-space: pre-wrap; }
"""


def write_index(reports_dir: str | os.PathLike[str] = "reports") -> Path:
    """Rebuild ``reports_dir/index.html``: every run, newest first, failed ones marked; no external assets."""
    reports = Path(reports_dir)
    reports.mkdir(parents=True, exist_ok=True)
    records = list_runs(reports)
    failed = sum(r.status == FAILED for r in records)
    rows = []
    for record in records:
        document = record.to_json(reports)
        links = []
        for label, key in (("HTML", "html"), ("ipynb", "ipynb")):
            target = document["paths"][key]
            if target and (reports / target).exists():
                links.append(f'<a href="{html.escape(target)}">{label}</a>')
        parameters = ", ".join(
            ("<b>{}</b>" if k in record.overrides else "{}").format(
                f"{html.escape(str(k))}=<code>{html.escape(json.dumps(v, default=str))}</code>"
            )
            for k, v in record.parameters.items()
        )
        status = html.escape(record.status)
        marker = "✗ FAILED" if record.status == FAILED else status
        error = f'<div class="error">{html.escape(record.error)}</div>' if record.error else ""
        scheduled = ""
        if record.schedule:
            scheduled = f"<br><small>{html.escape(str(record.schedule.get('entry', '')))}</small>"
        duration = "" if record.duration_s is None else f"{record.duration_s:.1f} s"
        rows.append(
            f'<tr class="{status}"><td>{_iso(record.started_utc)}</td>'
            f"<td>{html.escape(record.notebook)}{scheduled}</td>"
            f"<td>{parameters or '<small>defaults</small>'}</td>"
            f'<td><span class="status {status}">{html.escape(marker)}</span>{error}</td>'
            f"<td>{duration}</td><td><code>{html.escape(record.run_id)}</code></td>"
            f"<td>{' · '.join(links)}</td></tr>"
        )
    table = (
        "<table><thead><tr><th>Started (UTC)</th><th>Notebook</th><th>Parameters (<b>given</b>)</th><th>Status</th>"
        "<th>Duration</th><th>Run</th><th>Files</th></tr></thead><tbody>"
        + ("".join(rows) or '<tr><td colspan="7">No runs yet.</td></tr>')
        + "</tbody></table>"
    )
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Energy workbook reports</title>'
        f"<style>{_INDEX_CSS}</style></head><body><h1>Energy workbook reports</h1>"
        f"<p>{len(records)} runs, {failed} failed. Updated {_iso(_utc_now())}.</p>{table}</body></html>\n"
    )
    path = reports / INDEX_FILE
    _write_text(path, page)
    return path


# --------------------------------------------------------------------------------------------- schedule


@dataclass(frozen=True, slots=True)
class ScheduleEntry:
    """One ``[[report]]`` of the schedule file; ``parameters`` still hold their placeholders."""

    notebook: str
    every: str
    parameters: dict[str, Any]
    name: str

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
            "period_start": _iso(self.period_start),
            "period_end": _iso(self.period_end),
        }


_ENTRY_KEYS = {"notebook", "every", "parameters", "name"}


def load_schedule(schedule_path: str | os.PathLike[str] = "schedule.toml") -> list[ScheduleEntry]:
    """The entries of a schedule file, checked: keys, ``every``, placeholders, distinct names."""
    path = Path(schedule_path)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise ReportError(f"no schedule file {path}") from error
    except tomllib.TOMLDecodeError as error:
        raise ReportError(f"{path}: {error}") from error
    reports = document.get("report", [])
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
        parameters = _plain(parameters)
        try:
            resolve_parameters(parameters, probe, every)
        except ReportError as error:
            raise ReportError(f"{where}: {error}") from error
        entry_name = table.get("name") or f"{Path(notebook).stem}:{every}"
        if any(entry.name == entry_name for entry in entries):
            raise ReportError(f"{where}: a second entry named {entry_name!r}; give each a distinct name")
        entries.append(ScheduleEntry(notebook=notebook, every=every, parameters=parameters, name=entry_name))
    return entries


def due(
    schedule_path: str | os.PathLike[str] = "schedule.toml",
    reports_dir: str | os.PathLike[str] = "reports",
    now: datetime | None = None,
) -> list[DueReport]:
    """The schedule entries with no run (running, succeeded or failed) in the period that contains ``now``."""
    moment = _as_utc(now) if now is not None else _utc_now()
    done = {
        (record.schedule.get("entry"), record.schedule.get("period_start"))
        for record in list_runs(reports_dir)
        if record.schedule
    }
    result = []
    for entry in load_schedule(schedule_path):
        start, end = entry.period(moment)
        if (entry.name, _iso(start)) in done:
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
    execution_timeout: int | None = None,
) -> list[RunRecord]:
    """Run every entry :func:`due` at ``now``, one after the other; all are attempted even if one fails.

    Returns the runs when all succeeded. Otherwise raises :class:`ReportFailed` after the last one, with
    ``runs`` (all runs), ``failed`` and ``not_started`` (entries refused before running, such as an unknown
    parameter: they stay due).
    """
    runs: list[RunRecord] = []
    failed: list[RunRecord] = []
    not_started: list[str] = []
    with _exclusive(Path(reports_dir) / ".run_due.lock"):
        for item in due(schedule_path, reports_dir, now):
            try:
                record = run_report(
                    item.entry.notebook,
                    item.parameters,
                    reports_dir=reports_dir,
                    notebooks_dir=notebooks_dir,
                    target=target,
                    schedule=item.schedule,
                    execution_timeout=execution_timeout,
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
    """Hold an exclusive lock on ``lock_path`` (POSIX ``flock``; elsewhere no lock) or raise ReportBusy."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+") as handle:
        try:
            import fcntl
        except ImportError:  # not POSIX: overlapping calls are not prevented
            yield
            return
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            raise ReportBusy(f"another run of the due reports holds {lock_path}") from error
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
