"""What every command shares: output (JSON with exact numbers, tables), the usage error, argument types and
the parser with one-line errors.

Light on purpose: ``energy-workbook --help`` imports this and the command modules, so pandas and the
other heavy libraries are imported only inside the functions that use them.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from datetime import datetime
from typing import Any, NoReturn, TypeVar

import simplejson

from energy_lib import timeutil

N = TypeVar("N", int, float)


class UsageError(Exception):
    """Bad input on the command line: exit code 2."""


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__}")


def to_json(data: Any, indent: int | None = 2) -> str:
    """JSON text with Decimals written exactly as numbers (kWh values are never rounded through float)."""
    return simplejson.dumps(data, use_decimal=True, default=_default, indent=indent)


def emit(data: Any, as_json: bool) -> None:
    """Print ``data`` as JSON, or as a readable table or lines."""
    if as_json:
        print(to_json(data))
    elif isinstance(data, list) and data and isinstance(data[0], dict):
        print(_table(data))
    elif isinstance(data, dict):
        for key, value in data.items():
            print(f"{key}: {to_json(value, None) if isinstance(value, (dict, list)) else value}")
    elif data == []:
        print("(none)")
    elif isinstance(data, list):
        print("\n".join(str(item) for item in data))
    else:
        print(data)


def _table(rows: list[dict[str, Any]]) -> str:
    """``rows`` as a text table, missing values blank; a column of whole numbers with some missing stays whole
    numbers (pandas would make it floats: ``1.0``)."""
    import pandas as pd

    frame = pd.DataFrame(rows)
    for column in frame.columns:
        values = [row.get(column) for row in rows]
        if None in values and all(v is None or (isinstance(v, int) and not isinstance(v, bool)) for v in values):
            frame[column] = ["" if v is None else str(v) for v in values]
    return frame.to_string(index=False, max_colwidth=80, na_rep="")


def summary_table(result: dict[str, Any]) -> list[dict[str, Any]]:
    """A :func:`energy_lib.query.summary` as rows: one per site, then the fleet; undefined ratios as ``n/a``."""
    fleet = {"site_id": "FLEET", **{k: v for k, v in result["fleet"].items() if k != "sites"}}
    return [{k: "n/a" if v is None else v for k, v in row.items()} for row in [*result["sites"], fleet]]


class Parser(argparse.ArgumentParser):
    """argparse with errors on one line: ``energy-workbook simulate: error: ... (see --help)``, exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def utc_argument(value: str) -> datetime:
    """An argparse type: ISO-8601 text as a UTC datetime in the years the pipeline keeps."""
    from energy_lib import query
    from energy_lib.errors import QueryError

    try:
        moment = query.utc(value)
    except QueryError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
    if moment is None:
        raise argparse.ArgumentTypeError(f"empty timestamp (use ISO-8601, e.g. {timeutil.EXAMPLE})")
    return moment


def _number(value: str, kind: type[N], what: str, valid: Callable[[N], bool], rule: str) -> N:
    """``value`` as a ``kind`` (int or float) that is ``valid``; else an argparse error naming ``what`` it
    must be or the ``rule`` it breaks."""
    try:
        number = kind(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not {what}: {value!r}") from None
    if not valid(number):
        raise argparse.ArgumentTypeError(f"must be {rule}: {value}")
    return number


def positive_int(value: str) -> int:
    """An argparse type: a whole number of at least 1."""
    return _number(value, int, "a whole number", lambda number: number >= 1, "at least 1")


def whole_number(value: str) -> int:
    """An argparse type: a whole number, zero or more."""
    return _number(value, int, "a whole number", lambda number: number >= 0, "0 or more")


def seconds(value: str) -> float:
    """An argparse type: a finite number of seconds, zero or more."""
    return _number(value, float, "a number", lambda s: math.isfinite(s) and s >= 0, "a finite number of seconds >= 0")


def command(
    commands: Any,
    name: str,
    summary: str,
    details: str = "",
    *,
    run: Callable[[argparse.Namespace, Any], int | None] | None = None,
    local: bool = False,
    json: bool = False,
) -> argparse.ArgumentParser:
    """A subcommand whose ``--help`` starts with ``summary`` (also its line in the parent's list) and goes on
    with ``details``. ``run(args, settings)`` does its work, after the local stack is started when ``local``;
    ``json`` adds ``--json`` (print JSON)."""
    parser = commands.add_parser(name, help=summary, description=f"{summary[0].upper()}{summary[1:]}. {details}")
    if json:
        parser.add_argument("--json", action="store_true", help="print JSON")
    if run is not None:
        parser.set_defaults(run=run, local=local)
    return parser


def utc_range(parser: argparse.ArgumentParser, start_help: str, end_help: str) -> None:
    """``--start`` and ``--end`` as UTC datetimes."""
    parser.add_argument("--start", type=utc_argument, help=start_help)
    parser.add_argument("--end", type=utc_argument, help=end_help)
