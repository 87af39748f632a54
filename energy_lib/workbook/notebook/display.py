"""Show plotly figures so that exported reports draw them offline.

plotly's default output in Jupyter is its own mimetype, which nbconvert drops, and its ``notebook_connected``
renderer loads plotly.js from a CDN that an offline reader cannot reach. A notebook therefore calls
:func:`setup` in its first code cell: it embeds plotly.js once, in that cell's output, and makes this module's
renderer the default. Each figure is then shown (by :func:`show`, or by leaving it as a cell's last
expression) as two representations of the same chart:

- ``application/vnd.plotly.v1+json``: JupyterLab, Voilà, VS Code and nteract draw it interactive with their
  own plotly extension;
- ``text/html``: a ``<div>`` and a script calling ``Plotly.newPlot``, without plotly.js, which nbconvert keeps
  and which draws from the copy of plotly.js that :func:`setup` put earlier in the document.

So an exported report carries plotly.js exactly once whatever its number of charts, and opens from disk with
no network.

Size. Every figure gets an explicit height (``FIGURE_HEIGHT_PX``) and the live mimetype carries no
``responsive`` config. With ``responsive``, plotly.js sizes a chart to 100 % of its container's height
whenever the container was not empty when the chart was first drawn; JupyterLab's (and Voilà's) plotly
renderer draws into an already attached node inside an ``ipywidgets.Output`` (the explorer), whose height
is ``auto``, so the chart collapsed to 0 px after plotly's first resize. Without it, plotly keeps the
height in pixels and still follows the container's width on every resize (the renderer resizes on layout
changes). The exported HTML keeps ``responsive``: there the chart's ``<div>`` has a fixed height.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import plotly.io as pio
from plotly.io.base_renderers import MimetypeRenderer, PlotlyRenderer

from energy_lib.workbook.notebook.charts import has_data

__all__ = [
    "FIGURE_HEIGHT_PX",
    "RENDERER",
    "ensure_setup",
    "figure_html",
    "mimebundle",
    "page_has_plotlyjs",
    "plotlyjs_html",
    "setup",
    "show",
]

RENDERER = "energy_offline"  # name of this module's plotly renderer, made the default by setup()
FIGURE_HEIGHT_PX = 480
_state = {"plotlyjs_shown": False, "page_has_plotlyjs": False}


class _OfflineRenderer(MimetypeRenderer):
    """plotly mimetype for live frontends plus a plotly.js-free HTML div for nbconvert."""

    def to_mimebundle(self, fig_dict: dict[str, Any]) -> dict[str, Any]:
        fig_dict = dict(fig_dict, layout={"height": FIGURE_HEIGHT_PX, **fig_dict.get("layout", {})})
        bundle = PlotlyRenderer().to_mimebundle(fig_dict)  # no "responsive": see the module's docstring
        bundle["text/html"] = figure_html(go.Figure(fig_dict, skip_invalid=True))
        return bundle


def plotlyjs_html() -> str:
    """plotly.js (bundled with the plotly package, several MB) in a ``<script>``; defines ``window.Plotly``."""
    from plotly.offline import get_plotlyjs

    return (
        "<script type=\"text/javascript\">window.PlotlyConfig = {MathJaxConfig: 'local'};</script>\n"
        f'<script type="text/javascript">{get_plotlyjs()}</script>'
    )


def figure_html(fig: go.Figure) -> str:
    """The figure as a ``<div>`` and script that draw it with an already loaded ``window.Plotly``; no CDN."""
    return pio.to_html(
        fig,
        include_plotlyjs=False,
        include_mathjax=False,
        full_html=False,
        default_width="100%",
        default_height=f"{FIGURE_HEIGHT_PX}px",
        config={"responsive": True},
        validate=False,
    )


def mimebundle(fig: go.Figure) -> dict[str, Any]:
    """What :func:`show` displays: the plotly mimetype and the offline HTML of ``fig``."""
    return _OfflineRenderer().to_mimebundle(fig.to_dict())


# registered when the module loads (plotly then imports nbformat and its JSON schema libraries, seconds on a
# busy machine): a dashboard's warm kernel has that done before its page asks for setup()
pio.renderers[RENDERER] = _OfflineRenderer()


def setup() -> None:
    """Prepare this kernel and the document to show figures offline. Call it in a notebook's first code cell.

    Displays plotly.js once (the cell's output; exported HTML keeps it) and makes this module's renderer
    plotly's default, so a figure left as a cell's last expression displays like :func:`show`.
    """
    from IPython.display import HTML, display

    pio.renderers.default = RENDERER
    if not _state["page_has_plotlyjs"]:
        display(HTML(plotlyjs_html()))
    _state["plotlyjs_shown"] = True


def page_has_plotlyjs() -> None:
    """Say that the page showing this kernel's outputs loads plotly.js itself (a dashboard page does, from the
    server, once per browser): :func:`setup` then sends no copy of it (several MB per page view)."""
    _state["page_has_plotlyjs"] = True


def ensure_setup() -> None:
    """Call :func:`setup` unless this kernel already has: plotly.js must precede the first chart."""
    if not _state["plotlyjs_shown"]:
        setup()


def show(fig: go.Figure, skip_empty: bool = False) -> None:
    """Display ``fig``: interactive in JupyterLab, and drawn in nbconvert HTML opened with no network.

    Calls :func:`setup` first if this kernel has not, so plotly.js is in the document before the chart.

    Parameters
    ----------
    fig : Figure
        The figure.
    skip_empty : bool
        Display nothing when ``fig`` has no data (see :func:`has_data`): for a report that already says
        once that its period is empty, instead of one "No data" box per chart.
    """
    from IPython.display import display

    if skip_empty and not has_data(fig):
        return
    ensure_setup()
    display(mimebundle(fig), raw=True)
