"""``energy-workbook report ...`` and ``energy-workbook demo``: notebooks run by papermill into
``reports/<notebook>/<run-id>/`` with HTML, an index page, and the schedule for cron."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from energy_lib import alerts, query
from energy_lib.config import Settings
from energy_lib.readings import format_timestamp
from energy_lib.workbook import local_stack, reports
from energy_lib.workbook.cli import emit
from energy_lib.workbook.session import aws

PROJECT = Path(__file__).resolve().parents[2]
NOTEBOOKS = PROJECT / "notebooks"
SCHEDULE = PROJECT / "schedule.toml"


def _print_runs(runs: list[reports.RunRecord], as_json: bool, reports_dir: str) -> None:
    if as_json:
        print(json.dumps([run.to_json(reports_dir) for run in runs], indent=2))
        return
    for run in runs:
        print(f"{run.status:<10} {run.notebook}  {run.html}" + (f"\n           {run.error}" if run.error else ""))


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    parameters = {name: value for name, value in args.parameter or []}
    try:
        run = reports.run_report(args.notebook, parameters, settings.reports_dir, args.notebooks_dir)
    except reports.ReportFailed as failure:
        _print_runs(failure.runs, args.json, settings.reports_dir)
        print(f"energy-workbook: error: {failure}", file=sys.stderr)
        return 1
    _print_runs([run], args.json, settings.reports_dir)
    return 0


def cmd_due(args: argparse.Namespace, settings: Settings) -> int:
    if args.list:
        due = reports.due(args.schedule, settings.reports_dir, args.now)
        emit(
            [{"notebook": d.entry.notebook, "every": d.entry.every, "parameters": d.parameters} for d in due], args.json
        )
        return 0
    try:
        runs = reports.run_due(args.schedule, settings.reports_dir, args.notebooks_dir, args.now)
    except reports.ReportFailed as failure:
        _print_runs(failure.runs, args.json, settings.reports_dir)
        print(f"energy-workbook: error: {failure}", file=sys.stderr)
        return 1
    _print_runs(runs, args.json, settings.reports_dir)
    if not runs and not args.json:
        print("nothing due", file=sys.stderr)
    return 0


def cmd_index(args: argparse.Namespace, settings: Settings) -> None:
    print(reports.write_index(settings.reports_dir))


def cmd_publish_summary(args: argparse.Namespace, settings: Settings) -> None:
    """Publish the summary of ``[start, end)`` (default: the previous UTC day) to the alerts topic."""
    end = args.end or datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    start = args.start or end - timedelta(days=1)
    summary = query.summary(settings, aws(settings, "dynamodb"), start, end)
    request = alerts.summary_message(summary, format_timestamp(start), format_timestamp(end))
    message_id = aws(settings, "sns").publish(TopicArn=settings.topic_arn, **request)["MessageId"]
    print(f"published {request['Subject']!r} ({message_id})")


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    """Local stack up, every notebook through the report runner in order, then the index's path."""
    if settings.target == "local":
        print(f"local stack: {local_stack.up(settings)['endpoint_url']}", file=sys.stderr)
    failed = 0
    for notebook in sorted(path.stem for path in Path(args.notebooks_dir).glob("[0-9][0-9]-*.ipynb")):
        print(f"running {notebook} ...", file=sys.stderr)
        try:
            run = reports.run_report(notebook, {"target": settings.target}, settings.reports_dir, args.notebooks_dir)
        except reports.ReportFailed as failure:
            failed += 1
            run = failure.failed[0]
        print(f"  {run.status}: {run.html}", file=sys.stderr)
    print(Path(settings.reports_dir, reports.INDEX_FILE).resolve())
    return 1 if failed else 0


def add_commands(commands: Any) -> None:
    report = commands.add_parser("report", help="run notebooks as reports (papermill + HTML), on demand or schedule")
    actions = report.add_subparsers(dest="action", required=True, metavar="ACTION")

    p = actions.add_parser("run", help="run one notebook into reports/<notebook>/<run-id>/ and export HTML")
    p.add_argument("notebook", help="a notebook name in notebooks/ (e.g. 04-report-business) or a path")
    p.add_argument(
        "-p", "--parameter", nargs=2, action="append", metavar=("NAME", "VALUE"), help="override a parameter"
    )
    p.add_argument("--notebooks-dir", default=str(NOTEBOOKS), help="folder of the notebooks")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=cmd_run, local=False)

    p = actions.add_parser("due", help="run every scheduled report that is due (for cron; idempotent per period)")
    p.add_argument("--schedule", default=str(SCHEDULE), help="schedule file (default: schedule.toml)")
    p.add_argument("--notebooks-dir", default=str(NOTEBOOKS), help="folder of the notebooks")
    p.add_argument("--now", type=query.utc, help="pretend it is this UTC time (for back-fills and tests)")
    p.add_argument("--list", action="store_true", help="show what is due without running it")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=cmd_due, local=False)

    p = actions.add_parser("publish-summary", help="publish a period's fleet summary to the alerts topic")
    p.add_argument("--start", type=query.utc, help="start, UTC (default: yesterday 00:00)")
    p.add_argument("--end", type=query.utc, help="end, UTC, exclusive (default: today 00:00)")
    p.set_defaults(run=cmd_publish_summary, local=True)

    p = actions.add_parser("index", help="rebuild reports/index.html")
    p.set_defaults(run=cmd_index, local=False)

    p = commands.add_parser("demo", help="local stack up, every notebook as a report, print the index's path")
    p.add_argument("--notebooks-dir", default=str(NOTEBOOKS), help="folder of the notebooks")
    p.set_defaults(run=cmd_demo, local=False)
