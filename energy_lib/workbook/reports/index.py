"""``<reports_dir>/index.html``: every run, newest first, failed ones marked; rebuilt after each run.

The page is the Jinja2 template ``templates/index.html.j2``, rendered with autoescape: notebook names,
parameters and error messages are text, never markup. It loads nothing remote.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from energy_lib import timeutil
from energy_lib.workbook.reports.records import FAILED, RunRecord, list_runs, write_text

INDEX_FILE = "index.html"
TEMPLATE = "index.html.j2"


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
        "duration": "" if record.duration_s is None else f"{record.duration_s:.1f} s",
        "run_id": record.run_id,
        "links": [
            (label, paths[key])
            for label, key in (("HTML", "html"), ("ipynb", "ipynb"))
            if paths[key] and (reports / paths[key]).exists()
        ],
    }


def render_index(records: list[RunRecord], reports_dir: str | os.PathLike[str]) -> str:
    """The index page of ``records`` (links relative to ``reports_dir``)."""
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
        runs=[_row(record, reports) for record in records],
        failed=sum(record.status == FAILED for record in records),
        updated=timeutil.format_timestamp(timeutil.now()),
    )


def write_index(reports_dir: str | os.PathLike[str] = "reports") -> Path:
    """Rebuild ``reports_dir/index.html`` from every run under it; returns its path."""
    reports = Path(reports_dir)
    reports.mkdir(parents=True, exist_ok=True)
    path = reports / INDEX_FILE
    write_text(path, render_index(list_runs(reports), reports))
    return path
