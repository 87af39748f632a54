"""The history lake, workbook side: :func:`sql` over DuckDB or Athena, compaction, the workbook's questions.

The layout and the change objects are :mod:`energy_lib.lake` (the Lambda side writes them). The
compaction function ships this package with :mod:`.compaction` and :mod:`.schema` only (pyarrow comes
from its layer), so the query side is loaded on first use.
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
