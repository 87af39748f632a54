"""The parameters of a notebook: which it declares, and values given as text converted to their types.

Values given as strings (``-p hours 6`` on the command line) are converted to the type of the notebook's
parameter: the annotation papermill infers from the ``parameters`` cell (``hours: int = 6``), else the type of
its default value. A name the notebook does not declare is an error.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
from collections.abc import Mapping
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from energy_lib import timeutil
from energy_lib.workbook.reports.records import ReportError


def resolve_notebook(notebook: str | os.PathLike[str], notebooks_dir: str | os.PathLike[str] = "notebooks") -> Path:
    """The ``.ipynb`` of ``notebook``: a name such as ``04-report-business`` in ``notebooks_dir``, or a path."""
    text = os.fspath(notebook)
    if text.endswith(".ipynb") or os.sep in text or "/" in text:
        path = Path(text)
    else:
        path = Path(notebooks_dir) / f"{text}.ipynb"
    if not path.is_file():
        available = sorted(p.stem for p in Path(notebooks_dir).glob("*.ipynb")) if Path(notebooks_dir).is_dir() else []
        raise ReportError(f"no notebook {path}; available in {notebooks_dir}: {available}")
    return path.resolve()


def declared_parameters(notebook_path: str | os.PathLike[str]) -> dict[str, tuple[str, str]]:
    """``{name: (type name, default source)}`` of the notebook's ``parameters`` cell.

    papermill's inference (:func:`papermill.inspect_notebook`) first; names its line patterns miss (such as
    ``x: int | None = None``) are taken from the cell's Python syntax tree. Type ``"None"`` means unannotated.
    """
    import nbformat
    import papermill

    try:
        inspected = papermill.inspect_notebook(str(notebook_path))
    except ValueError:  # papermill needs a kernelspec in the metadata; the syntax tree below does not
        inspected = {}
    declared = {
        name: (str(info.get("inferred_type_name") or "None"), str(info.get("default") or ""))
        for name, info in inspected.items()
    }
    notebook = nbformat.read(os.fspath(notebook_path), as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code" and "parameters" in cell.get("metadata", {}).get("tags", []):
            with contextlib.suppress(SyntaxError):
                for node in ast.parse(cell.source).body:
                    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                        default = ast.unparse(node.value) if node.value is not None else ""
                        declared.setdefault(node.target.id, (ast.unparse(node.annotation), default))
                    elif isinstance(node, ast.Assign):
                        for target in node.targets:
                            if isinstance(target, ast.Name):
                                declared.setdefault(target.id, ("None", ast.unparse(node.value)))
            break
    return declared


_KINDS = {"int", "float", "bool", "str", "list", "dict", "tuple", "set"}


def _kind(type_name: str, default: str) -> tuple[str | None, bool]:
    """(base kind or None if unknown, whether None is allowed) of a parameter's annotation or default."""
    text = type_name.strip().strip("'\"")
    optional = False
    if text.startswith(("Optional[", "typing.Optional[")) and text.endswith("]"):
        text, optional = text[text.index("[") + 1 : -1], True
    parts = [part.strip() for part in text.split("|")]
    if len(parts) > 1 and "None" in parts:
        parts.remove("None")
        text, optional = parts[0], True
    base = text.split("[", 1)[0].rsplit(".", 1)[-1].lower()
    if base in _KINDS:
        return base, optional
    try:
        value = ast.literal_eval(default)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None, optional
    if value is None:
        return None, True
    name = type(value).__name__
    return (name if name in _KINDS else None), optional


def plain(value: Any) -> Any:
    """TOML dates and times as ISO text, which papermill can inject."""
    if isinstance(value, datetime):
        return timeutil.format_timestamp(value) if value.tzinfo else value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    return value


_TRUE = {"true", "1", "yes", "y", "on"}
_FALSE = {"false", "0", "no", "n", "off"}


def _coerce(name: str, value: Any, type_name: str, default: str) -> Any:
    kind, optional = _kind(type_name, default)
    value = plain(value)
    if not isinstance(value, str):
        if kind == "float" and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        return value
    text = value.strip()
    if optional and text in {"None", "none", "null"}:
        return None
    try:
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
        if kind == "bool":
            if text.lower() in _TRUE:
                return True
            if text.lower() in _FALSE:
                return False
            raise ValueError(text)
        if kind in {"list", "tuple", "set", "dict"}:
            try:
                parsed = json.loads(text)
            except json.JSONDecodeError:
                try:
                    parsed = ast.literal_eval(text)
                except (ValueError, SyntaxError) as error:
                    if kind == "dict":
                        raise ValueError(text) from error
                    parsed = [item.strip() for item in text.split(",") if item.strip()]
            if kind == "dict" and not isinstance(parsed, dict):
                raise ValueError(text)
            return parsed if kind == "dict" else list(parsed)
    except ValueError as error:
        raise ReportError(f"parameter {name}: {value!r} is not a {type_name} (default {default})") from error
    return value


def coerce_parameters(notebook_path: str | os.PathLike[str], parameters: Mapping[str, Any]) -> dict[str, Any]:
    """``parameters`` with string values converted to the types the notebook declares (see the module doc).

    Raises
    ------
    ReportError
        A name the notebook's ``parameters`` cell does not declare, or a value that is not of its type.
    """
    return coerce_declared(Path(notebook_path).stem, declared_parameters(notebook_path), parameters)


def coerce_declared(
    notebook: str, declared: dict[str, tuple[str, str]], parameters: Mapping[str, Any]
) -> dict[str, Any]:
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        raise ReportError(f"{notebook} has no parameter {unknown}; it declares {sorted(declared)}")
    return {name: _coerce(name, value, *declared[name]) for name, value in parameters.items()}


def default_values(declared: dict[str, tuple[str, str]]) -> dict[str, Any]:
    """Declared parameters with their default values (the source text where it is not a literal)."""
    values = {}
    for name, (_, default) in declared.items():
        try:
            values[name] = ast.literal_eval(default)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            values[name] = default
    return values
