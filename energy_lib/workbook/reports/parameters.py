"""A notebook's parameters, and the one rule that checks a value for them before any kernel starts.

The ``parameters`` cell declares each parameter on a line of its own, ``name: type = default  # help``;
papermill reads the lines (:func:`papermill.inspect_notebook`), the cell's syntax tree fills in any it misses.
The same check serves ``report run -p``, ``schedule.toml`` and a dashboard page's query string, so a bad value
gets the same one-line message everywhere. From the declaration come:

- the **type**: the annotation, else the default's type. Text (``-p hours 6``, ``?hours=6``) is converted to
  it; any other value (a TOML number, a Python object) must already be of it (an ``int`` passes as a float).
- **moments**: a name ending in ``_utc`` takes an ISO-8601 time (``2025-06-11T00:00:00Z``; an offset is
  converted to UTC, none means UTC, a bare date is its midnight), passed on as ``2025-06-11T00:00:00Z``.
  ``""`` only where the help says what ``""`` means. Help saying ``whole hour`` wants one on the hour;
  ``UTC midnight`` one at 00:00:00Z.
- **order**: ``start_utc`` before ``end_utc`` (and ``<x>_start_utc`` before ``<x>_end_utc``), given or default.
- **allowed values**: help saying ``one of "a", "b" or "c"`` allows those values; ``any of "a", "b"`` a
  comma-separated selection of them (the list ends at a ``;``).
- **bounds** of a number: help saying ``at least N``, ``more than N``, ``at most N`` or ``less than N``.
- **time zones**: a name ending in ``_tz`` takes an IANA time zone name (``Europe/Berlin``).
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import os
import re
import tokenize
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from energy_lib import query, timeutil
from energy_lib.errors import QueryError
from energy_lib.workbook.reports.records import ParameterError, ReportError

_KINDS = {"int", "float", "bool", "str", "list", "dict", "tuple", "set"}
_TRUE = {"true", "1", "yes", "y", "on"}
_FALSE = {"false", "0", "no", "n", "off"}
_CHOICES = re.compile(r"\b(one|any) of\b([^;]*)")
_BOUND = re.compile(r"\b(at least|more than|at most|less than) (-?\d+(?:\.\d+)?)")


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


@dataclass(frozen=True, slots=True)
class Parameter:
    """One line of a ``parameters`` cell: ``name: type_name = default  # help`` (sources as written;
    ``type_name`` is ``"None"`` when the line has no annotation)."""

    name: str
    type_name: str
    default: str
    help: str = ""

    @property
    def kind(self) -> str | None:
        """``int``, ``float``, ``bool``, ``str``, ``list``, ``dict``, ``tuple`` or ``set``; None if unknown."""
        return _kind(self.type_name, self.default)[0]

    @property
    def optional(self) -> bool:
        """Whether ``None`` is a value (``str | None``, ``Optional[int]`` or a default of None)."""
        return _kind(self.type_name, self.default)[1]

    @property
    def default_value(self) -> Any:
        """The default as a value (its source text where it is not a literal)."""
        try:
            return ast.literal_eval(self.default)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            return self.default

    @property
    def choices(self) -> tuple[str, tuple[str, ...]] | None:
        """``("one" | "any", values)`` from ``one of "a", "b"`` / ``any of ...`` in the help; None without."""
        found = _CHOICES.search(self.help)
        return (found.group(1), tuple(re.findall(r'"([^"]*)"', found.group(2)))) if found else None

    def check(self, value: Any) -> Any:
        """``value`` converted to this parameter's type and checked (see the module doc); the value to run
        with (a moment as ``2025-06-11T00:00:00Z``).

        Raises
        ------
        ParameterError
            One line naming the parameter, the value and what it must be.
        """
        converted = self._typed(value)
        if converted is None or self.kind is None:
            return converted
        if self.name.endswith("_utc") and isinstance(converted, str):
            return self._moment(converted)
        if self.name.endswith("_tz") and isinstance(converted, str):
            with contextlib.suppress(ValueError, zoneinfo.ZoneInfoNotFoundError):
                zoneinfo.ZoneInfo(converted)
                return converted
            self._refuse(value, "an IANA time zone name, such as UTC or Europe/Berlin")
        if self.choices is not None:
            self._choose(converted)
        if isinstance(converted, int | float) and not isinstance(converted, bool):
            for word, number in _BOUND.findall(self.help):
                limit = float(number)
                inside = {
                    "at least": converted >= limit,
                    "more than": converted > limit,
                    "at most": converted <= limit,
                    "less than": converted < limit,
                }[word]
                if not inside:
                    self._refuse(value, f"{word} {number}")
        return converted

    def _refuse(self, value: Any, wanted: str) -> None:
        raise ParameterError(f"parameter {self.name}: {value!r} is not {wanted}")

    def _typed(self, value: Any) -> Any:
        """``value`` as this parameter's type: text converted, anything else checked."""
        kind, value = self.kind, plain(value)
        if value is None or (isinstance(value, str) and self.optional and value.strip() in {"None", "none", "null"}):
            if self.optional or kind is None:
                return None
            self._refuse(value, f"of type {self.type_name} (default {self.default})")
        if isinstance(value, str) and kind not in {None, "str"}:
            try:
                return _from_text(kind, value.strip())
            except ValueError:
                self._refuse(value, f"of type {self.type_name} (default {self.default})")
        if kind in {"list", "tuple", "set"} and isinstance(value, list | tuple | set):
            return list(value)
        if kind == "float" and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        expected = {"int": int, "float": float, "bool": bool, "str": str, "dict": dict}.get(kind or "")
        if expected is not None and (type(value) is not expected and not (expected is int and _is_int(value))):
            self._refuse(value, f"of type {self.type_name} (default {self.default})")
        return value

    def _moment(self, text: str) -> str:
        if text == "":
            if '""' in self.help:
                return text
            self._refuse(text, f"a time: ISO-8601 UTC, such as {timeutil.EXAMPLE}")
        try:
            moment = query.utc(text)
        except QueryError as error:
            raise ParameterError(f"parameter {self.name}: {error}") from None
        assert moment is not None  # text is not empty
        if "whole hour" in self.help and (moment.minute or moment.second or moment.microsecond):
            self._refuse(text, "a whole hour (UTC), such as 2025-06-11T13:00:00Z")
        if "midnight" in self.help and (moment.hour or moment.minute or moment.second or moment.microsecond):
            self._refuse(text, f"a UTC midnight, such as {timeutil.EXAMPLE}")
        return timeutil.format_timestamp(moment)

    def _choose(self, value: Any) -> None:
        how, allowed = self.choices or ("one", ())
        quoted = [f'"{choice}"' for choice in allowed]
        listed = " or ".join([", ".join(quoted[:-1]), quoted[-1]] if len(quoted) > 1 else quoted)
        if how == "one" and value not in allowed:
            self._refuse(value, f"one of {listed}")
        if how == "any":
            picked = [item.strip() for item in str(value).split(",") if item.strip()]
            if not picked or any(item not in allowed for item in picked):
                self._refuse(value, f"a comma-separated selection of {listed}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _from_text(kind: str, text: str) -> Any:
    """``text`` as a value of ``kind`` (``ValueError`` if it is not one)."""
    if kind == "int":
        return int(text)
    if kind == "float":
        return float(text)
    if kind == "bool":
        if text.lower() in _TRUE | _FALSE:
            return text.lower() in _TRUE
        raise ValueError(text)
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        try:
            parsed = ast.literal_eval(text)
        except (ValueError, SyntaxError) as error:
            if kind == "dict":
                raise ValueError(text) from error
            parsed = [item.strip() for item in text.split(",") if item.strip()]
    if kind == "dict":
        if not isinstance(parsed, dict):
            raise ValueError(text)
        return parsed
    if not isinstance(parsed, list | tuple | set):
        raise ValueError(text)
    return list(parsed)


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


def declared_parameters(notebook_path: str | os.PathLike[str]) -> dict[str, Parameter]:
    """The parameters the notebook's ``parameters`` cell declares, in their order.

    papermill's inference (:func:`papermill.inspect_notebook`) first; names its line patterns miss (such as
    ``x: int | None = None``) are taken from the cell's Python syntax tree, with the comment of their line.
    """
    import nbformat
    import papermill

    try:
        inspected = papermill.inspect_notebook(str(notebook_path))
    except ValueError:  # papermill needs a kernelspec in the metadata; the syntax tree below does not
        inspected = {}
    declared = {
        name: Parameter(name, str(info.get("inferred_type_name") or "None"), str(info.get("default") or ""), "")
        for name, info in inspected.items()
    }
    notebook = nbformat.read(os.fspath(notebook_path), as_version=4)
    cell = next(
        (c for c in notebook.cells if c.cell_type == "code" and "parameters" in c.metadata.get("tags", [])), None
    )
    if cell is None:
        return declared
    comments = _comments(cell.source)
    with contextlib.suppress(SyntaxError):
        for node in ast.parse(cell.source).body:
            targets = [node.target] if isinstance(node, ast.AnnAssign) else getattr(node, "targets", [])
            for target in (t for t in targets if isinstance(t, ast.Name)):
                value = getattr(node, "value", None)
                annotation = ast.unparse(node.annotation) if isinstance(node, ast.AnnAssign) else "None"
                help_text = comments.get(node.end_lineno or node.lineno, "")
                found = declared.get(target.id)
                declared[target.id] = Parameter(
                    target.id,
                    found.type_name if found else annotation,
                    found.default if found else (ast.unparse(value) if value is not None else ""),
                    help_text,
                )
    return declared


def _comments(source: str) -> dict[int, str]:
    """``{line number: comment text}`` of the comments in ``source`` (Python)."""
    found: dict[int, str] = {}
    with contextlib.suppress(tokenize.TokenError, SyntaxError):
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT:
                found[token.start[0]] = token.string.lstrip("#").strip()
    return found


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


def check_parameters(notebook: str, declared: Mapping[str, Parameter], parameters: Mapping[str, Any]) -> dict[str, Any]:
    """``parameters`` of ``notebook`` checked against what it ``declared`` and converted (see the module doc):
    the values to run with. Raises :class:`ParameterError` (one line) for the first bad one."""
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        raise ParameterError(f"{notebook} has no parameter {unknown}; it declares {sorted(declared)}")
    values = {name: declared[name].check(value) for name, value in parameters.items()}
    every = {**default_values(declared), **values}
    for start_name in (name for name in declared if name.endswith("start_utc")):
        end_name = start_name.removesuffix("start_utc") + "end_utc"
        start, end = every.get(start_name), every.get(end_name)
        if end_name in declared and start and end and query.utc(start) >= query.utc(end):
            raise ParameterError(f"parameter {start_name} {start} is not before {end_name} {end}")
    return values


def validate_parameters(notebook_path: str | os.PathLike[str], parameters: Mapping[str, Any]) -> dict[str, Any]:
    """``parameters`` checked against the notebook's ``parameters`` cell and converted (see the module doc).

    Raises
    ------
    ParameterError
        A name the notebook does not declare, or a value its declaration refuses; the message is one line.
    """
    return check_parameters(Path(notebook_path).stem, declared_parameters(notebook_path), parameters)


def default_values(declared: Mapping[str, Parameter]) -> dict[str, Any]:
    """Declared parameters with their default values (the source text where it is not a literal)."""
    return {name: parameter.default_value for name, parameter in declared.items()}
