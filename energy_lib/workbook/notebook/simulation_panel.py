"""The simulation panel: a fleet simulated from the page, one period at a time or in continuous batches that a
Stop button ends; the runs (:mod:`energy_lib.workbook.simulator.runs`) go to a background thread, so the
page stays live, and report their progress to a bar and a status line. Before it writes, the panel says what
the run would replace; it replaces stored readings or registry entries only after a confirm button."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import ipywidgets as w

from energy_lib.timeutil import clock, utc
from energy_lib.workbook.notebook import views
from energy_lib.workbook.notebook.widgets import with_static
from energy_lib.workbook.simulator import runs
from energy_lib.workbook.simulator.runs import Choice, Plan

__all__ = ["SimulationPanel", "panel"]

APPEND_LABEL = "append after the latest stored reading of the sites, and keep their registry entries"
REPLACE_LABEL = "replace them and the sites' registry entries (asks first)"
REPLACE_HOW = 'Picking "replace them" under Stored readings'


class SimulationPanel(w.VBox):
    """Simulate from the page: a period once, or continuous batches until Stop; see :func:`panel`.

    Attributes: the inputs ``sites``, ``start``, ``hours``, ``interval``, ``anomaly_rate``, ``seed``,
    ``file_format``, ``every_minutes``, ``max_batches`` (0: until Stop) and ``on_stored`` (``"append"`` or
    ``"replace"``: what a run does where readings are stored already); the buttons ``run_button``,
    ``start_button``, ``stop_button``, and ``confirm_button`` and ``cancel_button`` (shown when a run would
    replace something and waits for the confirmation); ``progress`` (IntProgress) and ``status`` (HTML);
    ``thread`` (the background work, None before any), ``stop_event``, ``pending`` (the plan waiting for its
    confirmation, else None) and ``result`` (what the last run returned).
    """

    def __init__(
        self,
        plan: Callable[..., Plan],
        run_once: Callable[..., dict[str, Any]],
        run_batches: Callable[..., Any],
        start: str,
    ) -> None:
        self._plan, self._run_once, self._run_batches = plan, run_once, run_batches
        field = {"style": {"description_width": "8em"}, "layout": w.Layout(width="17em")}
        self.sites = w.BoundedIntText(value=5, min=1, max=1000, description="Sites", **field)
        self.start = w.Text(value=start, description="Start (UTC)", style=field["style"], layout=w.Layout(width="25em"))
        self.hours = w.BoundedFloatText(value=24, min=0.01, max=24 * 366, description="Hours", **field)
        self.interval = w.BoundedIntText(value=5, min=1, max=1440, description="Interval [min]", **field)
        self.anomaly_rate = w.BoundedFloatText(value=0.02, min=0, max=1, step=0.01, description="Anomaly rate", **field)
        self.seed = w.BoundedIntText(value=42, min=0, max=2**31 - 1, description="Seed", **field)
        self.file_format = w.Dropdown(options=["json", "jsonl", "csv", "json.gz"], description="Format", **field)
        self.on_stored = w.RadioButtons(
            options=[(APPEND_LABEL, "append"), (REPLACE_LABEL, "replace")],
            value="append",
            description="Stored readings",
            style=field["style"],
            layout=w.Layout(width="auto"),
        )
        self.every_minutes = w.BoundedFloatText(value=5, min=0.05, max=1440, description="Every [min]", **field)
        self.max_batches = w.BoundedIntText(value=0, min=0, max=100_000, description="Batches", **field)
        self.run_button = w.Button(description="Run once", icon="play", button_style="primary")
        self.start_button = w.Button(description="Start continuous", icon="repeat", button_style="success")
        self.stop_button = w.Button(description="Stop", icon="stop", button_style="danger", disabled=True)
        self.confirm_button = w.Button(
            description="Replace", icon="check", button_style="danger", layout=w.Layout(width="auto")
        )
        self.cancel_button = w.Button(description="Cancel", icon="times")
        self.confirm_row = w.HBox([self.confirm_button, self.cancel_button], layout=w.Layout(display="none"))
        self.progress = w.IntProgress(value=0, min=0, max=1, description="Progress", layout=w.Layout(width="30em"))
        self.status = w.HTML(views.message("Nothing simulated from this page yet.").html)
        self.thread: threading.Thread | None = None
        self.stop_event = threading.Event()
        self.pending: tuple[Callable[[Plan, str], Any], Plan] | None = None
        self.result: Any = None
        super().__init__(
            [
                w.HTML("<b>Fleet and period</b>"),
                w.HBox([self.sites, self.start, self.hours]),
                w.HBox([self.interval, self.anomaly_rate, self.seed, self.file_format]),
                self.on_stored,
                w.HTML(
                    "<b>Continuous batches</b>: each uploads the intervals completed since the one before; "
                    "0 batches runs until Stop"
                ),
                w.HBox([self.every_minutes, self.max_batches]),
                w.HBox([self.run_button, self.start_button, self.stop_button]),
                self.confirm_row,
                self.progress,
                self.status,
            ]
        )
        self.run_button.on_click(lambda _button: self._launch(self._once, continuous=False))
        self.start_button.on_click(lambda _button: self._launch(self._batches, continuous=True))
        self.stop_button.on_click(lambda _button: self.stop())
        self.confirm_button.on_click(lambda _button: self.confirm())
        self.cancel_button.on_click(lambda _button: self.cancel())

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
            replace=self.on_stored.value == "replace",
        )

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def _launch(self, work: Callable[[Plan, str], Any], continuous: bool) -> None:
        """Work out the run against what is stored, then run it, in a background thread (so the page and its
        Stop button stay live); a run that would replace something waits for :meth:`confirm`."""
        if self.running:
            return
        self._ask(None)
        try:
            choice = self.choice()
        except ValueError as error:
            self._say(f"Not started: {error}", "error")
            return
        self._start(self._planned, work, choice, continuous)

    def _start(self, target: Callable[..., Any], *args: Any) -> None:
        self.stop_event = threading.Event()
        self._busy(True)
        self.thread = threading.Thread(target=self._guarded, args=(target, *args), name="simulation", daemon=True)
        self.thread.start()

    def _guarded(self, target: Callable[..., Any], *args: Any) -> None:
        try:
            target(*args)
        except Exception as error:
            self._say(f"Failed: {error}", "error")
        finally:
            self._busy(False)

    def _planned(self, work: Callable[[Plan, str], Any], choice: Choice, continuous: bool) -> None:
        self._say("Comparing the run with the readings and sites stored already ...")
        plan = self._plan(choice, continuous)
        said = runs.describe(plan, REPLACE_HOW)
        if plan.choice.replace and (plan.in_the_way or plan.changed_sites):
            replaced = views.count(plan.in_the_way, "stored reading")
            self.confirm_button.description = f"Replace {replaced}" if plan.in_the_way else "Register anew"
            self._ask((work, plan))
            self._say(f"{said} Nothing is written until you confirm.", "warning")
            return
        self._run(work, plan, said)

    def confirm(self) -> None:
        """Run the plan that waits for its confirmation (the confirm button)."""
        if self.pending is None or self.running:
            return
        work, plan = self.pending
        self._ask(None)
        self._start(self._run, work, plan, runs.describe(plan, REPLACE_HOW))

    def cancel(self) -> None:
        """Drop the plan that waits for its confirmation: nothing is written."""
        if self.pending is not None:
            self._ask(None)
            self._say("Cancelled: nothing was written.")

    def _ask(self, pending: tuple[Callable[[Plan, str], Any], Plan] | None) -> None:
        self.pending = pending
        self.confirm_row.layout.display = "none" if pending is None else "flex"

    def _run(self, work: Callable[[Plan, str], Any], plan: Plan, said: str) -> None:
        self.result = work(plan, said)

    def _once(self, plan: Plan, said: str) -> dict[str, Any]:
        choice = plan.choice
        self._say(f"{said} Simulating {views.count(choice.sites, 'site')} over {choice.hours:g} h ...")
        result = self._run_once(plan, self._file_progress)
        injected = views.count(result["injected_anomalies"], "anomaly", "anomalies")
        self._say(
            f"Uploaded {views.count(result['files'], 'file')} under raw/: {views.count(result['readings'], 'reading')} "
            f"of {views.count(result['sites'], 'site')} from {clock(choice.start)} UTC, {injected} injected. {said} "
            "The pipeline processes them now (see the raw files and the explorer)."
        )
        return result

    def _file_progress(self, done: int, total: int) -> None:
        self.progress.max, self.progress.value = max(total, 1), done

    def _batches(self, plan: Plan, said: str) -> Any:
        choice = plan.choice
        self.progress.max, self.progress.value = choice.max_batches or 1, 0
        until = f"{views.count(choice.max_batches, 'batch', 'batches')}" if choice.max_batches else "Stop"
        self._say(f"{said} Continuous: a batch every {choice.every_minutes:g} min until {until}; the first one now ...")
        done = self._run_batches(plan, self.stop_event, self._batch_done)
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
        self.run_button.disabled = self.start_button.disabled = self.confirm_button.disabled = busy
        self.stop_button.disabled = not busy

    def _say(self, text: str, tone: str = "info") -> None:
        self.status.value = views.message(text, tone).html

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        return with_static(super()._repr_mimebundle_(**kwargs), self.status.value)


def panel(
    plan: Callable[..., Plan],
    run_once: Callable[..., dict[str, Any]],
    run_batches: Callable[..., Any],
    start: str = "2025-06-11T00:00:00Z",
) -> SimulationPanel:
    """Simulate a fleet from the page: run one period once, or start continuous batches and stop them.

    Before anything is written the panel says what the run would replace: by default a run that would replace
    stored readings appends after the latest of them, and registered sites keep their entries; with "replace
    them" picked, a run that would replace something waits for the confirm button.

    Parameters
    ----------
    plan : callable ``(choice, continuous) -> Plan``
        Works a run out against what is stored (e.g. ``partial(runs.plan, settings)``).
    run_once : callable ``(plan, progress) -> dict``
        Simulates and uploads one period, calling ``progress(done, total)`` per file (e.g.
        ``partial(runs.run_once, settings)``).
    run_batches : callable ``(plan, stop_event, on_batch) -> ContinuousRun``
        Continuous batches until the event is set (e.g. ``partial(runs.run_batches, settings)``).
    start : str
        The period's first moment shown at first, ISO-8601 UTC.

    Returns
    -------
    SimulationPanel
        An ``ipywidgets.VBox``. Runs go to a background thread; Stop ends continuous batches.
    """
    return SimulationPanel(plan, run_once, run_batches, start)
