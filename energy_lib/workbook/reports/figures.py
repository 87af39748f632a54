"""Named figures a notebook records for the run history: ``record("fleet_generated_kwh", value)``.

In the kernel, :func:`record` (or :func:`record_all` for several) displays one output of the type
:data:`MIMETYPE` (names and values) with a muted line beside it ("Recorded for the run history:
fleet_generated_kwh 17592.934"), which Jupyter shows and the report's HTML leaves out. After the run, the
runner reads those outputs from the executed notebook (:func:`figures_of`) and stores them in its metadata
(``metadata.energy_workbook.figures``), in ``run.json`` and in the history table.

Why not scrapbook's ``glue``, the prior art: scrapbook is unmaintained since 2021 and would bring its Python 2
shims (``six``, ``future``, ``retry``) into the lock; it keeps scraps in cell outputs only, to be read back with
its own reader. What the history needs is a number per name kept in the output notebook, which one display
call and a few lines of reading give, on the libraries already here (IPython, nbformat).

Values are numbers stored as float64: exact for every figure of up to 15 significant digits, such as kWh to
the Wh. ``None`` (or NaN) records "not defined", e.g. an efficiency without consumption.
"""

from __future__ import annotations

import contextlib
import html
import math
import numbers
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

MIMETYPE = "application/vnd.energy-workbook.figure+json"
METADATA_KEY = "energy_workbook"
NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")  # snake_case with the unit at the end: fleet_generated_kwh

Figure = float | None


def figure_value(name: str, value: Any) -> Figure:
    """``value`` as a recorded figure: a float, or None for not defined (None, NaN).

    Raises
    ------
    ValueError
        ``name`` is not snake_case (at most 64 characters), or ``value`` is not a real number (text, a bool,
        an infinity).
    """
    if not isinstance(name, str) or not NAME.match(name):
        raise ValueError(f"a figure's name is snake_case with its unit, e.g. fleet_generated_kwh; not {name!r}")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real | Decimal):
        raise ValueError(f"figure {name}: {value!r} is not a number")
    number = float(value)
    if math.isnan(number):
        return None
    if math.isinf(number):
        raise ValueError(f"figure {name}: {value!r} is not finite")
    return number


def figure_text(value: Figure) -> str:
    """A recorded figure for people, every digit kept: ``17592.934``, ``5`` (not ``5.0``), ``n/a``."""
    if value is None:
        return "n/a"
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def record(name: str, value: Any) -> None:
    """Record the figure ``name`` of this run (the last value recorded for a name wins).

    Parameters
    ----------
    name : str
        snake_case with its unit, e.g. ``fleet_generated_kwh``, ``fleet_completeness_pct``, ``silent_sites``.
    value : number or None
        int, float, Decimal or a numpy number; None or NaN when the figure is not defined for this run.
    """
    record_all({name: value})


def record_all(figures: Mapping[str, Any]) -> None:
    """:func:`record` each of ``figures`` (name -> value), all checked first, in one output: a muted line
    ("Recorded for the run history: ...") in Jupyter, left out of the report's HTML."""
    from IPython.display import display

    checked = {name: figure_value(name, value) for name, value in figures.items()}
    listed = [f"{name} {figure_text(value)}" for name, value in checked.items()]
    line = f"Recorded for the run history: {' · '.join(listed) or 'nothing'}"
    bundle = {
        MIMETYPE: {"figures": [[name, value] for name, value in checked.items()]},  # pairs: notebooks sort keys
        "text/html": f'<p style="color:#757575;font-size:0.8em;margin:0">{html.escape(line)}</p>',
        "text/plain": line,
    }
    display(bundle, raw=True)


def figures_of(notebook: Any) -> dict[str, Figure]:
    """The figures recorded in an executed notebook (a NotebookNode), in cell order, the last of a name winning."""
    found: dict[str, Figure] = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            data = output.get("data", {}).get(MIMETYPE)
            if not isinstance(data, Mapping) or not isinstance(data.get("figures"), list):
                continue
            for pair in data["figures"]:
                with contextlib.suppress(ValueError, TypeError):  # not written by record_all(): not a figure
                    name, value = pair
                    found.pop(name, None)  # a figure recorded again moves to where it was recorded last
                    found[name] = figure_value(name, value)
    return found


def is_figure_output(output: Mapping[str, Any]) -> bool:
    """True for the output of :func:`record` (the HTML export leaves it out)."""
    return MIMETYPE in output.get("data", {})
