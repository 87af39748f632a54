"""``<reports_dir>/index.html``: each schedule entry's last status, last success and the trend of its figures
(from the run history), then every run, newest first, failed ones marked; rebuilt after each run.

The page is the Jinja2 template ``templates/index.html.j2``, rendered with autoescape: notebook names,
parameters and error messages are text, never markup. It loads nothing remote: the trends are inline SVG.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from energy_lib import timeutil
from energy_lib.workbook.reports.history import HistoryStore
from energy_lib.workbook.reports.records import FAILED, SUCCEEDED, RunRecord, list_runs, write_text

INDEX_FILE = "index.html"
TEMPLATE = "index.html.j2"
TREND_RUNS = 30  # runs a trend shows, the latest
TREND_FIGURES = 6  # figures of an entry with a trend: measures (kWh, %) first, then counts, as recorded
MEASURES = ("_kwh", "_kw", "_pct", "_s")
SPARK_WIDTH, SPARK_HEIGHT = 120, 28  # [px]


def sparkline(values: Sequence[float]) -> str:
    """The ``points`` of an SVG polyline drawing ``values`` left to right in SPARK_WIDTH x SPARK_HEIGHT pixels
    (lowest at the bottom; a flat line in the middle when they are all equal; one value at the right end)."""
    low, high = min(values), max(values)
    pad = 3  # room for the dot on the last point
    step = (SPARK_WIDTH - 2 * pad) / (len(values) - 1) if len(values) > 1 else 0
    span = high - low

    def x(i: int) -> float:
        return pad + i * step if len(values) > 1 else SPARK_WIDTH - pad  # a single run: at the right, as the latest

    def y(value: float) -> float:
        return SPARK_HEIGHT / 2 if not span else pad + (SPARK_HEIGHT - 2 * pad) * (high - value) / span

    return " ".join(f"{x(i):.1f},{y(value):.1f}" for i, value in enumerate(values))


def _number(value: float) -> str:
    return f"{value:,.1f}" if abs(value) >= 100 else f"{value:,.3g}"


def entries(rows: Sequence[Mapping[str, Any]], reports: Path) -> list[dict[str, Any]]:
    """Per schedule entry (a run on demand: per notebook) in the history ``rows``: the last run's status, reason
    and link, when it last succeeded, failures since, and a trend of its main figures over its latest runs that
    succeeded."""
    by_key: dict[str, list[Mapping[str, Any]]] = {}
    for row in sorted(rows, key=lambda row: row["started_utc"]):
        by_key.setdefault(str(row["entry"] or row["notebook"]), []).append(row)
    shown = []
    for key, runs in sorted(by_key.items()):
        last = runs[-1]
        successes = [row for row in runs if row["status"] == SUCCEEDED]
        recent = successes[-TREND_RUNS:]  # a failed run's figures may stop half-way
        recorded = list(dict.fromkeys(name for row in recent for name in row["figures"]))
        names = sorted(recorded, key=lambda name: not name.endswith(MEASURES))[:TREND_FIGURES]  # stable: in order
        trends = []
        for name in names:
            values = [row["figures"][name] for row in recent if row["figures"].get(name) is not None]
            if values:
                points = sparkline(values)
                x, y = points.rsplit(" ", 1)[-1].split(",")
                trends.append(
                    {"name": name, "last": _number(values[-1]), "runs": len(values), "points": points, "x": x, "y": y}
                )
        link = last["html"] if last["html"] and (reports / str(last["html"])).is_file() else None
        shown.append(
            {
                "key": key,
                "notebook": last["notebook"],
                "scheduled": bool(last["entry"]),
                "every": last["every"] or "on demand",
                "status": last["status"],
                "reason": last["reason"] or "",
                "last_run": timeutil.clock(last["started_utc"]),
                "last_success": timeutil.clock(successes[-1]["started_utc"]) if successes else "never",
                "failing": len(runs) - 1 - runs.index(successes[-1]) if successes else len(runs),
                "runs": len(runs),
                "link": link,
                "trends": trends,
            }
        )
    return shown


def _row(record: RunRecord, reports: Path) -> dict[str, Any]:
    """What the template shows of one run."""
    paths = record.to_json(reports)["paths"]
    return {
        "status": record.status,
        "started": timeutil.format_timestamp(record.started_utc),
        "notebook": record.notebook,
        "entry": str(record.schedule.get("entry", "")) if record.schedule else "",
        "parameters": [
            (name, json.dumps(value, default=str), name in record.overrides)
            for name, value in record.parameters.items()
        ],
        "error": record.error,
        "reason": record.reason or "",
        "duration": "" if record.duration_s is None else f"{record.duration_s:.1f} s",
        "run_id": record.run_id,
        "links": [
            (label, paths[key])
            for label, key in (("HTML", "html"), ("ipynb", "ipynb"))
            if paths[key] and (reports / paths[key]).exists()
        ],
    }


def render_index(
    records: list[RunRecord], reports_dir: str | os.PathLike[str], rows: Sequence[Mapping[str, Any]] = ()
) -> str:
    """The index page of ``records`` and the history ``rows`` (links relative to ``reports_dir``)."""
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("energy_lib.workbook.reports"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    reports = Path(reports_dir)
    return environment.get_template(TEMPLATE).render(
        entries=entries(rows, reports),
        spark={"width": SPARK_WIDTH, "height": SPARK_HEIGHT},
        runs=[_row(record, reports) for record in records],
        failed=sum(record.status == FAILED for record in records),
        updated=timeutil.format_timestamp(timeutil.now()),
    )


def write_index(
    reports_dir: str | os.PathLike[str] = "reports", rows: Sequence[Mapping[str, Any]] | None = None
) -> Path:
    """Rebuild ``reports_dir/index.html`` from every run under it and the history ``rows`` (default: the history
    next to the reports); returns its path."""
    reports = Path(reports_dir)
    reports.mkdir(parents=True, exist_ok=True)
    if rows is None:
        rows = HistoryStore.of(None, reports).rows()
    path = reports / INDEX_FILE
    write_text(path, render_index(list_runs(reports), reports, rows))
    return path
