"""Simulation runs on a target, for ``energy-workbook simulate`` and the simulation panel: one simulated
period uploaded under raw/, or continuous batches (:func:`~energy_lib.workbook.simulator.files.run_continuous`)
until a batch limit, Ctrl-C or a stop event; progress as a bar on a terminal or through callbacks, so that a
widget can run them in a background thread."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from energy_lib.clients import client
from energy_lib.config import Settings
from energy_lib.workbook.simulator.faults import Fault
from energy_lib.workbook.simulator.files import ContinuousRun, run_continuous, to_files, upload
from energy_lib.workbook.simulator.model import Site, default_fleet, registry_entries, simulate
from energy_lib.workbook.sites import registry

__all__ = ["Choice", "run_batches", "run_once"]


@dataclass(frozen=True, slots=True)
class Choice:
    """What to simulate: fleet size, period, interval, anomaly rate, seed, file format, faults to inject, and
    for continuous batches the minutes between them and how many (None: until stopped)."""

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


def _registered_fleet(settings: Settings, choice: Choice) -> tuple[list[Site], int]:
    """The fleet of ``choice``, its sites put in the site registry (so site health knows them); and how many."""
    fleet = default_fleet(choice.sites)
    sites = registry_entries(fleet, choice.interval_minutes)
    registry.put_sites(settings, client("dynamodb", settings), sites)
    return fleet, len(sites)


def run_once(
    settings: Settings, choice: Choice, progress: Callable[[int, int], Any] | None = None, bar: bool = False
) -> dict[str, int]:
    """Simulate ``choice``'s period and upload its files under raw/, calling ``progress(done, total)`` after
    each file (or with a progress ``bar`` on the terminal); returns sites, sites registered, readings, injected
    anomalies and faults, and files. Bad choices raise ``ValueError`` (or ``RegistryError``)."""
    fleet, registered = _registered_fleet(settings, choice)
    run = simulate(
        fleet, choice.start, choice.hours, choice.interval_minutes, choice.anomaly_rate, choice.seed, choice.faults
    )
    files = to_files(run, fmt=choice.file_format, raw_prefix=settings.raw_prefix)
    s3 = client("s3", settings)
    if progress is None:
        upload(files, settings.bucket, s3, progress=bar)
    else:
        progress(0, len(files))
        for done, file in enumerate(files, 1):
            upload([file], settings.bucket, s3, progress=False)
            progress(done, len(files))
    return {
        "sites": len(fleet),
        "registered": registered,
        "readings": len(run.readings),
        "injected_anomalies": run.injected_anomalies,
        "injected_faults": len(choice.faults),
        "files": len(files),
    }


def run_batches(
    settings: Settings,
    choice: Choice,
    stop: threading.Event | None = None,
    on_batch: Callable[[ContinuousRun], Any] | None = None,
    bar: bool = False,
) -> ContinuousRun:
    """Every ``choice.every_minutes``, upload the intervals completed since the last batch, until
    ``choice.max_batches``, Ctrl-C or ``stop`` is set; ``on_batch`` gets the totals after each batch, ``bar``
    shows each upload's progress on the terminal."""
    fleet, _ = _registered_fleet(settings, choice)
    return run_continuous(
        fleet,
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
    )
