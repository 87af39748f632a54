"""Simulation runs on a target, for ``energy-workbook simulate``, notebook 02 and the simulation panel: one
simulated period uploaded under raw/, or continuous batches
(:func:`~energy_lib.workbook.simulator.files.run_continuous`) until a batch limit, Ctrl-C or a stop event;
progress as a bar on a terminal or through callbacks, so that a widget can run them in a background thread.

Nothing stored is replaced without being asked. Before anything is written, :func:`plan` compares the run with
what is stored: the stored readings of its sites in its period that it would overwrite with other values or
leave between its own readings, and the registered sites whose entry (interval, place, capacity ...) it would
change. By default (``Choice.replace`` False) a run that would replace readings appends instead: it starts after
the latest stored reading of its sites, and the sites registered already keep their entries. With ``replace``
it writes the period asked for and registers the fleet anew. A run that writes stored readings again with the
same values (the same simulation once more) replaces nothing, and runs where it was asked to.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from energy_lib import query
from energy_lib.clients import client
from energy_lib.config import Settings
from energy_lib.timeutil import clock, format_timestamp, now, utc
from energy_lib.wording import count
from energy_lib.workbook.simulator.faults import Fault
from energy_lib.workbook.simulator.files import (
    ContinuousRun,
    ceil_to_interval,
    first_interval,
    run_continuous,
    to_files,
    upload,
)
from energy_lib.workbook.simulator.model import (
    FIRST_MOMENT,
    Simulation,
    Site,
    check_run_args,
    default_fleet,
    registry_entries,
    simulate,
)
from energy_lib.workbook.sites import registry

__all__ = ["Choice", "Plan", "describe", "plan", "plan_row", "run_batches", "run_once"]


@dataclass(frozen=True, slots=True)
class Choice:
    """What to simulate: fleet size, period, interval, anomaly rate, seed, file format, faults to inject, for
    continuous batches the minutes between them and how many (None: until stopped), and ``replace``: whether
    the run may replace readings stored in its period and registry entries (else it appends and keeps them)."""

    sites: int
    start: datetime
    hours: float
    interval_minutes: int = 5
    anomaly_rate: float = 0.02
    seed: int = 42
    file_format: str = "json"
    every_minutes: float = 5.0
    max_batches: int | None = None
    faults: tuple[Fault, ...] = ()
    replace: bool = False


@dataclass(frozen=True, slots=True)
class Plan:
    """A run worked out against what is stored, before anything is written (see :func:`plan`).

    ``choice`` is the run as it goes: its ``start`` is the one asked for (``requested``), or, when it appends,
    the first interval after the latest stored reading of its sites (``latest``). The counts are of the period
    asked for, ``[requested, end)`` (continuous batches: from the first batch's start on, ``end`` None), and of
    the fleet's sites: ``stored`` readings, of which ``replaced`` the run would overwrite with other values and
    ``between`` lie where the run writes nothing (they would stay among its readings); ``sites_with_readings``.
    ``registered``: the fleet's sites registered already; ``changed_sites``: of them, those whose entry differs
    from the run's, in the ``changed_fields``. ``entries``: what the run puts into the registry.
    ``simulation``: the readings the run writes (None for continuous batches).
    """

    choice: Choice
    requested: datetime
    end: datetime | None
    stored: int
    replaced: int
    between: int
    sites_with_readings: int
    latest: datetime | None
    registered: int
    changed_sites: tuple[str, ...]
    changed_fields: tuple[str, ...]
    entries: tuple[registry.RegisteredSite, ...]
    fleet: tuple[Site, ...]
    simulation: Simulation | None

    @property
    def in_the_way(self) -> int:
        """Stored readings the period asked for would replace or mix with."""
        return self.replaced + self.between

    @property
    def moved(self) -> bool:
        """True when the run appends after the stored readings instead of writing the period asked for."""
        return self.choice.start != self.requested


def _written(simulation: Simulation) -> dict[tuple[str, str], tuple[Decimal, Decimal]]:
    """The values a simulation writes, by site and timestamp, as the pipeline stores them (exact, from the text)."""
    return {
        (r["site_id"], r["timestamp"]): (
            Decimal(repr(r["energy_generated_kwh"])),
            Decimal(repr(r["energy_consumed_kwh"])),
        )
        for r in simulation.readings
    }


def plan(settings: Settings, choice: Choice, continuous: bool = False, at: datetime | None = None) -> Plan:
    """Work out what ``choice`` would write and replace, and where it runs: the period asked for, or after the
    latest stored reading of its sites when it would replace readings and ``choice.replace`` is False.

    Reads the registry (one Query), the stored readings of each site of the fleet in the period (one paged Query
    each) and, when the run appends, each site's newest reading (one Query each). ``continuous``: plan
    continuous batches started at ``at`` (default now), whose first batch covers the last
    ``choice.every_minutes``. Bad choices raise ``ValueError``.
    """
    check_run_args(choice.interval_minutes, choice.anomaly_rate, choice.seed)
    fleet = default_fleet(choice.sites)
    dynamodb = client("dynamodb", settings)
    if continuous:
        start, end, simulation = first_interval(at or now(), choice.every_minutes, choice.interval_minutes), None, None
    else:
        simulation = _simulate(fleet, choice)  # checks the period first: it must lie in the years kept
        start, end = choice.start, choice.start + timedelta(hours=choice.hours)
    written = None if simulation is None else _written(simulation)
    stored = replaced = between = with_readings = 0
    last_in_period: dict[str, datetime] = {}
    for site in fleet:
        rows = query.readings(settings, dynamodb, site.site_id, start, end)
        with_readings += bool(rows)
        if rows:
            last_in_period[site.site_id] = utc(rows[-1]["timestamp"])
        for row in rows:
            stored += 1
            new = None if written is None else written.get((site.site_id, row["timestamp"]))
            if written is not None and new is None:
                between += 1
            elif new != (row["energy_generated_kwh"], row["energy_consumed_kwh"]):
                replaced += 1
    known = {site.site_id: site for site in registry.list_sites(settings, dynamodb)}
    wanted = registry_entries(fleet, choice.interval_minutes)
    changed = [entry for entry in wanted if entry.site_id in known and known[entry.site_id] != entry]
    fields = [f for f in registry.FIELDS if any(getattr(known[e.site_id], f) != getattr(e, f) for e in changed)]
    latest, run = None, replace(choice, start=start)
    if replaced + between and not choice.replace:
        latest, free = _latest(settings, dynamodb, last_in_period, known, choice.interval_minutes)
        grid = FIRST_MOMENT if continuous else start
        run = replace(choice, start=ceil_to_interval(free, timedelta(minutes=choice.interval_minutes), grid))
        simulation = None if continuous else _simulate(fleet, run)
    entries = wanted if choice.replace else [entry for entry in wanted if entry.site_id not in known]
    return Plan(
        choice=run,
        requested=start,
        end=end,
        stored=stored,
        replaced=replaced,
        between=between,
        sites_with_readings=with_readings,
        latest=latest,
        registered=sum(entry.site_id in known for entry in wanted),
        changed_sites=tuple(entry.site_id for entry in changed),
        changed_fields=tuple(fields),
        entries=tuple(entries),
        fleet=tuple(fleet),
        simulation=simulation,
    )


def _simulate(fleet: list[Site], choice: Choice) -> Simulation:
    return simulate(
        fleet, choice.start, choice.hours, choice.interval_minutes, choice.anomaly_rate, choice.seed, choice.faults
    )


def _latest(
    settings: Settings,
    dynamodb: Any,
    last_in_period: dict[str, datetime],
    known: dict[str, registry.RegisteredSite],
    interval: int,
) -> tuple[datetime, datetime]:
    """The latest stored reading of the sites that have readings in the period (``last_in_period``: each one's
    last there; its newest reading may be later), and the end of its interval (the site's registered interval,
    or the run's for a site not registered): where an appended run may start."""
    newest = {}
    for site_id, last in last_in_period.items():
        row = query.latest_reading(settings, dynamodb, site_id)
        newest[site_id] = max(last, utc(row["timestamp"])) if row else last
    minutes = {site_id: known[site_id].interval_minutes if site_id in known else interval for site_id in newest}
    return max(newest.values()), max(moment + timedelta(minutes=minutes[s]) for s, moment in newest.items())


def describe(plan: Plan, replace_how: str = "--replace") -> str:
    """What the run of ``plan`` writes and what it replaces or leaves alone, for people; ``replace_how`` names
    the way to ask for replacing (the command line's option, the panel's control)."""
    period = f"{clock(plan.requested)} to {clock(plan.end)} UTC" if plan.end else f"from {clock(plan.requested)} UTC on"
    asked = plan.choice.replace
    if not plan.in_the_way:
        same = f" ({count(plan.stored, 'stored reading')} written again with the same values)" if plan.stored else ""
        text = f"Nothing stored for these sites is replaced in {period}{same}."
    elif plan.moved:
        text = (
            f"The period {period} holds {count(plan.in_the_way, 'stored reading')} of "
            f"{count(plan.sites_with_readings, 'site')} that this run would replace: it appends after the latest "
            f"stored reading ({clock(plan.latest)} UTC) instead, from {clock(plan.choice.start)} UTC."
        )
    else:
        stay = f", and {count(plan.between, 'stored reading')} between its readings stay" if plan.between else ""
        text = (
            f"This run replaces {count(plan.replaced, 'stored reading')} of {count(plan.sites_with_readings, 'site')} "
            f"in {period}{stay}."
        )
    changed, fields = len(plan.changed_sites), ", ".join(plan.changed_fields)
    if changed and asked:
        text += f" It registers {count(changed, 'site')} anew ({fields} changed)."
    elif changed:
        keep = "keeps its entry" if changed == 1 else "keep their entries"
        text += f" {count(changed, 'registered site')} {keep} ({fields} other than the run's)."
    if not asked and (plan.moved or changed):
        what = [part for part, due in (("replaces the stored readings", plan.moved), ("registers", changed)) if due]
        text += f" {replace_how} {' and '.join(what)}{' the sites anew' if changed else ''}."
    if len(plan.fleet) > plan.registered:
        text += f" It registers {count(len(plan.fleet) - plan.registered, 'new site')}."
    return text


def plan_row(plan: Plan) -> dict[str, Any]:
    """``plan`` as plain values (UTC times as text): what ``simulate --dry-run`` prints."""
    return {
        "requested_start": format_timestamp(plan.requested),
        "start": format_timestamp(plan.choice.start),
        "end": None if plan.end is None else format_timestamp(plan.end - plan.requested + plan.choice.start),
        "appended": plan.moved,
        "stored_readings": plan.stored,
        "would_replace": plan.replaced,
        "between": plan.between,
        "sites_with_readings": plan.sites_with_readings,
        "latest_reading": None if plan.latest is None else format_timestamp(plan.latest),
        "registered": plan.registered,
        "entries_changed": list(plan.changed_sites),
        "fields_changed": list(plan.changed_fields),
        "entries_written": len(plan.entries),
    }


def _register(settings: Settings, plan: Plan) -> None:
    if plan.entries:
        registry.put_sites(settings, client("dynamodb", settings), plan.entries)


def run_once(
    settings: Settings, plan: Plan, progress: Callable[[int, int], Any] | None = None, bar: bool = False
) -> dict[str, Any]:
    """Write ``plan``'s run (:func:`plan`): its entries into the site registry, its files under raw/, calling
    ``progress(done, total)`` after each file (or with a progress ``bar`` on the terminal).

    Returns
    -------
    dict
        ``sites``, ``start`` and ``end`` (UTC, what was written), ``appended`` (moved after the stored readings),
        ``replaced_readings``, ``registered`` (entries written), ``readings``, ``injected_anomalies``,
        ``injected_faults``, ``files``.
    """
    if plan.simulation is None:
        raise ValueError("this plan is of continuous batches: run it with run_batches")
    choice = plan.choice
    _register(settings, plan)
    files = to_files(plan.simulation, fmt=choice.file_format, raw_prefix=settings.raw_prefix)
    s3 = client("s3", settings)
    if progress is None:
        upload(files, settings.bucket, s3, progress=bar)
    else:
        progress(0, len(files))
        for done, file in enumerate(files, 1):
            upload([file], settings.bucket, s3, progress=False)
            progress(done, len(files))
    return {
        "sites": len(plan.fleet),
        "start": format_timestamp(choice.start),
        "end": format_timestamp(choice.start + timedelta(hours=choice.hours)),
        "appended": plan.moved,
        "replaced_readings": 0 if plan.moved else plan.replaced,
        "registered": len(plan.entries),
        "readings": len(plan.simulation.readings),
        "injected_anomalies": plan.simulation.injected_anomalies,
        "injected_faults": len(choice.faults),
        "files": len(files),
    }


def run_batches(
    settings: Settings,
    plan: Plan,
    stop: threading.Event | None = None,
    on_batch: Callable[[ContinuousRun], Any] | None = None,
    bar: bool = False,
) -> ContinuousRun:
    """Every ``choice.every_minutes``, upload the intervals completed since the last batch, until
    ``choice.max_batches``, Ctrl-C or ``stop`` is set; ``on_batch`` gets the totals after each batch, ``bar``
    shows each upload's progress on the terminal. ``plan`` is :func:`plan` with ``continuous=True``: when it
    appends, no interval starts before its start."""
    choice = plan.choice
    _register(settings, plan)
    return run_continuous(
        list(plan.fleet),
        settings.bucket,
        client("s3", settings),
        every_minutes=choice.every_minutes,
        max_batches=choice.max_batches,
        interval_minutes=choice.interval_minutes,
        anomaly_rate=choice.anomaly_rate,
        seed=choice.seed,
        fmt=choice.file_format,
        raw_prefix=settings.raw_prefix,
        faults=choice.faults,
        progress=bar,
        stop=stop,
        on_batch=on_batch,
        not_before=choice.start if plan.moved else None,
    )
