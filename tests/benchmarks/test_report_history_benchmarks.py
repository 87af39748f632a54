"""What running reports unattended adds to a run, and what reading the history costs: recording figures in the
kernel, collecting them from an executed notebook of a business report's size, adding the run to a history of
many runs; reading 1,000 runs (full: 10,000) from a file and from S3 (a real moto server). Counts are asserted;
times [ms] are printed and written to build/benchmarks/report_history.json, never asserted."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import nbformat
import pytest
from IPython.core.interactiveshell import InteractiveShell

from energy_lib.config import Settings
from energy_lib.workbook.notebook import views
from energy_lib.workbook.reports.figures import MIMETYPE, record_all
from energy_lib.workbook.reports.history import HistoryStore, as_json, to_parquet
from energy_lib.workbook.reports.runs import finish_notebook
from tests.benchmarks.sizes import size
from tests.benchmarks.test_benchmarks import report
from tests.reports.test_figures import FLEET

pytestmark = pytest.mark.benchmark
START = datetime(2025, 6, 12, 6, 15, tzinfo=timezone.utc)
FIGURES = views.kpis(FLEET, [], "2025-06-11", "2025-06-12").figures()  # what the business report records


def ms(call: Callable[[], Any], repeat: int) -> float:
    """The median time of ``call`` [ms] over ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return round(statistics.median(times) * 1000, 3)


def history_rows(n: int) -> list[dict[str, Any]]:
    """``n`` runs of three daily entries, each with the business report's figures."""
    return [
        {
            "run_id": f"{i:06d}",
            "notebook": "04-report-business",
            "entry": ("business-daily", "business-weekly", "site-health-daily")[i % 3],
            "every": "daily",
            "period_start": START + timedelta(days=i),
            "period_end": START + timedelta(days=i + 1),
            "parameters": '{"end_utc": "2025-06-12T00:00:00Z", "start_utc": "2025-06-11T00:00:00Z"}',
            "status": "failed" if i % 50 == 0 else "succeeded",
            "reason": "timeout" if i % 50 == 0 else None,
            "error": None,
            "failed_cell": None,
            "started_utc": START + timedelta(days=i, minutes=1),
            "finished_utc": START + timedelta(days=i, minutes=2),
            "duration_s": 41.5,
            "timeout_s": 3600.0,
            "attempts": 1,
            "figures": {name: value + i for name, value in FIGURES.items()},
            "alert": None,
            "ipynb": f"04-report-business/{i:06d}/04-report-business.ipynb",
            "html": f"04-report-business/{i:06d}/04-report-business.html",
        }
        for i in range(n)
    ]


def executed_notebook(path: Path) -> float:
    """An executed notebook of a business report's size: 12 chart cells of ~400 kB of HTML, and the recorded
    figures; returns its size [MB]."""
    chart = "<div>" + "x" * 400_000 + "</div>"
    cells = [
        nbformat.v4.new_code_cell("chart", outputs=[nbformat.v4.new_output("display_data", data={"text/html": chart})])
        for _ in range(12)
    ]
    figures = {"figures": [[name, float(value)] for name, value in FIGURES.items()]}
    cells.insert(2, nbformat.v4.new_code_cell("record_all(...)"))
    cells[2].outputs = [nbformat.v4.new_output("display_data", data={MIMETYPE: figures, "text/plain": "recorded"})]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), str(path))
    return round(path.stat().st_size / 1e6, 2)


def test_recording_and_collecting_figures_cost_milliseconds_per_run(tmp_path: Path) -> None:
    # Recording: record_all of the business report's 8 figures in an IPython shell (the kernel's send left out)
    shell = InteractiveShell.instance()
    published: list[dict] = []
    original, shell.display_pub.publish = shell.display_pub.publish, lambda data, **kw: published.append(data)
    try:
        record_ms = ms(lambda: record_all(FIGURES), size(200, 2000))
    finally:
        shell.display_pub.publish = original
        InteractiveShell.clear_instance()  # outside a shell, display() prints; later tests expect it
    assert published[-1][MIMETYPE]["figures"] == [[name, float(value)] for name, value in FIGURES.items()]
    # Collecting: reading them from the executed notebook and writing them into its metadata (read + write)
    ipynb = tmp_path / "04-report-business.ipynb"
    notebook_mb = executed_notebook(ipynb)
    collect_ms = ms(lambda: finish_notebook(ipynb, None), size(5, 20))
    assert nbformat.read(str(ipynb), as_version=4).metadata["energy_workbook"]["figures"] == {
        name: float(value) for name, value in FIGURES.items()
    }
    # Adding the run to the history: read, add a row, write, under the lock
    before = size(1000, 10000)
    store = HistoryStore.of(None, tmp_path / "reports")
    store.path.parent.mkdir(parents=True)
    store.path.write_bytes(to_parquet(history_rows(before)))
    new = history_rows(before + 1)[-1:]
    add_ms = ms(lambda: store.add(new), size(5, 20))
    assert len(store.rows()) == before + 1
    figures = {
        "record_figures_ms": record_ms,
        "collect_figures_ms": collect_ms,
        "executed_notebook_mb": notebook_mb,
        "add_run_to_history_ms": add_ms,
        "history_runs_before": before,
    }
    report(
        "report_history_per_run",
        "Figures and history per run [ms]",
        [(name, value, "") for name, value in figures.items()],
    )


def read_figures(store: HistoryStore, runs: int) -> dict[str, Any]:
    rows = store.rows()
    assert len(rows) == runs and rows[-1]["figures"]["fleet_readings"] == 1440 + runs - 1
    read_ms = ms(store.rows, 5)
    json_ms = ms(lambda: [as_json(row) for row in rows], 5)
    one_entry_ms = ms(lambda: store.rows("business-daily"), 5)
    return {"read_ms": read_ms, "as_json_ms": json_ms, "read_one_entry_ms": one_entry_ms}


@pytest.mark.stack
def test_reading_the_history_of_many_runs(tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    runs = size(1000, 10000)
    data = to_parquet(history_rows(runs))
    # from a file next to the reports (the local target)
    local = HistoryStore.of(None, tmp_path)
    local.path.write_bytes(data)
    figures: dict[str, Any] = {"runs": runs, "parquet_bytes": len(data), "bytes_per_run": round(len(data) / runs)}
    figures.update({f"file_{name}": value for name, value in read_figures(local, runs).items()})
    # from S3 (the aws target; a moto server on loopback stands in, so the time is mostly ours, not the network)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "moto")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "moto")  # pragma: allowlist secret (moto takes any key)
    aws = Settings(target="aws", endpoint_url=settings.endpoint, bucket=settings.bucket)
    remote = HistoryStore.of(aws, tmp_path)
    remote.s3.put_object(Bucket=remote.bucket, Key=remote.key, Body=data)
    figures.update({f"s3_{name}": value for name, value in read_figures(remote, runs).items()})
    report(
        "report_history_read",
        f"Reading the history of {runs:,} runs",
        [(name, value, "") for name, value in figures.items()],
    )
