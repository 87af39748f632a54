"""``energy-workbook``: drive the pipeline from a terminal or cron. Every command has ``--help``;
commands that print data take ``--json``. Bad input gets one line on stderr and exit code 2; a failed
operation exit code 1; never a traceback."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from energy_lib import query
from energy_lib.config import Settings
from energy_lib.errors import ConfigError, EnergyError, QueryError
from energy_lib.workbook import checks, lambda_build, local_stack, ops, simulator
from energy_lib.workbook.session import aws

Command = Callable[[argparse.Namespace, Settings], Any]


class UsageError(Exception):
    """Bad input on the command line: exit code 2."""


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__}")


def emit(data: Any, as_json: bool) -> None:
    """Print ``data`` as JSON, or as a readable table or lines."""
    if as_json:
        print(json.dumps(data, default=_default, indent=2))
    elif isinstance(data, list) and data and isinstance(data[0], dict):
        import pandas as pd

        print(pd.DataFrame(data).to_string(index=False, max_colwidth=80))
    elif isinstance(data, dict):
        for key, value in data.items():
            print(f"{key}: {json.dumps(value, default=_default) if isinstance(value, (dict, list)) else value}")
    elif data == []:
        print("(none)")
    else:
        print(data)


def _utc_text(value: str) -> datetime:
    try:
        moment = query.utc(value)
    except QueryError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
    assert moment is not None
    return moment


# --- commands -------------------------------------------------------------------------------------


def cmd_config(args: argparse.Namespace, settings: Settings) -> None:
    emit(settings.public_view(), args.json)


def cmd_local(args: argparse.Namespace, settings: Settings) -> int:
    if args.action == "up":
        emit(local_stack.up(settings), args.json)
    elif args.action == "status":
        info = local_stack.status(settings)
        emit(info, args.json)
        return 0 if info["running"] else 3
    else:
        stopped = local_stack.down(settings)
        emit({"stopped": stopped}, args.json)
    return 0


def cmd_lambda(args: argparse.Namespace, settings: Settings) -> None:
    path = lambda_build.build_zip(Path(args.output))
    print(f"{path} ({path.stat().st_size} bytes, {len(lambda_build.zip_members())} files)")


def cmd_simulate(args: argparse.Namespace, settings: Settings) -> None:
    try:
        fleet = simulator.default_fleet(args.sites)
        s3 = aws(settings, "s3")
        if args.continuous:
            batches = simulator.run_continuous(
                fleet,
                settings.bucket,
                s3,
                every_minutes=args.every_minutes,
                max_batches=args.max_batches,
                interval_minutes=args.interval_minutes,
                anomaly_rate=args.anomaly_rate,
                seed=args.seed,
            )
            emit({"batches": batches}, args.json)
            return
        run = simulator.simulate(fleet, args.start, args.hours, args.interval_minutes, args.anomaly_rate, args.seed)
        files = simulator.to_files(run, fmt=args.format, raw_prefix=settings.raw_prefix)
        uploaded = simulator.upload(files, settings.bucket, s3, progress=not args.json)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    emit(
        {
            "sites": len(fleet),
            "readings": len(run.readings),
            "injected_anomalies": run.injected_anomalies,
            "files": uploaded,
        },
        args.json,
    )


def cmd_wait(args: argparse.Namespace, settings: Settings) -> int:
    def show(counts: dict[str, int]) -> None:
        if not args.json:
            print("  ".join(f"{k}={v}" for k, v in counts.items()), file=sys.stderr)

    counts = ops.wait(settings, timeout_s=args.timeout, progress=show)
    emit(counts, args.json)
    if counts.get("failed"):
        print(f"error: {counts['failed']} objects failed; see `energy-workbook ingest status`", file=sys.stderr)
        return 1
    return 0


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> None:
    emit(query.ingest_status(settings, aws(settings, "s3"), aws(settings, "dynamodb")), args.json)


def cmd_query(args: argparse.Namespace, settings: Settings) -> None:
    dynamodb = aws(settings, "dynamodb")
    if args.what == "readings":
        emit(query.readings(settings, dynamodb, args.site, args.start, args.end), args.json)
    elif args.what == "anomalies":
        emit(query.anomalies(settings, dynamodb, args.site, args.start, args.end), args.json)
    elif args.what == "summary":
        result = query.summary(settings, dynamodb, args.start, args.end)
        fleet = {"site_id": "FLEET", **{k: v for k, v in result["fleet"].items() if k != "sites"}}
        emit(result if args.json else [*result["sites"], fleet], args.json)
    elif args.what == "sites":
        emit(query.sites(settings, dynamodb), args.json)
    else:
        emit(query.files(settings, aws(settings, "s3"), args.prefix, args.limit), args.json)


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    results = checks.run(settings)
    emit([check.row() for check in results], args.json)
    print(checks.verdict(results), file=sys.stderr)
    return 0 if all(check.passed for check in results) else 1


def cmd_ops(args: argparse.Namespace, settings: Settings) -> None:
    actions: dict[str, Callable[[], Any]] = {
        "health": lambda: ops.health(settings),
        "depths": lambda: ops.queue_depths(settings),
        "alerts": lambda: ops.alerts(settings),
        "dead-letters": lambda: ops.dead_letters(settings),
        "redrive": lambda: {"moved": ops.redrive(settings)},
        "quarantine": lambda: ops.quarantine(settings),
    }
    emit(actions[args.action](), args.json)


# --- parser ---------------------------------------------------------------------------------------


def _json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON")


def _range(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--start", type=_utc_text, help="first moment, UTC ISO-8601 (inclusive)")
    parser.add_argument("--end", type=_utc_text, help="last moment, UTC ISO-8601 (exclusive)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="energy-workbook", description=__doc__)
    parser.add_argument("--target", choices=("local", "aws"), help="where the pipeline runs (default: ENERGY_TARGET)")
    parser.add_argument("--port", type=int, help="local stack port on 127.0.0.1 (default: ENERGY_LOCAL_PORT)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser("config", help="show the resolved configuration")
    _json_flag(p)
    p.set_defaults(run=cmd_config, local=False)

    p = commands.add_parser("local", help="start, inspect or stop the embedded local AWS")
    p.add_argument("action", choices=("up", "status", "down"))
    _json_flag(p)
    p.set_defaults(run=cmd_local, local=False)

    p = commands.add_parser("lambda", help="build the Lambda zip")
    p.add_argument("action", choices=("build",))
    p.add_argument("--output", default="build/lambda.zip", help="where to write the zip (default build/lambda.zip)")
    p.set_defaults(run=cmd_lambda, local=False)

    p = commands.add_parser("simulate", help="simulate a fleet and upload its readings under raw/")
    p.add_argument("--sites", type=int, default=5, help="number of sites (default 5)")
    p.add_argument("--start", type=_utc_text, default="2025-06-11T00:00:00Z", help="first reading, UTC")
    p.add_argument("--hours", type=float, default=24, help="hours of readings (default 24)")
    p.add_argument("--interval-minutes", type=int, default=5, help="minutes between readings (default 5)")
    p.add_argument("--anomaly-rate", type=float, default=0.02, help="share of readings made anomalous (0.02)")
    p.add_argument("--seed", type=int, default=42, help="random seed; the same seed gives the same files")
    p.add_argument("--format", default="json", choices=("json", "jsonl", "csv", "json.gz"), help="file format")
    p.add_argument("--continuous", action="store_true", help="keep uploading new readings until Ctrl-C")
    p.add_argument("--every-minutes", type=float, default=5, help="with --continuous: minutes between batches")
    p.add_argument("--max-batches", type=int, help="with --continuous: stop after this many batches")
    _json_flag(p)
    p.set_defaults(run=cmd_simulate, local=True)

    p = commands.add_parser("wait", help="wait until every raw object is processed and the queue is empty")
    p.add_argument("--timeout", type=float, default=300, help="seconds before giving up (default 300)")
    _json_flag(p)
    p.set_defaults(run=cmd_wait, local=True)

    p = commands.add_parser("ingest", help="ledger status of every raw object")
    p.add_argument("action", choices=("status",))
    _json_flag(p)
    p.set_defaults(run=cmd_ingest, local=True)

    p = commands.add_parser("query", help="query readings, anomalies, summaries, sites and files")
    what = p.add_subparsers(dest="what", required=True, metavar="WHAT")
    q = what.add_parser("readings", help="readings of one site")
    q.add_argument("--site", required=True, help="site id")
    _range(q)
    _json_flag(q)
    q = what.add_parser("anomalies", help="anomalies of one site, or of all sites in a range")
    q.add_argument("--site", help="site id (omit for all sites; then --start and --end are required)")
    _range(q)
    _json_flag(q)
    q = what.add_parser("summary", help="totals per site and fleet (all time without a range)")
    _range(q)
    _json_flag(q)
    q = what.add_parser("sites", help="sites that have readings")
    _json_flag(q)
    q = what.add_parser("files", help="raw objects")
    q.add_argument("--prefix", help="list this prefix instead of raw/")
    q.add_argument("--limit", type=int, help="at most this many")
    _json_flag(q)
    p.set_defaults(run=cmd_query, local=True)

    p = commands.add_parser("check", help="provisioning checks: every resource and setting")
    _json_flag(p)
    p.set_defaults(run=cmd_check, local=True)

    p = commands.add_parser("ops", help="operations: health, queue depths, alerts, dead letters, redrive")
    p.add_argument("action", choices=("health", "depths", "alerts", "dead-letters", "redrive", "quarantine"))
    _json_flag(p)
    p.set_defaults(run=cmd_ops, local=True)

    from energy_lib.workbook import report_cli

    report_cli.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env(target=args.target, local_port=args.port)
        if args.local:
            local_stack.ensure_running(settings)
        return int(args.run(args, settings) or 0)
    except (UsageError, ConfigError, QueryError) as exc:
        print(f"energy-workbook: error: {exc}", file=sys.stderr)
        return 2
    except (EnergyError, ClientError, BotoCoreError, OSError) as exc:
        print(f"energy-workbook: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("energy-workbook: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
