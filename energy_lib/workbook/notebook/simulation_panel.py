"""The simulation panel: a fleet simulated from the page, one period at a time or in continuous batches that a
Stop button ends; the runs (:mod:`energy_lib.workbook.simulator.runs`) go to a background thread, so the
page stays live, and report their progress to a bar and a status line."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import ipywidgets as w

from energy_lib.timeutil import utc
from energy_lib.workbook.notebook import views
from energy_lib.workbook.notebook.widgets import with_static
from energy_lib.workbook.simulator.runs import Choice

__all__ = ["SimulationPanel", "panel"]


class SimulationPanel(w.VBox):
    """Simulate from the page: a period once, or continuous batches until Stop; see :func:`panel`.

    Attributes: the inputs ``sites``, ``start``, ``hours``, ``interval``, ``anomaly_rate``, ``seed``,
    ``file_format``, ``every_minutes``, ``max_batches`` (0: until Stop); the buttons ``run_button``,
    ``start_button``, ``stop_button``; ``progress`` (IntProgress) and ``status`` (HTML); ``thread`` (the
    background run, None before any), ``stop_event`` and ``result`` (what the last run returned).
    """

    def __init__(self, run_once: Callable[..., dict[str, int]], run_batches: Callable[..., Any], start: str) -> None:
        self._run_once, self._run_batches = run_once, run_batches
        field = {"style": {"description_width": "8em"}, "layout": w.Layout(width="17em")}
        self.sites = w.BoundedIntText(value=5, min=1, max=1000, description="Sites", **field)
        self.start = w.Text(value=start, description="Start (UTC)", style=field["style"], layout=w.Layout(width="25em"))
        self.hours = w.BoundedFloatText(value=24, min=0.01, max=24 * 366, description="Hours", **field)
        self.interval = w.BoundedIntText(value=5, min=1, max=1440, description="Interval [min]", **field)
        self.anomaly_rate = w.BoundedFloatText(value=0.02, min=0, max=1, step=0.01, description="Anomaly rate", **field)
        self.seed = w.BoundedIntText(value=42, min=0, max=2**31 - 1, description="Seed", **field)
        self.file_format = w.Dropdown(options=["json", "jsonl", "csv", "json.gz"], description="Format", **field)
        self.every_minutes = w.BoundedFloatText(value=5, min=0.05, max=1440, description="Every [min]", **field)
        self.max_batches = w.BoundedIntText(value=0, min=0, max=100_000, description="Batches", **field)
        self.run_button = w.Button(description="Run once", icon="play", button_style="primary")
        self.start_button = w.Button(description="Start continuous", icon="repeat", button_style="success")
        self.stop_button = w.Button(description="Stop", icon="stop", button_style="danger", disabled=True)
        self.progress = w.IntProgress(value=0, min=0, max=1, description="Progress", layout=w.Layout(width="30em"))
        self.status = w.HTML(views.message("Nothing simulated from this page yet.").html)
        self.thread: threading.Thread | None = None
        self.stop_event = threading.Event()
        self.result: Any = None
        super().__init__(
            [
                w.HTML("<b>Fleet and period</b>"),
                w.HBox([self.sites, self.start, self.hours]),
                w.HBox([self.interval, self.anomaly_rate, self.seed, self.file_format]),
                w.HTML(
                    "<b>Continuous batches</b>: each uploads the intervals completed since the one before; "
                    "0 batches runs until Stop"
                ),
                w.HBox([self.every_minutes, self.max_batches]),
                w.HBox([self.run_button, self.start_button, self.stop_button]),
                self.progress,
                self.status,
            ]
        )
        self.run_button.on_click(lambda _button: self._launch(self._once))
        self.start_button.on_click(lambda _button: self._launch(self._batches))
        self.stop_button.on_click(lambda _button: self.stop())

    def choice(self) -> Choice:
        """The inputs as a :class:`~energy_lib.workbook.simulator.runs.Choice`; ``ValueError`` names a
        bad one."""
        start = utc(self.start.value)
        return Choice(
            sites=self.sites.value,
            start=start,
            hours=self.hours.value,
            interval_minutes=self.interval.value,
            anomaly_rate=self.anomaly_rate.value,
            seed=self.seed.value,
            file_format=self.file_format.value,
            every_minutes=self.every_minutes.value,
            max_batches=self.max_batches.value or None,
        )

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def _launch(self, work: Callable[[Choice], Any]) -> None:
        """Run ``work`` in a background thread, so the page (and its Stop button) stays live."""
        if self.running:
            return
        try:
            choice = self.choice()
        except ValueError as error:
            self._say(f"Not started: {error}", "error")
            return
        self.stop_event = threading.Event()
        self._busy(True)
        self.thread = threading.Thread(target=self._guarded, args=(work, choice), name="simulation", daemon=True)
        self.thread.start()

    def _guarded(self, work: Callable[[Choice], Any], choice: Choice) -> None:
        try:
            self.result = work(choice)
        except Exception as error:
            self._say(f"Failed: {error}", "error")
        finally:
            self._busy(False)

    def _once(self, choice: Choice) -> dict[str, int]:
        self._say(f"Simulating {views.count(choice.sites, 'site')} over {choice.hours:g} h ...")
        result = self._run_once(choice, self._file_progress)
        injected = views.count(result["injected_anomalies"], "anomaly", "anomalies")
        self._say(
            f"Uploaded {views.count(result['files'], 'file')} under raw/: {result['readings']:,} readings of "
            f"{views.count(result['sites'], 'site')}, {injected} injected. The pipeline processes them now "
            "(see the raw files and the explorer)."
        )
        return result

    def _file_progress(self, done: int, total: int) -> None:
        self.progress.max, self.progress.value = max(total, 1), done

    def _batches(self, choice: Choice) -> Any:
        self.progress.max, self.progress.value = choice.max_batches or 1, 0
        until = f"{views.count(choice.max_batches, 'batch', 'batches')}" if choice.max_batches else "Stop"
        self._say(f"Continuous: a batch every {choice.every_minutes:g} min until {until}; the first one now ...")
        done = self._run_batches(choice, self.stop_event, self._batch_done)
        how = "stopped" if self.stop_event.is_set() else "done"
        self._say(
            f"Continuous run {how}: {views.count(done.batches, 'batch', 'batches')}, "
            f"{views.count(done.files, 'file')}, {views.count(done.readings, 'reading')} uploaded."
        )
        return done

    def _batch_done(self, done: Any) -> None:
        if self.progress.max > 1:
            self.progress.value = done.batches
        else:
            self.progress.value = 1 - self.progress.value  # no end known: the bar blinks once per batch
        self._say(
            f"Batch {done.batches:,} uploaded: {views.count(done.files, 'file')} and "
            f"{views.count(done.readings, 'reading')} so far. Next batch in {self.every_minutes.value:g} min; "
            "Stop ends the run."
        )

    def stop(self) -> None:
        """End continuous batches: the wait for the next batch ends at once (an upload under way finishes)."""
        self.stop_event.set()
        if self.running:
            self._say("Stopping ...")

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the background run to end; True when it has (or there is none)."""
        if self.thread is not None:
            self.thread.join(timeout)
        return not self.running

    def _busy(self, busy: bool) -> None:
        self.run_button.disabled = self.start_button.disabled = busy
        self.stop_button.disabled = not busy

    def _say(self, text: str, tone: str = "info") -> None:
        self.status.value = views.message(text, tone).html

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        return with_static(super()._repr_mimebundle_(**kwargs), self.status.value)


def panel(
    run_once: Callable[..., dict[str, int]], run_batches: Callable[..., Any], start: str = "2025-06-11T00:00:00Z"
) -> SimulationPanel:
    """Simulate a fleet from the page: run one period once, or start continuous batches and stop them.

    Parameters
    ----------
    run_once : callable ``(choice, progress) -> dict``
        Simulates and uploads one period, calling ``progress(done, total)`` per file (e.g.
        ``partial(runs.run_once, settings)``).
    run_batches : callable ``(choice, stop_event, on_batch) -> ContinuousRun``
        Continuous batches until the event is set (e.g. ``partial(runs.run_batches, settings)``).
    start : str
        The period's first moment shown at first, ISO-8601 UTC.

    Returns
    -------
    SimulationPanel
        An ``ipywidgets.VBox``. Runs go to a background thread; Stop ends continuous batches.
    """
    return SimulationPanel(run_once, run_batches, start)
