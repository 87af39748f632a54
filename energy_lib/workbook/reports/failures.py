"""Why a run failed, told from what papermill raised: the reason, the failing cell, the first lines of its error,
and whether a transient AWS error caused it (then the run is tried again).

A transient AWS error is what botocore's ``standard`` retry mode itself retries: a throttling or transient
error code (``ThrottlingException``, ``RequestTimeout`` ...) or a connection error. It reaches the notebook
only after botocore's own attempts (``Settings.max_attempts``) ran out, so the runner reruns the whole
notebook, up to ``Settings.report_retries`` times.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

ERROR_LINES = 8  # first lines of a failing cell's error kept in run.json and sent in the alert
LINE_CHARACTERS = 300
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_ERROR_CODE = re.compile(r"An error occurred \(([\w.]+)\)")


@dataclass(frozen=True, slots=True)
class Failure:
    """How a run ended without succeeding.

    ``reason`` is one of :data:`energy_lib.workbook.reports.records.REASONS`; ``error`` one line;
    ``cell`` the index of the failing cell in the executed notebook (None when no cell ran); ``lines`` the
    first lines of the error; ``transient`` True for a transient AWS error (worth another attempt).
    """

    reason: str
    error: str
    cell: int | None = None
    lines: tuple[str, ...] = ()
    transient: bool = False


def plain_lines(traceback: list[str] | str, limit: int = ERROR_LINES) -> tuple[str, ...]:
    """The first ``limit`` non-empty lines of a traceback, without terminal colours, each cut to 300 characters."""
    text = "\n".join(traceback) if isinstance(traceback, list) else traceback
    lines = [line.rstrip()[:LINE_CHARACTERS] for line in _ANSI.sub("", text).splitlines() if line.strip()]
    return tuple(lines[:limit])


def transient_aws_error(ename: str, evalue: str) -> bool:
    """True when the error ``ename: evalue`` raised in a notebook is one botocore's standard retry mode counts
    as transient: a throttling or transient error code, or a connection error (``EndpointConnectionError``,
    ``ReadTimeoutError`` ...)."""
    import botocore.exceptions
    from botocore.retries import standard

    kind = getattr(botocore.exceptions, ename, None)
    if isinstance(kind, type) and issubclass(
        kind, botocore.exceptions.ConnectionError | botocore.exceptions.HTTPClientError
    ):
        return True
    code = _ERROR_CODE.search(evalue)
    if code is None or ename not in {"ClientError", code.group(1)}:  # a ClientError, or its modeled subclass
        return False
    context = standard.RetryContext(attempt_number=1, parsed_response={"Error": {"Code": code.group(1)}})
    return any(
        checker.is_retryable(context)
        for checker in (standard.ThrottledRetryableChecker(), standard.TransientRetryableChecker())
    )


def failure_of(error: BaseException, cell: int | None, timeout_s: float | None) -> Failure:
    """The :class:`Failure` that ``error`` (raised by papermill while ``cell`` ran) means."""
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    if isinstance(error, PapermillExecutionError):
        transient = transient_aws_error(error.ename, error.evalue)
        return Failure(
            reason="aws_transient" if transient else "cell_error",
            error=f"{error.ename}: {error.evalue} (In [{error.exec_count}])",
            cell=error.cell_index,
            lines=plain_lines(error.traceback) or (f"{error.ename}: {error.evalue}",),
            transient=transient,
        )
    if isinstance(error, CellTimeoutError | RunTimedOut):
        text = f"the run passed its time limit of {timeout_s:g} s and was stopped"
        return Failure("timeout", f"Timeout: {text}", cell, (f"Timeout: {text} (in cell {cell})",))
    if isinstance(error, DeadKernelError):
        text = "the kernel died (killed, or out of memory) while the cell ran"
        return Failure("kernel_died", f"DeadKernelError: {text}", cell, (f"DeadKernelError: {text}",))
    if isinstance(error, KeyboardInterrupt):
        return Failure("interrupted", "KeyboardInterrupt: the run was interrupted", cell)
    text = f"{type(error).__name__}: {error}"
    return Failure("error", text, cell, plain_lines(text))


class RunTimedOut(Exception):
    """The run's time limit passed between two cells."""


def error_output(failure: Failure) -> dict[str, Any]:
    """An ``error`` output saying why the run stopped, for the cell that was running (a timeout or a dead
    kernel leaves none of its own in the executed notebook)."""
    name, _, value = failure.error.partition(": ")
    return {"output_type": "error", "ename": name, "evalue": value, "traceback": [failure.error]}
