"""The notebooks served as a web app with Voilà: ``energy-workbook dashboard`` (``make dashboard``).

Voilà runs each page's notebook in a kernel of its own when the page opens and shows its outputs and live
widgets without the code. The pages are :data:`PAGES`, listed on Voilà's start page (the other notebooks,
such as the provisioning checks or the batch simulation, are hidden from it); each opens at
``/voila/render/<notebook>.ipynb``.

Every page runs on the dashboard's target: before a kernel starts, :func:`parameterize` puts the target
into the notebook as papermill does for a report (an ``injected-parameters`` cell after the ``parameters``
cell), with any declared parameter given in the page's query string, converted to its declared type as
``report run -p`` does (``/voila/render/03-explore-readings.ipynb?site_id=SITE_002``). The kernels get the
dashboard's ``ENERGY_*`` settings.

Voilà listens on 127.0.0.1 only, on exactly the port asked for (no fallback to another port).
"""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path
from typing import Any

from energy_lib.config import Settings

__all__ = ["DEFAULT_PORT", "HOST", "PAGES", "parameterize", "serve", "voila_arguments"]

HOST = "127.0.0.1"
DEFAULT_PORT = 8866  # Voilà's own default
PAGES = (  # the dashboard's pages, in the order of the start page
    "03-explore-readings",
    "04-report-business",
    "05-operate-pipeline",
    "08-browse-raw-files",
    "09-control-simulator",
    "10-assess-fleet-performance",
    "11-review-report-history",
)


def parameterize(target: str, notebooks_dir: Path, request: Any, notebook: Any, cwd: str) -> Any:
    """Voilà's prelaunch hook: the page's notebook (``cwd`` is its folder relative to ``notebooks_dir``), read
    by papermill, with ``target`` and the query string's declared parameters injected after its
    ``parameters`` cell, and without the cells a report hides too (those only nbval checks); an unknown
    parameter or a bad value answers 400."""
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook
    from tornado.web import HTTPError

    from energy_lib.workbook import reports
    from energy_lib.workbook.reports.export import HIDE_TAG

    given = {name: request.get_query_argument(name) for name in request.request.query_arguments}
    path = Path(notebooks_dir, cwd, Path(request.request.path).name)
    try:
        parameters = reports.coerce_parameters(path, {**given, "target": target})
    except reports.ReportError as error:
        raise HTTPError(400, str(error), reason=" ".join(str(error).split())) from error
    prepared = load_notebook_node(str(path))  # the same file, with the metadata papermill relies on
    prepared.cells = [cell for cell in prepared.cells if HIDE_TAG not in cell.metadata.tags]  # nbval's checks
    return parameterize_notebook(prepared, parameters, kernel_name="python3", language="python")


def voila_arguments(notebooks_dir: Path, port: int) -> list[str]:
    """The command line of the Voilà app: the notebooks folder, on 127.0.0.1:``port`` only, no browser."""
    hidden = sorted(path.name for path in notebooks_dir.glob("*.ipynb") if path.stem not in PAGES)
    return [
        str(notebooks_dir),
        f"--Voila.ip={HOST}",
        f"--Voila.port={port}",
        "--Voila.port_retries=0",
        "--Voila.open_browser=False",
        "--VoilaConfiguration.show_tracebacks=True",
        *(f"--ContentsManager.hide_globs={name}" for name in ["__pycache__", ".ipynb_checkpoints", *hidden]),
    ]


def serve(settings: Settings, notebooks_dir: Path, port: int = DEFAULT_PORT) -> None:
    """Serve the dashboard until interrupted (Ctrl-C): Voilà on ``127.0.0.1:port``, every page on
    ``settings``' target."""
    from voila.app import Voila

    os.environ.update(settings.environment())  # the kernels' settings: the dashboard's
    app = Voila()
    app.initialize(voila_arguments(notebooks_dir, port))
    app.voila_configuration.prelaunch_hook = partial(parameterize, settings.target, notebooks_dir)
    print(f"dashboard: http://{HOST}:{port}/ (target {settings.target}; Ctrl-C stops it)", flush=True)
    app.start()
