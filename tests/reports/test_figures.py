"""Recorded figures: what record_all displays in a real IPython shell, what the runner reads back from an executed
notebook, and the KPI strips that hand the history exactly what they show."""

from __future__ import annotations

import math
from decimal import Decimal

import nbformat
import numpy as np
import pytest
from IPython.core.interactiveshell import InteractiveShell

from energy_lib.workbook.notebook import views
from energy_lib.workbook.reports.figures import MIMETYPE, figure_value, figures_of, is_figure_output, record_all
from tests.unit.workbook.notebook.test_views import fleet


@pytest.fixture
def shell_outputs() -> list[dict]:
    """The display outputs an IPython shell publishes while a test runs (what a kernel would send)."""
    shell = InteractiveShell.instance()
    published: list[dict] = []
    original = shell.display_pub.publish
    shell.display_pub.publish = lambda data, metadata=None, **kwargs: published.append(data)
    yield published
    shell.display_pub.publish = original
    InteractiveShell.clear_instance()  # outside a shell, display() prints: the next test in this process expects it


def test_record_all_displays_one_output_with_every_figure_and_a_line_for_people(shell_outputs) -> None:
    # GIVEN figures of several number types  WHEN they are recorded
    record_all({"fleet_generated_kwh": Decimal("17592.934"), "silent_sites": np.int64(2), "efficiency_pct": None})
    # THEN one output carries them as floats (None for undefined), with a muted line Jupyter shows
    [data] = shell_outputs
    recorded = [["fleet_generated_kwh", 17592.934], ["silent_sites", 2.0], ["efficiency_pct", None]]
    assert data[MIMETYPE] == {"figures": recorded}  # pairs, in order: a notebook file sorts the keys of objects
    assert data["text/plain"] == (
        "Recorded for the run history: fleet_generated_kwh 17592.934 · silent_sites 2 · efficiency_pct n/a"
    )
    assert is_figure_output({"data": data})


@pytest.mark.parametrize(
    ("name", "value"),
    [("Fleet kWh", 1), ("fleet-kwh", 1), ("", 1), ("x" * 65, 1), ("ok", "12"), ("ok", True), ("ok", math.inf)],
)
def test_a_bad_name_or_a_value_that_is_no_finite_number_is_refused_before_anything_is_recorded(
    shell_outputs, name, value
) -> None:
    with pytest.raises(ValueError):
        record_all({"good_figure": 1, name: value})
    assert shell_outputs == []


def test_nan_records_an_undefined_figure() -> None:
    assert figure_value("efficiency_pct", float("nan")) is None
    assert figure_value("efficiency_pct", np.float64("nan")) is None


def test_the_runner_reads_figures_in_cell_order_the_last_of_a_name_winning() -> None:
    # GIVEN an executed notebook with two recording cells, one figure recorded twice, and outputs that look alike
    def output(figures: dict) -> dict:
        pairs = [[name, value] for name, value in figures.items()]
        return nbformat.v4.new_output("display_data", data={MIMETYPE: {"figures": pairs}, "text/plain": "x"})

    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(outputs=[output({"a_kwh": 1.5, "b_pct": 2.0})]),
            nbformat.v4.new_markdown_cell("no outputs here"),
            nbformat.v4.new_code_cell(
                outputs=[
                    nbformat.v4.new_output("display_data", data={"text/plain": "not a figure"}),
                    output({"a_kwh": 3.25, "Bad Name": 4.0}),  # not written by record_all: skipped
                ]
            ),
        ]
    )
    # WHEN the runner reads them  THEN each name has its last value, in the order recorded, and only valid figures
    assert list(figures_of(notebook).items()) == [("b_pct", 2.0), ("a_kwh", 3.25)]


# the fleet row of the KPI strip's tests, its energies with every digit of the stored sums
FLEET = fleet(energy_generated_kwh=17592.934, energy_consumed_kwh=18707.256, net_energy_kwh=-1114.322)


def test_the_business_kpis_hand_the_history_the_exact_values_they_show_for_machines() -> None:
    strip = views.kpis(FLEET, [{"resource": "bucket", "healthy": True, "detail": ""}], "2025-06-11", "2025-06-12")
    figures = strip.figures()
    assert figures == {
        "fleet_sites": 5.0,
        "fleet_readings": 1440.0,
        "fleet_energy_generated_kwh": 17592.934,
        "fleet_energy_consumed_kwh": 18707.256,
        "fleet_net_energy_kwh": -1114.322,
        "fleet_efficiency_pct": 94.04,
        "fleet_flagged_energy_generated_kwh": 4957.5,
        "fleet_anomaly_rate_pct": 2.22,
    }
    # every digit the strip gives machines is the recorded figure's, while people read it rounded
    shown = strip._repr_html_()
    for item in strip.items:
        if item.figure:
            assert Decimal(item.value) == Decimal(repr(figures[item.figure])), item.label
            assert f'<data value="{item.value}">' in shown
    assert '<data value="17592.934">17,592.9</data>' in shown


def test_an_undefined_efficiency_is_recorded_as_none() -> None:
    strip = views.kpis({**FLEET, "efficiency_pct": None}, [], "2025-06-11", "2025-06-12")
    assert strip.figures()["fleet_efficiency_pct"] is None


def test_a_period_without_readings_records_no_fleet_figure() -> None:
    empty = {**FLEET, "sites": 0, "readings": 0, "anomalies": 0}
    assert views.kpis(empty, [], "2025-06-11", "2025-06-12").figures() == {}
