"""``energy-workbook lake ...``: SQL over the history lake (DuckDB locally, Athena on AWS), its state,
compaction on demand, and a simulated year written straight into it."""

from __future__ import annotations

import argparse
from typing import Any

from energy_lib.config import Settings
from energy_lib.workbook.cli.common import UsageError, command, emit, positive_int, utc_argument

DEFAULT_YEAR_START = "2025-01-01T00:00:00Z"


def cmd_sql(args: argparse.Namespace, settings: Settings) -> int:
    from energy_lib.workbook.lake import engines

    frame = engines.sql(settings, args.query, args.lake_dir)
    if args.json:
        emit(engines.records(frame), True)
    else:
        print(frame.to_string(index=False, max_colwidth=80, na_rep="") if len(frame) else "(no rows)")
    return 0


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    from energy_lib.workbook.lake import admin

    emit(admin.status(settings), args.json)
    return 0


def cmd_compact(args: argparse.Namespace, settings: Settings) -> int:
    from energy_lib.clients import client
    from energy_lib.compaction.days import compact

    results = compact(settings, client("s3", settings))
    emit([result.row() for result in results], args.json)
    return 0


def cmd_backfill(args: argparse.Namespace, settings: Settings) -> int:
    from energy_lib.validation import SITE_ID
    from energy_lib.workbook.lake import admin

    for site in args.site or []:
        if not SITE_ID.fullmatch(site):
            raise UsageError(f"not a site id: {site!r}")
    emit(admin.backfill(settings, args.site), args.json)
    return 0


def cmd_simulate_year(args: argparse.Namespace, settings: Settings) -> int:
    from energy_lib.workbook import simulator
    from energy_lib.workbook.simulator.year import write_history

    try:
        fleet = simulator.default_fleet(args.sites)
        run = write_history(
            settings,
            fleet,
            args.start or utc_argument(DEFAULT_YEAR_START),
            args.days,
            args.interval_minutes,
            args.anomaly_rate,
            args.seed,
            lake_dir=args.lake_dir,
            progress=not args.json,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    emit(
        {
            "sites": run.sites,
            "days": run.days,
            "readings": run.readings,
            "anomalies": run.anomalies,
            "size_bytes": run.size_bytes,
        },
        args.json,
    )
    return 0


def _lake_dir(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--lake-dir",
        help=f"{what} a folder with the lake's layout (readings/day=YYYY-MM-DD/*.parquet) instead of the bucket",
    )


def add_commands(commands: Any) -> None:
    group = command(
        commands,
        "lake",
        "the history lake: SQL over every stored reading, its state, compaction",
        "Every stored reading also lands as Parquet under lake/ in the data bucket, one file per UTC day, kWh "
        "as DECIMAL(38, 9). The table is `readings`: DuckDB reads it on the local target, Athena on AWS.",
    )
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")

    p = command(
        actions,
        "sql",
        "run SQL over the table readings",
        "DuckDB on the local target (or over --lake-dir), Athena on AWS; the same SQL on both. Columns: site_id, "
        'timestamp (UTC; write "timestamp"), energy_generated_kwh, energy_consumed_kwh, net_energy_kwh, anomaly, '
        "anomaly_reasons, severity, rounded (the fields rounded to 9 decimals), source_key, ingested_at, "
        "sequence_number, day (YYYY-MM-DD, the partition: "
        "on Athena always constrain it). --json prints decimals exactly.",
        run=cmd_sql,
        local=True,
        json=True,
    )
    p.add_argument("query", help='e.g. "SELECT site_id, sum(energy_generated_kwh) FROM readings GROUP BY 1"')
    _lake_dir(p, "query")

    p = command(
        actions,
        "status",
        "change objects waiting for compaction and the day files",
        "Pending change objects and the age of the oldest (the lake's lag), day files, first and last day, size.",
        run=cmd_status,
        local=True,
        json=True,
    )

    p = command(
        actions,
        "compact",
        "fold the waiting change objects into the day files now",
        "The job the compaction function runs every 5 minutes on AWS (every 2 s on the local stack); "
        "idempotent, safe next to a scheduled run. One row per day: status, change objects, lines, rows.",
        run=cmd_compact,
        local=True,
        json=True,
    )

    p = command(
        actions,
        "backfill",
        "write readings stored before the lake existed as change objects",
        "For a deployment upgraded to this version: every stored reading of the chosen sites (default: every "
        "site with readings) as change objects, one per site and UTC day, which compaction folds in (then "
        "`wait`). They carry the lowest sequence number, so whatever the stream brings wins over them: safe "
        "while files arrive, and a second run changes nothing. One paged Query per site.",
        run=cmd_backfill,
        local=True,
        json=True,
    )
    p.add_argument("--site", action="append", metavar="SITE", help="a site id (repeat for more; default: every site)")

    p = command(
        actions,
        "simulate-year",
        "write simulated history straight into the lake (for benchmarks)",
        "The simulator's fleet for --days whole UTC days from --start, judged by the pipeline's rules, written "
        "as day files without going through raw/, DynamoDB or the stream (so the tables do not hold these "
        "readings). Days that already have a file are refused. 100 sites x 365 days at 5 minutes is 10.5 "
        "million readings, in a few minutes on two cores.",
        run=cmd_simulate_year,
        local=True,
        json=True,
    )
    p.add_argument("--sites", type=positive_int, default=100, help="number of sites (default 100)")
    p.add_argument("--start", type=utc_argument, help=f"first day, a UTC midnight (default {DEFAULT_YEAR_START})")
    p.add_argument("--days", type=positive_int, default=365, help="number of days (default 365)")
    p.add_argument("--interval-minutes", type=int, default=5, help="minutes between readings (default 5)")
    p.add_argument("--anomaly-rate", type=float, default=0.02, help="share of readings made anomalous (default 0.02)")
    p.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    _lake_dir(p, "write into")
