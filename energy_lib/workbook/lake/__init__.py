"""The history lake, workbook side: :func:`sql` over DuckDB or Athena, the workbook's questions, administration.

The layout and the change objects are :mod:`energy_lib.lake` (the Lambda side writes them); the day files and
their Arrow schema are :mod:`energy_lib.compaction` (the compaction function's side). The query side is loaded
on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from energy_lib.workbook.lake.engines import sql

__all__ = ["sql"]


def __getattr__(name: str) -> Any:
    if name == "sql":
        from energy_lib.workbook.lake.engines import sql

        return sql
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
