"""``energy-workbook simulate``: a simulated fleet registered and its readings uploaded under raw/, once for a
period or continuously, with the faults asked for."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from typing import Any

from energy_lib.config import Settings
from energy_lib.workbook.cli.common import UsageError, command, emit, positive_int, utc_argument

DEFAULT_START = "2025-06-11T00:00:00Z"  # the simulator's default first reading: fixed, so runs repeat
FAULT_OPTIONS = (  # option, its values, what it does
    ("--silent", ("SITE", "FROM"), "no reading from FROM on"),
    ("--frozen", ("SITE", "START", "HOURS"), "the site's readings repeat the first one of [START, START + HOURS)"),
    ("--outage", ("SITE", "START", "HOURS"), "zero generation in [START, START + HOURS)"),
    ("--yield-loss", ("SITE", "START", "PCT_PER_DAY"), "from START, generation falls by PCT_PER_DAY %% a day"),
)


def requested_faults(args: argparse.Namespace, site_ids: list[str]) -> list[Any]:
    """The faults asked for with --silent, --frozen, --outage and --yield-loss, checked against the fleet."""
    from energy_lib.workbook.simulator import faults

    try:
        found = faults.requested(args.silent or (), args.frozen or (), args.outage or (), args.yield_loss or ())
        return list(faults.check(found, site_ids))
    except ValueError as error:
        raise UsageError(str(error)) from None


def cmd_simulate(args: argparse.Namespace, settings: Settings) -> None:
    given = {name for name in ("start", "hours", "every_minutes", "max_batches") if getattr(args, name) is not None}
    wrong = given & ({"start", "hours"} if args.continuous else {"every_minutes", "max_batches"})
    if wrong:
        names = ", ".join(f"--{name.replace('_', '-')}" for name in sorted(wrong))
        raise UsageError(f"{names} cannot go {'with' if args.continuous else 'without'} --continuous")
    from energy_lib import query
    from energy_lib.workbook.simulator import default_fleet, runs
    from energy_lib.workbook.sites import registry

    choice = runs.Choice(
        sites=args.sites,
        start=args.start or query.utc(DEFAULT_START),
        hours=24 if args.hours is None else args.hours,
        interval_minutes=args.interval_minutes,
        anomaly_rate=args.anomaly_rate,
        seed=args.seed,
        file_format=args.format,
        every_minutes=5 if args.every_minutes is None else args.every_minutes,
        max_batches=args.max_batches,
        replace=args.replace,
    )
    try:
        faults = requested_faults(args, [site.site_id for site in default_fleet(args.sites)])
        plan = runs.plan(settings, replace(choice, faults=tuple(faults)), continuous=args.continuous)
        print(runs.describe(plan), file=sys.stderr)  # before anything is written
        if args.dry_run:
            emit(runs.plan_row(plan), args.json)
        elif args.continuous:
            done = runs.run_batches(settings, plan, bar=not args.json)
            emit(
                {"sites": args.sites, "batches": done.batches, "files": done.files, "readings": done.readings},
                args.json,
            )
        else:
            emit(runs.run_once(settings, plan, bar=not args.json), args.json)
    except (ValueError, registry.RegistryError) as exc:
        raise UsageError(str(exc)) from exc


def add_commands(commands: Any) -> None:
    p = command(
        commands,
        "simulate",
        "simulate a fleet, register it and upload its readings under raw/",
        "Solar generation in each site's local day, a daily load profile, injected anomalies and, on request, "
        "faults (a site going silent, a frozen meter, a daytime outage, a slow yield loss); the fleet goes into "
        "the site registry; one file per site and UTC day, with a progress bar. Nothing stored is replaced unless "
        "--replace says so: first it says how many stored readings and registered sites the run would replace, and "
        "a run that would replace readings appends after the latest stored reading of its sites instead (a run "
        "that writes the same values again replaces nothing). One batch for a fixed period "
        "(--start, --hours), or --continuous: every N minutes the intervals completed since the last batch, "
        "until --max-batches or Ctrl-C (an upload under way finishes first).",
        run=cmd_simulate,
        local=True,
        json=True,
    )
    p.add_argument("--sites", type=positive_int, default=5, help="number of sites (default 5)")
    p.add_argument("--start", type=utc_argument, help=f"first reading, UTC (default {DEFAULT_START})")
    p.add_argument("--hours", type=float, help="hours of readings (default 24)")
    p.add_argument("--interval-minutes", type=int, default=5, help="minutes between readings (default 5)")
    p.add_argument("--anomaly-rate", type=float, default=0.02, help="share of readings made anomalous (default 0.02)")
    p.add_argument("--seed", type=int, default=42, help="random seed; the same seed gives the same files (default 42)")
    p.add_argument(
        "--format", default="json", choices=("json", "jsonl", "csv", "json.gz"), help="file format (default json)"
    )
    p.add_argument(
        "--replace",
        action="store_true",
        help="replace the readings stored in the period and the sites' registry entries (default: a run that "
        "would replace readings appends after the latest stored reading, and registered sites keep their entries)",
    )
    p.add_argument("--dry-run", action="store_true", help="say what the run would write and replace; write nothing")
    p.add_argument("--continuous", action="store_true", help="upload new readings every N minutes until Ctrl-C")
    p.add_argument("--every-minutes", type=float, help="with --continuous: minutes between batches (default 5)")
    p.add_argument("--max-batches", type=positive_int, help="with --continuous: stop after this many batches")
    faults = p.add_argument_group("faults (each may repeat; SITE is a site id such as SITE_002, times UTC)")
    for option, metavar, what in FAULT_OPTIONS:
        faults.add_argument(option, nargs=len(metavar), action="append", metavar=metavar, help=what)
