"""energy-workbook: drive the energy pipeline from a terminal or cron, on the local stack or on AWS.

Every command has --help; commands that print data take --json. Exit codes: 0 done; 1 a failed
operation (a failed check, a failed report, an AWS error); 2 bad input (one line on stderr); 3 `local
status` when the stack is not running; 130 interrupted."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from energy_lib import raw_objects, wording
from energy_lib.config import LOCAL_WINDOWS, Settings
from energy_lib.errors import ConfigError, EnergyError, QueryError
from energy_lib.timeutil import format_timestamp
from energy_lib.wording import count
from energy_lib.workbook.cli import dashboard, fleet, lake, reports, simulate, sites
from energy_lib.workbook.cli.common import (
    Parser,
    UsageError,
    command,
    emit,
    positive_int,
    seconds,
    summary_table,
    utc_range,
)
from energy_lib.workbook.infra.spec import LAKE_DELAY_BOUND_MIN, ROLLUPS_DELAY_BOUND_MIN

# --- commands -------------------------------------------------------------------------------------


def cmd_config(args: argparse.Namespace, settings: Settings) -> None:
    emit(settings.public_view(), args.json)


def cmd_local(args: argparse.Namespace, settings: Settings) -> int:
    from energy_lib.workbook.local import stack as local_stack

    if args.windows is not None and args.action != "up":
        raise UsageError("--windows goes with up only")
    if args.action == "up":
        emit(local_stack.up(settings, windows=args.windows), args.json)
    elif args.action == "status":
        info = local_stack.status(settings)
        emit(info, args.json)
        return 0 if info["running"] else 3
    else:
        stopped = local_stack.down(settings)
        emit({"stopped": stopped}, args.json)
    return 0


def cmd_lambda(args: argparse.Namespace, settings: Settings) -> None:
    from energy_lib.workbook.infra import lambda_build

    for output, members in (
        (args.output, lambda_build.zip_members()),
        (args.compaction_output, lambda_build.compaction_members()),
    ):
        path = lambda_build.build_zip(Path(output), members)
        print(f"{path} ({count(path.stat().st_size, 'byte')}, {count(len(members), 'file')})")


def cmd_wait(args: argparse.Namespace, settings: Settings) -> int:
    from energy_lib.workbook.aws import ops

    def show(counts: dict[str, int]) -> None:
        if not args.json:
            print("  ".join(f"{k}={v}" for k, v in counts.items()), file=sys.stderr)

    counts = ops.wait(settings, timeout_s=args.timeout, progress=show)
    emit(counts, args.json)
    if counts.get("failed"):
        failed = count(counts["failed"], "object")
        print(f"error: {failed} failed; see `energy-workbook ingest status`", file=sys.stderr)
        return 1
    return 0


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> None:
    from energy_lib.clients import client

    emit(raw_objects.ingest_status(settings, client("s3", settings), client("dynamodb", settings)), args.json)


def cmd_query(args: argparse.Namespace, settings: Settings) -> None:
    from energy_lib import query
    from energy_lib.clients import client

    dynamodb = client("dynamodb", settings)
    if args.what in ("readings", "anomalies"):
        from energy_lib.workbook.lake import stores  # older than the hot window: the lake's

        rows = getattr(stores, args.what)(settings, dynamodb, args.site, args.start, args.end)
        if not rows and args.site is not None:
            _check_known_site(query.sites(settings, dynamodb), args.site)
            if not args.json:
                print(f"no {args.what} of {args.site} {_range_words(args.start, args.end)}")
                return
        emit(rows, args.json)
    elif args.what == "summary":
        result = query.summary(settings, dynamodb, args.start, args.end)
        if not args.json and not result["fleet"]["readings"]:
            as_of = wording.moment(result["complete_through"])
            print(f"no readings {_range_words(args.start, args.end)} as of {as_of} UTC: nothing to summarise")
            return
        emit(result if args.json else summary_table(result), args.json)
        if not args.json:
            print(wording.freshness(result["fleet"], result["complete_through"]))
    elif args.what == "sites":
        emit(query.sites(settings, dynamodb), args.json)
    else:
        emit(raw_objects.files(settings, client("s3", settings), args.prefix, args.limit), args.json)


KNOWN_SITES_SHOWN = 10  # sites named in the hint for an unknown site


def _check_known_site(known: list[str], site_id: str) -> None:
    """Refuse a site that has no readings at all (bad input, exit 2), naming the sites that have some."""
    if site_id in known:
        return
    hint = ", ".join(known[:KNOWN_SITES_SHOWN]) + (
        f" and {len(known) - KNOWN_SITES_SHOWN} more" if len(known) > KNOWN_SITES_SHOWN else ""
    )
    raise UsageError(
        f"site {site_id!r} has no readings: it is unknown here. "
        + (f"Sites with readings: {hint} (see `energy-workbook query sites`)" if known else "No site has readings yet.")
    )


def _range_words(start: datetime | None, end: datetime | None) -> str:
    """``from 2025-06-11T00:00:00Z to 2025-06-12T00:00:00Z (end excluded)``, or ``stored`` without a range."""
    if start is None and end is None:
        return "stored"
    first = format_timestamp(start) if start else "the first"
    last = format_timestamp(end) if end else "the last"
    return f"from {first} to {last} (end excluded)"


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    from energy_lib.workbook.aws import checks

    results = checks.run(settings)
    emit([check.row() for check in results], args.json)
    print(checks.verdict(results), file=sys.stderr)
    return 0 if all(check.passed for check in results) else 1


def cmd_ops(args: argparse.Namespace, settings: Settings) -> None:
    from energy_lib.workbook.aws import ops

    if (args.site or args.scan_sites) and args.action != "rebuild-rollups":
        raise UsageError("--site and --scan-sites go with rebuild-rollups only")
    actions: dict[str, Callable[[], Any]] = {
        "health": lambda: ops.health(settings),
        "depths": lambda: ops.queue_depths(settings),
        "alerts": lambda: ops.alerts(settings),
        "dead-letters": lambda: ops.dead_letters(settings),
        "redrive": lambda: {"moved": ops.redrive(settings)},
        "quarantine": lambda: ops.quarantine(settings, reasons=True),
        "rebuild-rollups": lambda: ops.rebuild_rollups(
            settings, args.site or (), scan_sites=args.scan_sites, progress=not args.json
        ),
    }
    emit(actions[args.action](), args.json)


# --- parser ---------------------------------------------------------------------------------------


def _range(parser: argparse.ArgumentParser) -> None:
    utc_range(parser, "first moment, UTC ISO-8601 (inclusive)", "last moment, UTC ISO-8601 (exclusive)")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="energy-workbook", description=__doc__)
    parser.add_argument("--target", choices=("local", "aws"), help="where the pipeline runs (default: ENERGY_TARGET)")
    parser.add_argument("--port", type=int, help="local stack port on 127.0.0.1 (default: ENERGY_LOCAL_PORT)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = command(
        commands,
        "config",
        "show the resolved configuration",
        "Target, region, endpoint, bucket, prefixes, table, queue and topic names, from ENERGY_* variables and "
        "ENERGY_TERRAFORM_OUTPUTS (a saved `terraform output -json`).",
        run=cmd_config,
        json=True,
    )

    p = command(
        commands,
        "local",
        "start, inspect or stop the embedded local AWS",
        "up: start moto's server on 127.0.0.1 and the local Lambda runtime in the background, provisioned "
        "like production (does nothing when it already runs). status: what runs where (exit 3 when it is "
        "not running). down: stop it. State lives in memory: down forgets every object and reading.",
        run=cmd_local,
        json=True,
    )
    p.add_argument("action", choices=("up", "status", "down"))
    p.add_argument(
        "--windows",
        choices=LOCAL_WINDOWS,
        help="up: how the rollups' 15-minute tumbling windows end: idle (default: as soon as the stream has nothing "
        "new, so rollups follow in seconds) or clock (at the window's end, as on AWS: summaries then add the "
        "readings of the open window, and `wait` waits for the window)",
    )

    p = command(
        commands,
        "lambda",
        "build the Lambda zips",
        "build: write the entry points (handler.py for ingest, aggregator.py for the rollups and the lake's change "
        "objects) and the Lambda side of energy_lib (stdlib and boto3 only) into a zip, the same bytes for the same "
        "sources; terraform/ deploys build/lambda.zip as both functions. Also the lake's compaction function "
        "(compaction.py, the Lambda side and the lake's compaction modules; pyarrow comes from its layer), which "
        "terraform/lake.tf deploys from build/compaction.zip.",
        run=cmd_lambda,
    )
    p.add_argument("action", choices=("build",))
    p.add_argument("--output", default="build/lambda.zip", help="where to write the zip (default build/lambda.zip)")
    p.add_argument(
        "--compaction-output",
        default="build/compaction.zip",
        help="where to write the compaction function's zip (default build/compaction.zip)",
    )

    simulate.add_commands(commands)

    p = command(
        commands,
        "wait",
        "wait until every raw object is processed, the queue is empty, the rollups and the lake caught up",
        "Exit 0 once every object under raw/ has a final ledger status, the ingest queue is empty, the rollups "
        "have taken in every reading written (the readings stream is drained; summaries need no wait, they add "
        "what the rollups miss), and no change object waits for the lake's compaction (seconds locally, until the "
        "window's end with `local up --windows clock`; on AWS up to "
        f"{ROLLUPS_DELAY_BOUND_MIN} minutes for the rollups, which are written once per tumbling window, and "
        f"{LAKE_DELAY_BOUND_MIN} for the lake: give --timeout 1200 there); exit 1 when objects failed (also an "
        "attempt that stopped and whose lease expired: see `ingest status`) or at the timeout. Progress goes to "
        "stderr.",
        run=cmd_wait,
        local=True,
        json=True,
    )
    p.add_argument("--timeout", type=seconds, default=300, help="seconds before giving up (default 300)")

    p = command(
        commands,
        "ingest",
        "ledger status of every raw object",
        "status: one row per object under raw/ (its current version): key, version_id, etag, status (pending, "
        "processing, processed, rejected, superseded, failed), read, stored, quarantined, anomalies, rounded (stored "
        "readings with a value rounded to 9 decimals), error.",
        run=cmd_ingest,
        local=True,
        json=True,
    )
    p.add_argument("action", choices=("status",))

    p = command(
        commands,
        "query",
        "query readings, anomalies, summaries, sites and files",
        "No query scans a table: key conditions, sparse anomaly indexes and the rollups. Readings older than the "
        "hot window (readings_ttl_days) come from the lake (DuckDB locally, Athena on AWS).",
        run=cmd_query,
        local=True,
    )
    what = p.add_subparsers(dest="what", required=True, metavar="WHAT")
    q = command(
        what,
        "readings",
        "readings of one site",
        "Ranges are [start, end) in UTC; no range: all; older than the hot window: from the lake. A site with no "
        "readings at all is bad input (exit 2, naming the sites that have readings); a site with none in the range "
        "says so.",
        json=True,
    )
    q.add_argument("--site", required=True, help="site id")
    _range(q)
    q = command(
        what,
        "anomalies",
        "anomalies of one site, or of all sites in a range",
        "All sites need --start and --end.",
        json=True,
    )
    q.add_argument("--site", help="site id (omit for all sites; then --start and --end are required)")
    _range(q)
    q = command(
        what,
        "summary",
        "totals per site and fleet (all time without a range)",
        "Generated, consumed and net kWh of the valid readings and, apart, of the flagged ones (flagged_*), "
        "efficiency % (valid generated / valid consumed), readings, valid readings, anomalies by severity and "
        "anomaly rate %, read from the hourly and daily rollups, plus the readings stored after them (the "
        "rollups trail by up to a window): exact when asked. Per site and fleet, readings_after_rollups; per "
        "site, rolled_up_through (its rollups' watermark); complete_through: the moment the summary is exact to. "
        "--start and --end must be whole UTC hours. A ratio that is undefined prints n/a; a period without "
        "readings prints one line.",
        json=True,
    )
    _range(q)
    q = command(what, "sites", "sites that have readings", json=True)
    q = command(
        what, "files", "raw objects", "Key, size, ETag and time of the objects under raw/ (or --prefix).", json=True
    )
    q.add_argument("--prefix", help="list this prefix instead of raw/")
    q.add_argument("--limit", type=positive_int, help="at most this many")

    p = command(
        commands,
        "check",
        "provisioning checks: every resource and setting",
        "Reads back the bucket, queues, tables, topic, function and log group and compares each setting "
        "with the shared spec (the one terraform/ follows). Exit 1 when any check fails.",
        run=cmd_check,
        local=True,
        json=True,
    )

    p = command(
        commands,
        "ops",
        "operations: health, queue depths, alerts, dead letters, redrive, quarantine, rebuild-rollups",
        "health: one cheap call per resource, each healthy, degraded (a dead-letter queue that holds messages, with "
        "the count) or unhealthy (it does not answer). depths: messages in the ingest queue, its dead-letter queue and "
        "the rollups' dead-letter queue. alerts: what the alerts topic delivered to its queue. dead-letters: "
        "messages that failed maxReceiveCount times. redrive: move them back to the ingest queue. quarantine: "
        "rejected readings and files, with their reasons. rebuild-rollups: recompute every rollup of every site "
        "(those with an all-time rollup, --site, and with --scan-sites every site in the readings table) from its "
        "readings; safe while the pipeline runs; the way to migrate and the way back from any doubt.",
        run=cmd_ops,
        local=True,
        json=True,
    )
    p.add_argument(
        "action",
        choices=("health", "depths", "alerts", "dead-letters", "redrive", "quarantine", "rebuild-rollups"),
    )
    p.add_argument("--site", action="append", help="rebuild-rollups: also this site (repeat for more)")
    p.add_argument(
        "--scan-sites",
        action="store_true",
        help="rebuild-rollups: find the sites with a Scan of the readings table (reads every reading once)",
    )

    reports.add_commands(commands)
    sites.add_commands(commands)
    lake.add_commands(commands)
    fleet.add_commands(commands)
    dashboard.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        settings = Settings.from_env(target=args.target, local_port=args.port)
        if args.local:
            from energy_lib.workbook.connect import ready

            ready(settings)
        return int(args.run(args, settings) or 0)
    except (UsageError, ConfigError, QueryError) as exc:
        print(f"energy-workbook: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (`... | head`): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the final flush goes nowhere, quietly
        return 0
    except (EnergyError, ClientError, BotoCoreError, OSError) as exc:
        print(f"energy-workbook: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("energy-workbook: interrupted", file=sys.stderr)
        return 130
