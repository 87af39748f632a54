"""``energy-workbook fleet ...``: a simulated fleet whose truth is known, written into the lake, and fleet
performance per site over a period (availability, lost energy by cause, performance ratio, degradation with its
intervals, soiling, clipping, clock shifts)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from energy_lib.config import Settings
from energy_lib.workbook.cli.common import UsageError, command, emit, positive_int, to_json, utc_argument

DEFAULT_START = "2022-01-01T00:00:00Z"
SUMMARY = (  # the columns of the table `fleet performance` prints without --json
    "site_id",
    "expectation",
    "availability_pct",
    "performance_ratio",
    "degradation_pct_per_year",
    "degradation_ci95_pct_per_year",
    "soiling_loss_pct",
    "clipping_loss_pct",
    "time_shift_minutes",
)


def cmd_simulate(args: argparse.Namespace, settings: Settings) -> int:
    from energy_lib.clients import client
    from energy_lib.workbook.simulator import fleet
    from energy_lib.workbook.sites import registry

    try:
        run = fleet.simulate_fleet(
            args.sites, args.start or utc_argument(DEFAULT_START), args.days, args.interval_minutes, args.seed
        )
    except ValueError as error:
        raise UsageError(str(error)) from None
    written = fleet.write_fleet(settings, run, args.lake_dir, stations=not args.no_stations)
    registry.put_sites(settings, client("dynamodb", settings), fleet.registry_entries(run.plants, run.interval_minutes))
    if args.truth:
        Path(args.truth).write_text(to_json(fleet.truth_document(run)) + "\n")
    emit(
        {
            "sites": written.sites,
            "days": written.days,
            "readings": written.readings,
            "size_bytes": written.size_bytes,
            "weather_stations": 0 if args.no_stations else written.sites,
            "truth": args.truth,
        },
        args.json,
    )
    return 0


def cmd_performance(args: argparse.Namespace, settings: Settings) -> int:
    from energy_lib.workbook.fleet import analysis

    if args.start is None or args.end is None:
        raise UsageError("give --start and --end (UTC midnights)")
    try:
        results = analysis.assess_registered(
            settings, args.start, args.end, args.sites or (), args.expectation, args.lake_dir
        )
    except ValueError as error:
        raise UsageError(str(error)) from None
    if not results:
        raise UsageError("no site is registered: import a CSV (energy-workbook sites import) or simulate a fleet")
    rows = [result.row() for result in results]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        emit([{name: row.get(name) for name in SUMMARY} for row in rows], False)
    return 0


def add_commands(commands: Any) -> None:
    group = command(
        commands,
        "fleet",
        "fleet performance: a simulated fleet with known truth, and what RdTools and PVAnalytics recover",
        "Per site over a period, from the lake: availability, lost energy by cause, performance ratio, "
        "degradation with its 68 % and 95 % intervals, soiling, clipping and clock shifts (docs/fleet-performance.md).",
    )
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")

    p = command(
        actions,
        "simulate",
        "write a simulated PV fleet's history into the lake, register it, and write what was injected",
        "Sites PV_001 ... at places of different climates, each with a tilt, azimuth, DC/AC ratio and "
        "commissioning date (registered), seeded weather (clear sky and clouds), and injected degradation, "
        "soiling with cleanings, clipping, outages and sometimes a clock shift. Readings go straight into the "
        "lake's day files as `lake simulate-year` writes them (a day that has a file is refused); each site's "
        "weather station series is stored as its imported weather unless --no-stations. --truth writes the "
        "injected figures with the field names of `fleet performance --json`.",
        run=cmd_simulate,
        local=True,
        json=True,
    )
    p.add_argument("--sites", type=positive_int, default=10, help="number of sites (default 10)")
    p.add_argument("--start", type=utc_argument, help=f"first day, a UTC midnight (default {DEFAULT_START})")
    p.add_argument("--days", type=positive_int, default=1096, help="number of days (default 1096: three years)")
    p.add_argument("--interval-minutes", type=positive_int, default=15, help="minutes between readings (default 15)")
    p.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    p.add_argument("--truth", metavar="FILE.json", help="write what was injected, per site, to this file")
    p.add_argument("--no-stations", action="store_true", help="store no weather series (clear-sky analysis only)")
    p.add_argument("--lake-dir", help="write into a folder with the lake's layout instead of the bucket")

    p = command(
        actions,
        "performance",
        "per site over a period: availability, lost energy by cause, PR, degradation, soiling, clipping, clock",
        "The registered sites (or --sites) over the solar days that begin in [--start, --end), read from the lake "
        "with DuckDB (Athena on AWS). Each site is measured against its imported weather series where it has one, "
        "else pvlib's clear sky (the field expectation says which). --json prints every field per site, "
        "degradation_ci68_pct_per_year and degradation_ci95_pct_per_year as [low, high].",
        run=cmd_performance,
        local=True,
        json=True,
    )
    p.add_argument("--start", type=utc_argument, help="first day, a UTC midnight")
    p.add_argument("--end", type=utc_argument, help="end, a UTC midnight (exclusive)")
    p.add_argument("--sites", nargs="+", metavar="SITE", help="these registered sites (default: every one)")
    p.add_argument(
        "--expectation",
        choices=("auto", "clear-sky"),
        default="auto",
        help="auto: a site's imported weather where it has one, else clear sky; clear-sky: clear sky for all",
    )
    p.add_argument("--lake-dir", help="read a folder with the lake's layout instead of the bucket")
