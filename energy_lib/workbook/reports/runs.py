"""Run a notebook with papermill into ``<reports_dir>/<notebook>/<run-id>/`` and export it to HTML."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from energy_lib import timeutil
from energy_lib.config import absolute_path_variables
from energy_lib.workbook.reports.export import export_html
from energy_lib.workbook.reports.index import write_index
from energy_lib.workbook.reports.parameters import (
    check_parameters,
    declared_parameters,
    default_values,
    resolve_notebook,
)
from energy_lib.workbook.reports.records import FAILED, RUNNING, SUCCEEDED, ReportError, ReportFailed, RunRecord

KERNEL_NAME = "python3"


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
        Overrides of the notebook's parameters; checked and converted as the notebook declares them
        (:mod:`energy_lib.workbook.reports.parameters`) before anything is written or run.
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
        Before anything runs or is recorded: unknown notebook, a taken ``run_id``, or (:class:`ParameterError`)
        an unknown parameter or a value its declaration refuses.
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
    values = check_parameters(name, declared, given)
    reports = Path(reports_dir).resolve()
    started = timeutil.now()
    run_dir = _new_run_dir(reports / name, started, values, run_id)
    record = RunRecord(
        run_id=run_dir.name,
        notebook=name,
        parameters={**default_values(declared), **values},
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
