"""The history lake, workbook side: queries with DuckDB or Athena, compaction, and what the workbook asks.

The layout and the change objects are :mod:`energy_lib.lake` (the Lambda side writes them).
"""

from energy_lib.workbook.lake.engines import sql

__all__ = ["sql"]
