"""The notebooks served as a web app with Voilà: ``energy-workbook dashboard`` (``make dashboard``).

Voilà runs each page's notebook in a kernel when the page opens and shows its outputs and live widgets without
the code. The pages are :data:`PAGES`, listed on Voilà's start page (the other notebooks, such as the
provisioning checks or the batch simulation, are hidden from it); each opens at
``/voila/render/<notebook>.ipynb``.

Parameters. Every page runs on the dashboard's target: before a kernel starts, :func:`prepare_page` puts the
target into the notebook as papermill does for a report (an ``injected-parameters`` cell after the
``parameters`` cell), with any declared parameter given in the page's query string
(``/voila/render/03-explore-readings.ipynb?site_id=SITE_002``), checked by the rule every run follows
(:mod:`energy_lib.workbook.reports.parameters`): a bad value answers HTTP 400 with the one-line message
``report run -p`` prints, and no kernel starts. The kernels get the dashboard's ``ENERGY_*`` settings.

Kernels. A page's kernel ends when the page closes: Voilà's page then sends a shutdown request, which the
server accepts only with the ``_xsrf`` cookie that :func:`prepare_page` sets on every page (Voilà sets it on
its start page only, so a page opened directly was refused and its kernel ran on). A kernel with no page
connected, idle for ``cull_idle_s``, is shut down too (the second line). Pages open on warm kernels: a pool
of ``pool_size`` kernels started ahead with the pages' imports done (:mod:`.kernel_pool`), so a page's
notebook runs at once, on the data of the moment.

Offline. The pages use a template built on Voilà's lab template (``jupyter/voila/templates/energy`` next to this
module): without its two stylesheet links to a CDN (Font Awesome, which Voilà's own bundle carries), loading
plotly.js from the dashboard (the plotly package's own copy; a page's first cell tells ``display.setup()`` to
send none, several MB less per page view), and showing a chart of a cell's output by its HTML version (see the
template); the start page and the error pages have a skeleton of their own (``page.html``), without the link to a
CDN that Voilà's has outside any block. Nothing a page asks for leaves 127.0.0.1.

Voilà listens on 127.0.0.1 only, on exactly the port asked for (no fallback to another port).
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterable
from functools import partial
from pathlib import Path
from typing import Any

from energy_lib.config import Settings

__all__ = [
    "CULL_IDLE_S",
    "DEFAULT_PORT",
    "HOST",
    "PAGES",
    "POOL_SIZE",
    "page_parameters",
    "prepare_page",
    "serve",
    "voila_arguments",
    "warm_up_code",
]

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
POOL_SIZE = 2  # warm kernels kept ready for the next pages
CULL_IDLE_S = 600  # a kernel with no page connected is shut down after this long idle [s]
CULL_INTERVAL_S = 60  # how often idle kernels are looked for [s] (at most the culling time)
TEMPLATE = "energy"  # jupyter/voila/templates/energy: Voilà's lab template, offline
JUPYTER_DATA = Path(__file__).resolve().with_name("jupyter")  # a Jupyter data folder holding the template
KERNEL_MANAGER = "energy_lib.workbook.notebook.kernel_pool.WarmKernelManager"
PAGE_HAS_PLOTLYJS = (  # the first cell of every page: the template loads plotly.js, so display.setup() sends none
    "from energy_lib.workbook.notebook.display import page_has_plotlyjs\n\npage_has_plotlyjs()\ndel page_has_plotlyjs\n"
)


def page_parameters(notebook_path: Path, query: str, target: str) -> dict[str, Any]:
    """The parameters a page's ``query`` string (``site_id=SITE_002&...``) gives the notebook at
    ``notebook_path``, checked and converted as for ``report run -p``, with the dashboard's ``target``.

    Raises
    ------
    ParameterError
        An undeclared name, a value the declaration refuses, or a target other than the dashboard's.
    """
    from urllib.parse import parse_qsl

    from energy_lib.workbook.reports import ParameterError, declared_parameters
    from energy_lib.workbook.reports.parameters import check_parameters

    declared = declared_parameters(notebook_path)
    values = check_parameters(notebook_path.stem, declared, dict(parse_qsl(query, keep_blank_values=True)))
    if "target" in declared and values.setdefault("target", target) != target:
        raise ParameterError(f"parameter target: this dashboard serves target {target!r}, not {values['target']!r}")
    return values


def prepare_page(target: str, notebooks_dir: Path, request: Any, notebook: Any, cwd: str) -> Any:
    """Voilà's prelaunch hook, before the page's kernel starts: the page's notebook (``cwd`` is its folder
    relative to ``notebooks_dir``), read by papermill, with ``target`` and the query string's parameters
    (:func:`page_parameters`) injected after its ``parameters`` cell, and without the cells a report hides too
    (those only nbval checks). A refused parameter answers 400 with its one-line message. Sets the ``_xsrf``
    cookie that the page's shutdown request must carry back when it closes."""
    from nbformat.v4 import new_code_cell
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook
    from tornado.web import HTTPError

    from energy_lib.workbook.reports import ParameterError
    from energy_lib.workbook.reports.export import HIDE_TAG

    path = Path(notebooks_dir, cwd, Path(request.request.path).name)
    try:
        parameters = page_parameters(path, request.request.query, target)
    except ParameterError as error:
        raise HTTPError(400, "%s", str(error), reason=str(error)) from None
    request.xsrf_token  # noqa: B018  (reading it makes tornado set the cookie on this response)
    prepared = load_notebook_node(str(path))  # the same file, with the metadata papermill relies on
    prepared.cells = [cell for cell in prepared.cells if HIDE_TAG not in cell.metadata.tags]  # nbval's checks
    prepared = parameterize_notebook(prepared, parameters, kernel_name="python3", language="python")
    prepared.cells.insert(0, new_code_cell(PAGE_HAS_PLOTLYJS, metadata={"tags": ["injected-dashboard"]}))
    return prepared


def warm_up_code(notebooks: Iterable[Path]) -> str:
    """Python that imports what the ``notebooks`` import (every top-level import of their code cells), inside a
    function so that the kernel's namespace stays as a fresh kernel's."""
    import nbformat

    statements: list[str] = []
    for path in notebooks:
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type != "code":
                continue
            try:
                body = ast.parse(cell.source).body
            except SyntaxError:
                continue
            for node in body:
                text = ast.unparse(node)
                if isinstance(node, ast.Import | ast.ImportFrom) and text not in statements:
                    statements.append(text)
    lines = "".join(f"    {statement}\n" for statement in statements) or "    pass\n"
    return f"def _warm_up():\n{lines}\n\n_warm_up()\ndel _warm_up\n"


def plotly_package_data() -> Path:
    """The plotly package's data folder, which holds the plotly.js of the installed plotly."""
    import plotly

    return Path(plotly.__file__).with_name("package_data")


def voila_arguments(
    notebooks_dir: Path, port: int, pool_size: int = POOL_SIZE, cull_idle_s: int = CULL_IDLE_S
) -> list[str]:
    """The command line of the Voilà app: the notebooks folder, on 127.0.0.1:``port`` only, no browser, the
    offline template, ``pool_size`` warm kernels, kernels without a page culled after ``cull_idle_s`` (0:
    never)."""
    hidden = sorted(path.name for path in notebooks_dir.glob("*.ipynb") if path.stem not in PAGES)
    return [
        str(notebooks_dir),
        f"--Voila.ip={HOST}",
        f"--Voila.port={port}",
        "--Voila.port_retries=0",
        "--Voila.open_browser=False",
        "--VoilaConfiguration.show_tracebacks=True",
        f"--VoilaConfiguration.template={TEMPLATE}",
        f"--VoilaConfiguration.multi_kernel_manager_class={KERNEL_MANAGER}",
        f"--WarmKernelManager.pool_size={pool_size}",
        f"--MappingKernelManager.cull_idle_timeout={cull_idle_s}",
        f"--MappingKernelManager.cull_interval={max(1, min(CULL_INTERVAL_S, cull_idle_s))}",
        *(f"--ContentsManager.hide_globs={name}" for name in ["__pycache__", ".ipynb_checkpoints", *hidden]),
    ]


def serve(
    settings: Settings,
    notebooks_dir: Path,
    port: int = DEFAULT_PORT,
    pool_size: int = POOL_SIZE,
    cull_idle_s: int = CULL_IDLE_S,
) -> None:
    """Serve the dashboard until interrupted (Ctrl-C): Voilà on ``127.0.0.1:port``, every page on
    ``settings``' target, ``pool_size`` warm kernels, kernels without a page culled after ``cull_idle_s``."""
    from traitlets.config import Config
    from voila.app import Voila

    os.environ.update(settings.environment())  # the kernels' settings: the dashboard's
    os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(JUPYTER_DATA), os.environ.get("JUPYTER_PATH")]))
    app = Voila()
    app.initialize(voila_arguments(notebooks_dir, port, pool_size, cull_idle_s))
    app.static_paths.append(str(plotly_package_data()))  # /voila/static/plotly.min.js, which the template loads
    pages = [notebooks_dir / f"{page}.ipynb" for page in PAGES if (notebooks_dir / f"{page}.ipynb").is_file()]
    app.update_config(Config({"WarmKernelManager": {"warm_up": warm_up_code(pages)}}))
    app.voila_configuration.prelaunch_hook = partial(prepare_page, settings.target, notebooks_dir)
    print(
        f"dashboard: http://{HOST}:{port}/ (target {settings.target}; {pool_size} warm kernels; Ctrl-C stops it)",
        flush=True,
    )
    app.start()
