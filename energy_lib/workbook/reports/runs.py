"""Run a notebook with papermill into ``<reports_dir>/<notebook>/<run-id>/`` and export it to HTML: within a time
limit, again after a transient AWS error, and told apart when it fails (:mod:`.failures`); its recorded figures
collected (:mod:`.figures`), the run added to the history (:mod:`.history`) and alerts published
(:mod:`.alerts`)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import socket
import time
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from energy_lib import timeutil
from energy_lib.config import Settings, absolute_path_variables
from energy_lib.workbook.reports.export import export_html
from energy_lib.workbook.reports.failures import Failure, RunTimedOut, error_output, failure_of
from energy_lib.workbook.reports.figures import METADATA_KEY, figures_of
from energy_lib.workbook.reports.index import write_index
from energy_lib.workbook.reports.parameters import (
    check_parameters,
    declared_parameters,
    default_values,
    resolve_notebook,
)
from energy_lib.workbook.reports.records import FAILED, RUNNING, SUCCEEDED, ReportError, ReportFailed, RunRecord
from energy_lib.workbook.reports.unattended import keep_files, settle

KERNEL_NAME = "python3"
RETRY_DELAY_S = 5.0  # pause before the second attempt after a transient AWS error; doubles each time
RETRY_DELAY_MAX_S = 60.0


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
    timeout_s: float | None = None,
    settings: Settings | None = None,
) -> RunRecord:
    """Execute a notebook with papermill into ``reports_dir/<notebook>/<run-id>/``, export its HTML and add the run
    to the history; with ``settings``, also publish the alert a failure (or the recovery after one) calls for.

    Parameters
    ----------
    notebook : str
        A name in ``notebooks_dir`` (``"04-report-business"``) or a path to an ``.ipynb``.
    parameters : mapping, optional
        Overrides of the notebook's parameters; checked and converted as the notebook declares them
        (:mod:`energy_lib.workbook.reports.parameters`) before anything is written or run.
    reports_dir, notebooks_dir : path
        Where runs go; where named notebooks are. The kernel (``python3``) runs in the notebook's directory,
        as in Jupyter; relative paths in ``ENERGY_*`` variables are made absolute for it, and
        ``ENERGY_REPORTS_DIR`` is ``reports_dir``.
    run_id : str, optional
        Directory name of the run; by default ``<UTC start %Y%m%dT%H%M%SZ>-<8 hex of the parameters' hash>``.
    target : str, optional
        ``local`` or ``aws``: the notebook's ``target`` parameter when ``parameters`` do not set it (the
        command line passes its configured target, so a run configured for AWS never falls back to the
        notebook's default ``local``). Default: ``settings.target`` when given.
    schedule : mapping, optional
        Recorded in run.json as ``schedule`` (set by :func:`run_due`: entry, every, period).
    timeout_s : float, optional
        Seconds the whole run may take; past them the cell running is stopped, the kernel shut down and the run
        recorded failed with reason ``timeout``. Default: ``settings.report_timeout_s``, else no limit.
    settings : Settings, optional
        The target's settings: the history goes to S3 on AWS (with the run's files), and alerts are published
        to the alerts topic; transient AWS errors rerun the notebook up to ``settings.report_retries`` times.
        Without: the history next to the reports, no alert, no rerun.

    Returns
    -------
    RunRecord
        The succeeded run. run.json, the history and ``index.html`` are written either way.

    Raises
    ------
    ReportError
        Before anything runs or is recorded: unknown notebook, a taken ``run_id``, or (:class:`ParameterError`)
        an unknown parameter or a value its declaration refuses.
    ReportFailed
        The run failed (a cell raised, the time ran out, the kernel died, the export broke) — after its executed
        notebook, HTML with the traceback, run.json (status ``failed`` and its ``reason``), the history, the
        alert and the index are written.
    """
    source = resolve_notebook(notebook, notebooks_dir)
    name = source.stem
    declared = declared_parameters(source)
    given = dict(parameters or {})
    target = target or (settings.target if settings is not None else None)
    if target is not None and "target" in declared:
        given.setdefault("target", target)
    values = check_parameters(name, declared, given)
    if timeout_s is None and settings is not None:
        timeout_s = settings.report_timeout_s
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
        timeout_s=timeout_s,
    )
    record.write(reports)
    retries = settings.report_retries if settings is not None else 0
    with _kernel_environment(reports):
        failure, attempts = execute(source, record.ipynb, values, timeout_s, retries)
    figures = finish_notebook(record.ipynb, failure)
    ended = replace(
        record.finished(FAILED if failure else SUCCEEDED, failure.error if failure else None),
        attempts=attempts,
        figures=figures,
        **_failure_fields(failure),
    )
    html_path: Path | None = None
    if record.ipynb.is_file():
        try:
            html_path = export_html(record.ipynb, run_dir / f"{name}.html", ended)
        except Exception as error:
            if failure is None:
                failure = Failure("export_failed", f"HTML export failed: {type(error).__name__}: {error}")
                ended = replace(ended, status=FAILED, error=failure.error, **_failure_fields(failure))
    record = replace(ended, html=html_path)
    record.write(reports)
    record, rows = settle(record, reports, settings)
    record.write(reports)
    write_index(reports, rows)
    keep_files(settings, record, reports)
    if failure is not None and failure.reason == "interrupted":
        raise KeyboardInterrupt
    if record.status == FAILED:
        raise ReportFailed([record])
    return record


def _failure_fields(failure: Failure | None) -> dict[str, Any]:
    if failure is None:
        return {"reason": None, "failed_cell": None, "error_lines": ()}
    return {"reason": failure.reason, "failed_cell": failure.cell, "error_lines": failure.lines}


def execute(
    source: Path, output: Path, values: Mapping[str, Any], timeout_s: float | None, retries: int = 0
) -> tuple[Failure | None, int]:
    """Run ``source`` with papermill into ``output`` with ``values`` injected, within ``timeout_s`` seconds (all
    attempts together); a transient AWS error runs it again, up to ``retries`` times, after 5, 10, 20 ... s.
    Returns (the failure of the last attempt or None, the attempts made)."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    attempt = 1
    while True:
        failure = _attempt(source, output, values, deadline, timeout_s)
        if failure is None or not failure.transient or attempt > retries:
            return failure, attempt
        pause = min(RETRY_DELAY_S * 2 ** (attempt - 1), RETRY_DELAY_MAX_S)
        if deadline is not None and time.monotonic() + pause >= deadline:
            return failure, attempt
        time.sleep(pause)  # botocore's own retries ran out just now: give the service a moment
        attempt += 1


def _attempt(
    source: Path, output: Path, values: Mapping[str, Any], deadline: float | None, timeout_s: float | None
) -> Failure | None:
    import papermill

    from energy_lib.workbook.reports.kernel_client import WatchfulKernelManager

    running: dict[str, int | None] = {"cell": None}

    def on_cell_start(cell: Any, cell_index: int) -> None:
        running["cell"] = cell_index

    def time_left(cell: Any) -> float | None:
        """nbclient asks before each cell how long it may wait for it: what is left of the run's time."""
        if deadline is None:
            return None
        left = deadline - time.monotonic()
        if left <= 0:
            raise RunTimedOut
        return math.ceil(left)  # whole seconds, as nbclient logs them

    try:
        papermill.execute_notebook(
            str(source),
            str(output),
            parameters=dict(values),
            kernel_name=KERNEL_NAME,
            kernel_manager_class=WatchfulKernelManager,  # reads every reply that arrived (see its module)
            cwd=str(source.parent),
            progress_bar=False,
            log_output=False,
            timeout_func=time_left,
            on_cell_start=on_cell_start,
            shutdown_kernel="immediate",  # a kernel stopped in a cell's middle would only complain of closed sockets
        )
    except (Exception, KeyboardInterrupt) as error:
        return failure_of(error, running["cell"], timeout_s)
    return None


def finish_notebook(ipynb: Path, failure: Failure | None) -> dict[str, float | None]:
    """Collect the recorded figures into the executed notebook's metadata and, when the run was stopped (a
    timeout, a dead kernel), put an error output saying so under the cell that was running. Returns the
    figures ({} when there is no executed notebook)."""
    import nbformat

    if not ipynb.is_file():
        return {}
    notebook = nbformat.read(os.fspath(ipynb), as_version=4)
    found = figures_of(notebook)
    notebook.metadata.setdefault(METADATA_KEY, {})["figures"] = found
    stopped = failure is not None and failure.reason in {"timeout", "kernel_died"} and failure.cell is not None
    if stopped and 0 <= failure.cell < len(notebook.cells) and notebook.cells[failure.cell].cell_type == "code":
        cell = notebook.cells[failure.cell]
        cell.outputs.append(nbformat.from_dict(error_output(failure)))
        cell.metadata.setdefault("papermill", {})["status"] = "failed"
    nbformat.write(notebook, os.fspath(ipynb))
    return found


@contextlib.contextmanager
def _kernel_environment(reports: Path) -> Iterator[None]:
    """The environment a kernel inherits, with relative ``ENERGY_*`` paths made absolute (it runs elsewhere),
    and ``ENERGY_REPORTS_DIR`` naming the folder of the reports (where a notebook finds their history)."""
    changed = {**absolute_path_variables(), "ENERGY_REPORTS_DIR": str(reports)}
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
