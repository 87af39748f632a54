"""The simulation as input-contract files under ``raw/``, their upload, and a continuous producer.

One file per site and UTC day, in any accepted shape, named after its site and its own first reading; the same
simulation gives the same keys and bytes.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tqdm.auto import tqdm

from energy_lib import timeutil
from energy_lib.validation import SITE_ID
from energy_lib.workbook.simulator.faults import Fault
from energy_lib.workbook.simulator.model import (
    FIRST_MOMENT,
    SimulatedReading,
    Simulation,
    Site,
    check_run_args,
    require_utc,
    simulate,
)

FIELDS = ("site_id", "timestamp", "energy_generated_kwh", "energy_consumed_kwh")
FORMATS = {  # fmt -> Content-Type; the key ends with ".<fmt>"
    "json": "application/json",
    "jsonl": "application/x-ndjson",
    "csv": "text/csv",
    "json.gz": "application/gzip",
}
BATCH_ID = SITE_ID  # a batch id goes into the key next to the site id: the same characters


@dataclass(frozen=True, slots=True)
class ContinuousRun:
    """What :func:`run_continuous` did: batches run, files and readings uploaded."""

    batches: int = 0
    files: int = 0
    readings: int = 0


@dataclass(frozen=True, slots=True)
class SimulatedFile:
    """One object to put: ``readings`` readings of one site and one UTC day."""

    key: str
    body: bytes
    readings: int

    @property
    def content_type(self) -> str:
        return next(kind for fmt, kind in FORMATS.items() if self.key.endswith("." + fmt))


def to_files(
    simulation: Simulation, batch_id: str | None = None, fmt: str = "json", raw_prefix: str = "raw/"
) -> list[SimulatedFile]:
    """One file per site and UTC day, keyed ``<raw_prefix>YYYY/MM/DD/<site_id>-<first>-<batch_id>.<fmt>``.

    ``<first>`` is the file's first reading (``20250611T000000Z``): every file names its own day, and the
    files of continuous batches within one day have keys of their own.

    Parameters
    ----------
    simulation : Simulation
    batch_id : str, optional
        Letters, digits, ``-``, ``_``, ``.``; defaults to ``s<seed>``, so a rerun has the same keys.
    fmt : str
        ``json`` (an array), ``jsonl``, ``csv`` (with a header) or ``json.gz`` (gzip of the array).
    raw_prefix : str
        Key prefix the pipeline watches; ends with ``/``.

    Returns
    -------
    list of SimulatedFile
        Sorted by key.
    """
    if batch_id is None:
        batch_id = f"s{simulation.seed}"
    if not isinstance(batch_id, str) or not BATCH_ID.fullmatch(batch_id):
        raise ValueError(f"batch_id must be 1-128 letters, digits, '-', '_' or '.': {batch_id!r}")
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {', '.join(FORMATS)}: {fmt!r}")
    if not isinstance(raw_prefix, str) or not raw_prefix.endswith("/") or raw_prefix.startswith("/"):
        raise ValueError(f"raw_prefix must end with '/' and not start with one: {raw_prefix!r}")

    groups: dict[tuple[str, str], list[SimulatedReading]] = {}
    for reading in simulation.readings:
        groups.setdefault((reading["timestamp"][:10], reading["site_id"]), []).append(reading)
    files = []
    for (day, site_id), readings in groups.items():
        first = min(reading["timestamp"] for reading in readings).replace("-", "").replace(":", "")
        key = f"{raw_prefix}{day.replace('-', '/')}/{site_id}-{first}-{batch_id}.{fmt}"
        files.append(SimulatedFile(key, _encode(readings, fmt), len(readings)))
    return sorted(files, key=lambda file: file.key)


def _encode(readings: list[SimulatedReading], fmt: str) -> bytes:
    if fmt == "jsonl":
        return "".join(json.dumps(reading, allow_nan=False) + "\n" for reading in readings).encode()
    if fmt == "csv":
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(readings)
        return text.getvalue().encode()
    body = ("[\n" + ",\n".join(json.dumps(reading, allow_nan=False) for reading in readings) + "\n]\n").encode()
    return gzip.compress(body, mtime=0) if fmt == "json.gz" else body


def upload(files: Sequence[SimulatedFile], bucket: str, s3_client: Any, progress: bool = True) -> int:
    """Put each file into ``bucket`` with its Content-Type, showing a progress bar; return how many."""
    uploaded = 0
    for file in tqdm(files, desc=f"s3://{bucket}", unit="file", disable=not progress):
        s3_client.put_object(Bucket=bucket, Key=file.key, Body=file.body, ContentType=file.content_type)
        uploaded += 1
    return uploaded


def run_continuous(
    fleet: Sequence[Site],
    bucket: str,
    s3_client: Any,
    every_minutes: float,
    max_batches: int | None = None,
    interval_minutes: int = 5,
    anomaly_rate: float = 0.02,
    seed: int = 42,
    *,
    fmt: str = "json",
    raw_prefix: str = "raw/",
    faults: Sequence[Fault] = (),
    progress: bool = False,
    sleep: Callable[[float], Any] = time.sleep,
    now: Callable[[], datetime] = timeutil.now,
    stop: threading.Event | None = None,
    on_batch: Callable[[ContinuousRun], Any] | None = None,
    not_before: datetime | None = None,
) -> ContinuousRun:
    """Every ``every_minutes``, simulate the intervals completed since the last batch and upload them.

    The first batch covers the last ``every_minutes`` (:func:`first_interval`), or starts at ``not_before`` when
    that is later; intervals are aligned to the UTC epoch, so batches neither overlap nor leave gaps. Stops
    after ``max_batches`` batches (never, if None) or on KeyboardInterrupt; an interrupt during an upload lets
    that upload finish first.

    Parameters
    ----------
    every_minutes : float
        Time between batches. [min]
    max_batches : int, optional
        Number of batches to run, >= 1.
    faults : sequence of Fault
        Faults to inject, as in :func:`energy_lib.workbook.simulator.model.simulate`.
    sleep, now
        Wait a number of seconds; tell the current aware UTC time. Replace both to run without waiting.
    stop : threading.Event, optional
        Set it to stop (from another thread: a Stop button): the wait between batches ends at once and no
        further batch starts; an upload under way finishes first.
    on_batch : callable, optional
        Called after each batch with the totals so far (progress for a panel).
    not_before : datetime, optional
        No interval starts before it (aware UTC): a run that appends after the readings stored already.

    Returns
    -------
    ContinuousRun
        Batches done (a batch with no completed interval uploads nothing but counts), files and readings.
    """
    check_run_args(interval_minutes, anomaly_rate, seed)
    if not isinstance(every_minutes, int | float) or not math.isfinite(every_minutes) or every_minutes <= 0:
        raise ValueError(f"every_minutes must be a finite number > 0: {every_minutes!r}")
    if max_batches is not None and (
        isinstance(max_batches, bool) or not isinstance(max_batches, int) or max_batches < 1
    ):
        raise ValueError(f"max_batches must be None or an integer >= 1: {max_batches!r}")
    interval = timedelta(minutes=interval_minutes)
    cursor = first_interval(require_utc(now(), "now()"), every_minutes, interval_minutes)
    if not_before is not None:
        cursor = max(cursor, ceil_to_interval(require_utc(not_before, "not_before"), interval))
    done = ContinuousRun()
    interrupted = False
    try:
        while not interrupted and (max_batches is None or done.batches < max_batches):
            if done.batches:
                if stop is None:
                    sleep(every_minutes * 60)
                elif stop.wait(every_minutes * 60):
                    break
            if stop is not None and stop.is_set():
                break
            end = _floor(require_utc(now(), "now()"), interval)
            files: list[SimulatedFile] = []
            if end > cursor:
                hours = (end - cursor) / timedelta(hours=1)
                simulation = simulate(fleet, cursor, hours, interval_minutes, anomaly_rate, seed, faults)
                files = to_files(simulation, fmt=fmt, raw_prefix=raw_prefix)
                with _interrupt_held() as held:
                    upload(files, bucket, s3_client, progress=progress)
                interrupted = bool(held)
                cursor = end
            done = ContinuousRun(
                done.batches + 1, done.files + len(files), done.readings + sum(f.readings for f in files)
            )
            if on_batch is not None:
                on_batch(done)
    except KeyboardInterrupt:
        pass
    return done


@contextmanager
def _interrupt_held() -> Iterator[list[int]]:
    """Hold back Ctrl-C (SIGINT) inside the block; the list it gives says whether one came."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received  # only the main thread may set signal handlers, and only it gets KeyboardInterrupt
        return
    previous = signal.signal(signal.SIGINT, lambda signum, _frame: received.append(signum))
    try:
        yield received
    finally:
        signal.signal(signal.SIGINT, previous if previous is not None else signal.default_int_handler)


def first_interval(now: datetime, every_minutes: float, interval_minutes: int) -> datetime:
    """Where the first batch of :func:`run_continuous` started ``now`` begins: ``every_minutes`` earlier, at
    the start of the interval (aligned to the UTC epoch) that holds that moment."""
    return _floor(now - timedelta(minutes=every_minutes), timedelta(minutes=interval_minutes))


def _floor(moment: datetime, interval: timedelta) -> datetime:
    return moment - (moment - FIRST_MOMENT) % interval


def ceil_to_interval(moment: datetime, interval: timedelta, grid: datetime = FIRST_MOMENT) -> datetime:
    """The first start of an ``interval`` at or after ``moment``, intervals following on from ``grid``."""
    behind = (moment - grid) % interval
    return moment + (interval - behind) if behind else moment
