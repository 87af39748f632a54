"""``energy-workbook report ...`` and ``energy-workbook demo``: notebooks run by papermill into
``reports/<notebook>/<run-id>/`` with HTML, an index page, and the schedule for cron."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from energy_lib import timeutil, wording
from energy_lib.config import Settings
from energy_lib.workbook import reports
from energy_lib.workbook.cli.common import (
    UsageError,
    command,
    emit,
    seconds,
    summary_table,
    to_json,
    utc_argument,
    utc_range,
)

PROJECT = Path(__file__).resolve().parents[3]
NOTEBOOKS = PROJECT / "notebooks"
SCHEDULE = PROJECT / "schedule.toml"


def _print_runs(runs: list[reports.RunRecord], as_json: bool, reports_dir: str) -> None:
    if as_json:
        print(json.dumps([run.to_json(reports_dir) for run in runs], indent=2))
        return
    for run in runs:
        error = f"\n           {run.error} ({run.reason})" if run.error else ""
        print(f"{run.status:<10} {run.notebook}  {run.html}{error}")


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    parameters = {name: value for name, value in args.parameter or []}
    try:
        run = reports.run_report(
            args.notebook,
            parameters,
            settings.reports_dir,
            args.notebooks_dir,
            timeout_s=args.timeout,
            settings=settings,
        )
    except reports.ReportFailed as failure:
        _print_runs(failure.runs, args.json, settings.reports_dir)
        print(f"energy-workbook: error: {failure}", file=sys.stderr)
        return 1
    except reports.ReportError as error:  # refused before it ran: bad notebook name or parameter
        raise UsageError(str(error)) from error
    _print_runs([run], args.json, settings.reports_dir)
    return 0


def cmd_due(args: argparse.Namespace, settings: Settings) -> int:
    try:
        if args.list:
            due = reports.due(args.schedule, settings.reports_dir, args.now, args.notebooks_dir)
            rows = [{"notebook": d.entry.notebook, "every": d.entry.every, "parameters": d.parameters} for d in due]
            emit(rows, args.json)
            return 0
        runs = reports.run_due(args.schedule, settings.reports_dir, args.notebooks_dir, args.now, settings=settings)
    except reports.ReportFailed as failure:
        _print_runs(failure.runs, args.json, settings.reports_dir)
        print(f"energy-workbook: error: {failure}", file=sys.stderr)
        return 1
    except reports.ReportBusy:
        raise
    except reports.ReportError as error:  # a bad schedule file
        raise UsageError(str(error)) from error
    _print_runs(runs, args.json, settings.reports_dir)
    if not runs and not args.json:
        print("nothing due", file=sys.stderr)
    return 0


def cmd_index(args: argparse.Namespace, settings: Settings) -> None:
    print(reports.write_index(settings.reports_dir, reports.HistoryStore.of(settings, settings.reports_dir).rows()))


HISTORY_COLUMNS = ("started_utc", "notebook", "entry", "status", "reason", "duration_s", "figures")


def cmd_history(args: argparse.Namespace, settings: Settings) -> None:
    """The run history of ``settings``' target, oldest run first."""
    from energy_lib.workbook.reports.history import as_json

    store = reports.HistoryStore.of(settings, settings.reports_dir)
    rows = [as_json(row) for row in store.rows(args.notebook, args.since)]
    if args.json:
        print(to_json(rows))
        return
    shown = [
        {
            **{name: "" if row[name] is None else row[name] for name in HISTORY_COLUMNS},
            "figures": to_json(row["figures"], None),
        }
        for row in rows
    ]
    emit(shown, False)


def cmd_publish_summary(args: argparse.Namespace, settings: Settings) -> None:
    """Publish the summary of ``[start, end)`` (default: the previous UTC day) to the alerts topic."""
    from energy_lib import alerts, query
    from energy_lib.clients import client

    end = args.end or timeutil.now().replace(hour=0, minute=0, second=0, microsecond=0)
    start = args.start or end - timedelta(days=1)
    summary = query.summary(settings, client("dynamodb", settings), start, end)
    request = alerts.summary_message(summary, timeutil.format_timestamp(start), timeutil.format_timestamp(end))
    message_id = client("sns", settings).publish(TopicArn=settings.topic_arn, **request)["MessageId"]
    print(f"published {request['Subject']!r} ({message_id})")


BUSINESS_REPORT = "04-report-business"  # its period is the period of the summary that `demo` prints


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    """Local stack up, every notebook through the report runner in order, the fleet's summary for the
    business report's period, where the local stack runs, then the index's path."""
    from energy_lib.workbook.local import stack as local_stack

    if settings.target == "local":
        print(f"local stack: {local_stack.up(settings)['endpoint_url']}", file=sys.stderr)
    failed = 0
    period = None
    for notebook in sorted(path.stem for path in Path(args.notebooks_dir).glob("[0-9][0-9]-*.ipynb")):
        print(f"running {notebook} ...", file=sys.stderr)
        try:
            run = reports.run_report(notebook, {}, settings.reports_dir, args.notebooks_dir, settings=settings)
        except reports.ReportFailed as failure:
            failed += 1
            run = failure.failed[0]
        print(f"  {run.status}: {run.html}", file=sys.stderr)
        if notebook == BUSINESS_REPORT:
            period = (run.parameters["start_utc"], run.parameters["end_utc"])
    demo_summary(settings, period)
    print(Path(settings.reports_dir, reports.INDEX_FILE).resolve())
    return 1 if failed else 0


def demo_summary(settings: Settings, period: tuple[str, str] | None) -> None:
    """Print the fleet summary of ``period`` (``[start, end)``; every stored reading when None), saying which
    period it covers, and on the local target that the stack is still running and how to stop it."""
    from energy_lib import query
    from energy_lib.clients import client
    from energy_lib.workbook.local import stack as local_stack

    start, end = (None, None) if period is None else (timeutil.utc(period[0]), timeutil.utc(period[1]))
    covers = (
        "every reading stored"
        if start is None or end is None
        else f"{timeutil.format_timestamp(start)} to {timeutil.format_timestamp(end)} (UTC, end excluded; the "
        "business report's period)"
    )
    print(f"Fleet summary, {covers}:")
    summary = query.summary(settings, client("dynamodb", settings), start, end)
    if summary["fleet"]["readings"]:
        emit(summary_table(summary), as_json=False)
        print(wording.freshness(summary["fleet"], summary["complete_through"]))
    else:
        print(f"no readings in this period as of {wording.moment(summary['complete_through'])} UTC")
    if settings.target == "local":
        info = local_stack.status(settings)
        if info["running"]:
            print(
                f"The local stack is still running at {info['endpoint_url']} (pid {info['pid']}); its data lives in "
                "memory. Stop it with `energy-workbook local down` (or `make local-down`)."
            )


def add_commands(commands: Any) -> None:
    report = command(
        commands,
        "report",
        "run notebooks as reports (papermill + HTML), on demand or on a schedule",
        "Each run goes to reports/<notebook>/<run-id>/ (executed .ipynb, .html without code, run.json); "
        "reports/index.html lists every run. A notebook's target is this command's target unless -p target "
        "says otherwise.",
    )
    actions = report.add_subparsers(dest="action", required=True, metavar="ACTION")

    p = command(
        actions,
        "run",
        "run one notebook into reports/<notebook>/<run-id>/ and export HTML",
        "Exit 1 when the run fails (its notebook and HTML keep the traceback; run.json says the reason: "
        f"{', '.join(reports.REASONS)}); exit 2 for an unknown notebook or parameter, or a value its declaration "
        "refuses (type, ISO-8601 UTC time, start before end, whole hours, allowed values, bounds): one line, "
        "nothing runs and no run is recorded. Every run goes into the history (`report history`); a failure "
        "publishes report_failed to the alerts topic once per failing streak, the next success report_recovered. "
        "A transient AWS error reruns the notebook up to ENERGY_REPORT_RETRIES times (default 2).",
        run=cmd_run,
        json=True,
    )
    p.add_argument("notebook", help="a notebook name in notebooks/ (e.g. 04-report-business) or a path")
    p.add_argument(
        "-p", "--parameter", nargs=2, action="append", metavar=("NAME", "VALUE"), help="override a parameter"
    )
    p.add_argument("--notebooks-dir", default=str(NOTEBOOKS), help="folder of the notebooks")
    p.add_argument(
        "--timeout",
        type=seconds,
        metavar="SECONDS",
        help="stop the run after this many seconds: failed, reason timeout (default ENERGY_REPORT_TIMEOUT_S, 3600)",
    )

    p = command(
        actions,
        "due",
        "run every scheduled report that is due (for cron; idempotent per period)",
        "An entry of the schedule file is due when it has no run (succeeded, failed or running) in its hour, "
        "day or week. The schedule file is checked first, every entry's parameters as `report run` checks them: "
        "exit 2 and nothing runs when it is refused. Each run may take its entry's timeout_s (default: the file's "
        "top-level timeout_s, else ENERGY_REPORT_TIMEOUT_S). Exit 1 when a run failed.",
        run=cmd_due,
        json=True,
    )
    p.add_argument("--schedule", default=str(SCHEDULE), help="schedule file (default: schedule.toml)")
    p.add_argument("--notebooks-dir", default=str(NOTEBOOKS), help="folder of the notebooks")
    p.add_argument("--now", type=utc_argument, help="pretend it is this UTC time (for back-fills and tests)")
    p.add_argument("--list", action="store_true", help="show what is due without running it")

    p = command(
        actions,
        "publish-summary",
        "publish a period's fleet summary to the alerts topic",
        "The message carries kind=summary and no severity, so subscribers filter it apart from anomaly alerts.",
        run=cmd_publish_summary,
        local=True,
    )
    utc_range(
        p,
        "start, UTC, a whole hour (default: yesterday 00:00)",
        "end, UTC, exclusive, a whole hour (default: today 00:00)",
    )

    p = command(
        actions,
        "history",
        "every finished run with its figures, oldest first",
        "One row per run: notebook, schedule entry and period, parameters, status, reason, start, duration, "
        "attempts, the figures the notebook recorded and the alert it published; read from the history table "
        "(reports/history.parquet on the local target, s3://<bucket>/reports/history.parquet on AWS).",
        run=cmd_history,
        json=True,
    )
    p.add_argument("--notebook", help="only the runs of this notebook (or schedule entry)")
    p.add_argument("--since", type=utc_argument, help="only runs started at or after this UTC time")

    p = command(actions, "index", "rebuild reports/index.html", run=cmd_index)

    p = command(
        commands,
        "demo",
        "the main job: local stack up, every notebook as a report, the fleet summary, the index's path",
        "The fleet summary is that of the business report's period; on the local target it then says that the "
        "stack still runs and how to stop it. Exit 1 when a notebook failed.",
        run=cmd_demo,
    )
    p.add_argument("--notebooks-dir", default=str(NOTEBOOKS), help="folder of the notebooks")
