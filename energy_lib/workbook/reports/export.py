"""An executed notebook as HTML without code, headed by a summary of its run, loading nothing remote."""

from __future__ import annotations

import html
import json
import os
from pathlib import Path
from typing import Any

from energy_lib import timeutil
from energy_lib.workbook.reports.figures import figure_text, is_figure_output
from energy_lib.workbook.reports.records import FAILED, RunRecord, write_text

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
HIDE_TAG = "report-hide"  # cells with this tag (e.g. those only nbval checks) are left out of the HTML
# Asset URLs of nbconvert's lab template pointed at empty scripts: an exported report loads nothing remote.
_NO_SCRIPT = "data:text/javascript,"


def _summary_cell(record: RunRecord) -> Any:
    """A cell heading the export: what ran, with which parameters, and how it ended.

    A markdown cell holding one line of HTML: nbconvert passes it through, while raw cells are sanitized.
    """
    from nbformat.v4 import new_markdown_cell

    rows = "".join(
        f"<tr><th>{html.escape(str(name))}</th><td><code>{html.escape(json.dumps(value, default=str))}</code>"
        f"{' (given)' if name in record.overrides else ''}</td></tr>"
        for name, value in record.parameters.items()
    )
    status = html.escape(record.status)
    colour = "#b00020" if record.status == FAILED else "#1b5e20"
    error = (
        f"<p><b>Error</b> ({html.escape(record.reason or 'error')}"
        f"{'' if record.failed_cell is None else f', cell {record.failed_cell}'}): "
        f"<code>{html.escape(record.error)}</code></p>"
        if record.error
        else ""
    )
    figures = (
        "<p><b>Recorded figures:</b> "
        + ", ".join(f"{html.escape(name)} <code>{figure_text(value)}</code>" for name, value in record.figures.items())
        + "</p>"
        if record.figures
        else ""
    )
    # One line: a blank line would end the markdown HTML block.
    body = (
        '<div class="energy-run-summary" style="border:1px solid #ccc;padding:.5em 1em;margin-bottom:1em">'
        f"<p><b>{html.escape(record.notebook)}</b> · run <code>{html.escape(record.run_id)}</code> · "
        f'<b style="color:{colour}">{status}</b> · started {timeutil.format_timestamp(record.started_utc)}'
        f"{' · finished ' + timeutil.format_timestamp(record.finished_utc) if record.finished_utc else ''}</p>"
        f"{error}{figures}"
        f'<table style="margin-left:0"><tbody>{rows or "<tr><td>no parameters</td></tr>"}</tbody></table>'
        "</div>"
    ).replace("\n", "<br>")
    return new_markdown_cell(body)


def export_html(
    ipynb: str | os.PathLike[str], html_path: str | os.PathLike[str], record: RunRecord | None = None
) -> Path:
    """Export an executed notebook to HTML with no code cells and no prompts, loading nothing remote.

    Widget state is left out so that widgets show the HTML copy they carry (see
    :class:`energy_lib.workbook.notebook.widgets.Explorer`) instead of needing the widget manager from a CDN.
    Cells tagged ``report-hide`` are left out, unless one of them failed: its traceback stays. So are
    widget outputs without an HTML copy (a progress bar frozen at its first frame, a button): they mean
    nothing on a static page; and the outputs of recorded figures (:mod:`.figures`), which the summary lists.
    With ``record``, a summary of the run (parameters, status, reason, error, figures) heads the page.
    """
    import nbformat
    from nbconvert import HTMLExporter

    notebook = nbformat.read(os.fspath(ipynb), as_version=4)
    notebook.metadata.pop("widgets", None)
    notebook.cells = [
        cell
        for cell in notebook.cells
        if HIDE_TAG not in cell.get("metadata", {}).get("tags", [])
        or any(output.get("output_type") == "error" for output in cell.get("outputs", []))
    ]
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = [
                output for output in cell.outputs if not _live_widget_only(output) and not is_figure_output(output)
            ]
    if record is not None:
        notebook.metadata["title"] = f"{record.notebook} · {record.run_id}"
        notebook.cells.insert(0, _summary_cell(record))
    exporter = HTMLExporter(
        template_name="lab",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
        require_js_url=_NO_SCRIPT,
        mathjax_url=_NO_SCRIPT,
    )
    body, _resources = exporter.from_notebook_node(notebook)
    path = Path(html_path)
    write_text(path, body)
    return path


def _live_widget_only(output: Any) -> bool:
    data = output.get("data", {})
    return WIDGET_VIEW in data and "text/html" not in data
