"""The ``energy-workbook`` command: :mod:`.main` (root parser, pipeline commands), :mod:`.reports` (report
commands)."""

from energy_lib.workbook.cli.main import main

__all__ = ["main"]
