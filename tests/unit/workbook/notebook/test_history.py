"""The history notebook's figures (:mod:`energy_lib.workbook.notebook.history`) from lake answers."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd

from energy_lib.workbook.notebook import history


def test_the_monthly_heatmap_has_one_column_per_month_named_as_a_month_also_for_a_single_month() -> None:
    # GIVEN two sites' totals of one month (exact decimals, as the lake answers)
    monthly = pd.DataFrame(
        {
            "site_id": ["SITE_001", "SITE_002"],
            "month_start": pd.to_datetime(["2025-06-01", "2025-06-01"], utc=True),
            "energy_generated_kwh": [Decimal("32512.125"), Decimal("49900.5")],
        }
    )
    fig = history.monthly_heatmap(monthly)
    # THEN the month is a category, not a date spread over a time axis of milliseconds
    assert fig.layout.xaxis.type == "category"
    assert list(fig.data[0].x) == ["2025-06"] and list(fig.data[0].y) == ["SITE_001", "SITE_002"]
    assert [row[0] for row in fig.data[0].z] == [32512.125, 49900.5]
