"""The command line's shape: every command's --help answers without the heavy libraries."""

from __future__ import annotations

import json
import subprocess
import sys

from energy_lib.workbook.cli.main import build_parser

HEAVY = ("pandas", "numpy", "plotly", "pvlib", "ipywidgets", "IPython", "papermill", "nbformat", "nbconvert", "moto")


def commands() -> list[list[str]]:
    """Every command and subcommand, as the words that name it (``[]`` is the root)."""
    found: list[list[str]] = [[]]

    def walk(parser, words):  # noqa: ANN001
        for action in parser._subparsers._group_actions if parser._subparsers else []:
            for name, child in action.choices.items():
                found.append([*words, name])
                walk(child, [*words, name])

    walk(build_parser(), [])
    return found


def test_help_of_every_command_imports_no_pandas_plotly_or_pvlib() -> None:
    # GIVEN every command of energy-workbook
    every = commands()
    assert ["report", "run"] in every and ["query", "summary"] in every and len(every) > 15
    # WHEN a fresh interpreter prints each one's --help
    script = (
        "import contextlib, io, json, sys\n"
        "from energy_lib.workbook.cli import main\n"
        f"for words in {every!r}:\n"
        "    with contextlib.redirect_stdout(io.StringIO()) as out, contextlib.suppress(SystemExit):\n"
        "        main([*words, '--help'])\n"
        "    assert out.getvalue().startswith('usage: energy-workbook'), (words, out.getvalue()[:200])\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    # THEN each printed its usage, and none of the heavy libraries was imported
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []
