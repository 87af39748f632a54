"""``energy-workbook sites ...``: the site registry (import, list, show) and the site-health checks (silent sites
now, the assessment of a period), with ``--publish`` to send their alert."""

from __future__ import annotations

import argparse
from dataclasses import fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from energy_lib.clients import client
from energy_lib.config import Settings
from energy_lib.workbook.cli.common import UsageError, command, emit, utc_argument

THRESHOLD_HELP = {
    "silent_after_intervals": "silent when the last reading is older than this many of the site's intervals",
    "gap_minutes": "missing readings for at least this long make a gap event [min]",
    "frozen_intervals": "daylight intervals in a row with the same generation that make a frozen meter",
    "outage_intervals": "daylight intervals in a row with zero generation that make a daytime outage",
    "min_elevation_deg": "the sun counts as up when at least this high [degrees]",
    "night_threshold_kwh": "generation above this while the sun is down is night generation [kWh]",
    "baseline_days": "days before a day whose median performance index is its baseline",
    "min_baseline_days": "fewer days with an index than this: no baseline",
    "margin_pct": "an index this far below its baseline is low [%%]",
    "underperformance_days": "low days in a row that make underperformance",
}


def _read_csv(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror or error}") from None


def cmd_sites(args: argparse.Namespace, settings: Settings) -> int:
    from energy_lib.workbook.sites import registry

    dynamodb = client("dynamodb", settings)
    if args.action == "import":
        try:
            sites = registry.parse_csv(_read_csv(args.file))
        except registry.RegistryError as error:
            raise UsageError(f"{args.file}: {error}") from None
        registry.put_sites(settings, dynamodb, sites)
        emit({"imported": len(sites), "sites": [site.site_id for site in sites]}, args.json)
    elif args.action == "import-weather":
        _import_weather(settings, dynamodb, args)
    elif args.action == "list":
        emit(registry.listing(settings, dynamodb), args.json)
    else:
        emit(_show(settings, dynamodb, args.site), args.json)
    return 0


def _import_weather(settings: Settings, dynamodb: Any, args: argparse.Namespace) -> None:
    from energy_lib.workbook.sites import registry, weather

    if registry.get_site(settings, dynamodb, args.site) is None:
        raise UsageError(f"site {args.site!r} is not registered (see `energy-workbook sites list`)")
    try:
        series = weather.parse_csv(_read_csv(args.file))
    except weather.WeatherError as error:
        raise UsageError(f"{args.file}: {error}") from None
    stored = weather.put_weather(settings, args.site, series)
    first, last = series.index[0], series.index[-1]
    emit(
        {
            "site": args.site,
            "imported": len(series),
            "from": f"{first:%Y-%m-%dT%H:%M:%SZ}",
            "to": f"{last:%Y-%m-%dT%H:%M:%SZ}",
            "columns": list(series.columns),
            "rows_stored": stored,
        },
        args.json,
    )


def _show(settings: Settings, dynamodb: Any, site_id: str) -> dict[str, Any]:
    from energy_lib.workbook.sites import registry

    site = registry.get_site(settings, dynamodb, site_id)
    if site is not None:
        return {**site.row(), "registered": True}
    listed = {row["site_id"]: row for row in registry.listing(settings, dynamodb)}
    if site_id in listed:
        return listed[site_id]
    raise UsageError(f"site {site_id!r} is not registered and has no readings (see `energy-workbook sites list`)")


def _thresholds(args: argparse.Namespace) -> Any:
    from energy_lib.workbook.health.thresholds import Thresholds

    given = {f.name: getattr(args, f.name) for f in fields(Thresholds) if getattr(args, f.name, None) is not None}
    try:
        return Thresholds(**given)
    except ValueError as error:
        raise UsageError(str(error)) from None


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    """``sites silent`` (freshness only, now) and ``sites assess`` (the checks asked for, over a period)."""
    from energy_lib.workbook.health import alerts, assessment, freshness

    dynamodb = client("dynamodb", settings)
    now = args.as_of or datetime.now(timezone.utc)
    if args.action == "silent":
        today = now.replace(hour=0, minute=0, second=0, microsecond=0)
        start, end, checks = today, today + assessment.ONE_DAY, "freshness"
    else:
        start, end, checks = args.start, args.end, args.checks
    try:
        result = assessment.assess(settings, dynamodb, start, end, now, checks, _thresholds(args))
    except ValueError as error:
        raise UsageError(str(error)) from None
    outcome = alerts.publish_assessment(settings, client("sns", settings), dynamodb, result, args.publish)
    if args.action == "silent":
        frame = result.freshness
        rows = _rows(frame) if args.all else _rows(_silent(frame, freshness))
        emit(rows, args.json)
    else:
        emit([event.row() for event in result.events], args.json)
    if args.publish and not args.json:
        print(f"alert: {outcome['reason']}" + (f" ({outcome['message_id']})" if outcome["message_id"] else ""))
    return 0


def _silent(frame: Any, freshness: Any) -> Any:
    return frame[frame["silent"].fillna(False).astype(bool) | (frame["status"] == freshness.UNREGISTERED)]


def _rows(frame: Any) -> list[dict[str, Any]]:
    """A frame's rows with None for every missing value (JSON null)."""
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def _threshold_options(parser: argparse.ArgumentParser, names: tuple[str, ...]) -> None:
    from energy_lib.workbook.health.thresholds import Thresholds

    defaults = Thresholds()
    for f in fields(Thresholds):
        if f.name in names:
            kind = float if isinstance(getattr(defaults, f.name), float) else int
            parser.add_argument(
                f"--{f.name.replace('_', '-')}",
                type=kind,
                metavar="N",
                help=f"{THRESHOLD_HELP[f.name]} (default {getattr(defaults, f.name):g})",
            )


def add_commands(commands: Any) -> None:
    sites = command(
        commands,
        "sites",
        "the site registry and site health: import, import-weather, list, show, silent, assess",
        "The registry (site, name, latitude, longitude, time zone, type, capacity [kW], reading interval [min], "
        "reporting hours; optionally tilt and azimuth [degrees], DC/AC ratio, commissioning date) lives in the "
        "sites table. Readings of a site that is not registered are stored all "
        "the same; list shows it as unregistered.",
    )
    actions = sites.add_subparsers(dest="action", required=True, metavar="ACTION")

    p = command(
        actions,
        "import",
        "validate a CSV of sites and store them (a site already registered is replaced)",
        "Header: site_id, name (optional), latitude, longitude, timezone, site_type, capacity_kw, "
        "interval_minutes, reporting_hours (optional: all_day or daylight), and optional tilt_deg (0-90), "
        "azimuth_deg (0-360, 180 south), dc_ac_ratio (above 0, at most 5), commissioned_on (YYYY-MM-DD). "
        "Nothing is stored when a row is wrong; the error names the row (the header is row 1) and the field. "
        "Exit 2 on bad input.",
        run=cmd_sites,
        local=True,
        json=True,
    )
    p.add_argument("file", help="CSV file")

    p = command(
        actions,
        "import-weather",
        "validate a site's weather series (CSV) and store it for fleet performance",
        "Header: timestamp (ISO-8601, UTC unless an offset is given; the interval's start), poa_global_w_m2 "
        "(plane-of-array irradiance [W/m^2]) or ghi_w_m2 (global horizontal [W/m^2]) or both, temp_air_c [degC], "
        "optional wind_speed_m_s [m/s] and precipitation_mm [mm]. Nothing is stored when a row is wrong; the "
        "error names the row and the field. Importing again merges: the new rows win at the same time. Fleet "
        "performance then measures the site against this weather instead of the clear sky.",
        run=cmd_sites,
        local=True,
        json=True,
    )
    p.add_argument("site", help="a registered site id")
    p.add_argument("file", help="CSV file")

    command(
        actions,
        "list",
        "registered sites, then the sites with readings that are not registered",
        run=cmd_sites,
        local=True,
        json=True,
    )

    p = command(
        actions,
        "show",
        "one site's registry entry",
        "Exit 2 when it is neither registered nor has readings.",
        run=cmd_sites,
        local=True,
        json=True,
    )
    p.add_argument("site", help="site id")

    p = command(
        actions,
        "silent",
        "sites whose last reading is older than N of their intervals (and unregistered sites)",
        "Reads the registry and the all-time rollups (last_reading_at): two paged Queries, never a reading. "
        "--publish sends one site_silent alert, once per hour.",
        run=cmd_check,
        local=True,
        json=True,
    )
    p.add_argument("--as-of", type=utc_argument, help="pretend it is this UTC time (default now)")
    p.add_argument("--all", action="store_true", help="every site, not only the silent and unregistered ones")
    _threshold_options(p, ("silent_after_intervals",))
    p.add_argument("--publish", action="store_true", help="publish the alert to the alerts topic (once per hour)")

    p = command(
        actions,
        "assess",
        "site-health events of whole UTC days: silent sites, gaps, frozen meters, daytime outages, night "
        "generation, underperformance",
        "Prints one row per event: kind, site, start, end, duration [min], severity, detail. --publish sends "
        "one alert, once per checks and period. Notebook 06-assess-site-health draws the same.",
        run=cmd_check,
        local=True,
        json=True,
    )
    p.add_argument("--start", type=utc_argument, required=True, help="first day, UTC midnight")
    p.add_argument("--end", type=utc_argument, required=True, help="end, UTC midnight (exclusive)")
    p.add_argument("--as-of", type=utc_argument, help="'now' for freshness and the day in progress (default now)")
    p.add_argument("--checks", default="freshness,quality,performance", help="comma-separated (default: all three)")
    _threshold_options(p, tuple(THRESHOLD_HELP))
    p.add_argument("--publish", action="store_true", help="publish the alert to the alerts topic")
