"""What the simulation panel runs: one simulated period uploaded file by file, or the simulator's continuous
batches (:func:`energy_lib.workbook.simulator.run_continuous`, as ``energy-workbook simulate --continuous``)
until stopped; both report progress through callbacks, so a widget can run them in a background thread."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from energy_lib.config import Settings
from energy_lib.workbook import simulator
from energy_lib.workbook.aws.session import aws

__all__ = ["Choice", "run_batches", "run_once"]


@dataclass(frozen=True, slots=True)
class Choice:
    """What to simulate: fleet size, period, interval, anomaly rate, seed, file format, and for continuous
    batches the minutes between them and how many (None: until stopped)."""

    sites: int
    start: datetime
    hours: float
    interval_minutes: int = 5
    anomaly_rate: float = 0.02
    seed: int = 42
    file_format: str = "json"
    every_minutes: float = 5.0
    max_batches: int | None = None


def run_once(settings: Settings, choice: Choice, progress: Callable[[int, int], Any]) -> dict[str, int]:
    """Simulate ``choice``'s period and upload its files under raw/, calling ``progress(done, total)`` after
    each file; returns sites, files, readings and injected anomalies. Bad choices raise ``ValueError``."""
    fleet = simulator.default_fleet(choice.sites)
    run = simulator.simulate(
        fleet, choice.start, choice.hours, choice.interval_minutes, choice.anomaly_rate, choice.seed
    )
    files = simulator.to_files(run, fmt=choice.file_format, raw_prefix=settings.raw_prefix)
    s3 = aws(settings, "s3")
    progress(0, len(files))
    for done, file in enumerate(files, 1):
        simulator.upload([file], settings.bucket, s3, progress=False)
        progress(done, len(files))
    return {
        "sites": len(fleet),
        "files": len(files),
        "readings": len(run.readings),
        "injected_anomalies": run.injected_anomalies,
    }


def run_batches(
    settings: Settings,
    choice: Choice,
    stop: threading.Event,
    on_batch: Callable[[simulator.ContinuousRun], Any],
) -> simulator.ContinuousRun:
    """Every ``choice.every_minutes``, upload the intervals completed since the last batch, until
    ``choice.max_batches`` or until ``stop`` is set; ``on_batch`` gets the totals after each batch."""
    return simulator.run_continuous(
        simulator.default_fleet(choice.sites),
        settings.bucket,
        aws(settings, "s3"),
        every_minutes=choice.every_minutes,
        max_batches=choice.max_batches,
        interval_minutes=choice.interval_minutes,
        anomaly_rate=choice.anomaly_rate,
        seed=choice.seed,
        fmt=choice.file_format,
        raw_prefix=settings.raw_prefix,
        stop=stop,
        on_batch=on_batch,
    )
