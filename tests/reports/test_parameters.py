"""A notebook's parameters: given as text, converted to the declared types."""

from __future__ import annotations

import nbformat
import pytest

from energy_lib.workbook import reports
from tests.reports.conftest import NOTEBOOKS


def test_string_parameters_take_the_types_the_notebook_declares():
    values = reports.coerce_parameters(
        NOTEBOOKS / "report-ok.ipynb", {"hours": "6", "ratio": "2", "label": "007", "first_site": "None"}
    )
    assert values == {"hours": 6, "ratio": 2.0, "label": "007", "first_site": None}
    assert type(values["hours"]) is int and type(values["ratio"]) is float
    assert reports.coerce_parameters(NOTEBOOKS / "report-ok.ipynb", {"first_site": "site-b"}) == {
        "first_site": "site-b"
    }


def test_bad_or_unknown_parameters_are_refused():
    with pytest.raises(reports.ReportError, match="hours"):
        reports.coerce_parameters(NOTEBOOKS / "report-ok.ipynb", {"hours": "six"})
    with pytest.raises(reports.ReportError, match="no parameter \\['hourz'\\]"):
        reports.coerce_parameters(NOTEBOOKS / "report-ok.ipynb", {"hourz": "6"})


def test_bool_list_and_dict_parameters(tmp_path):
    cell = nbformat.v4.new_code_cell(
        'dry_run: bool = False  # flag\nsites: list[str] = ["a"]  # sites\nlimits = {"a": 1}  # untyped dict\n',
        metadata={"tags": ["parameters"]},
    )
    path = tmp_path / "typed.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), path)

    assert reports.coerce_parameters(path, {"dry_run": "yes", "sites": "a, b", "limits": '{"b": 2}'}) == {
        "dry_run": True,
        "sites": ["a", "b"],
        "limits": {"b": 2},
    }
    assert reports.coerce_parameters(path, {"sites": '["x"]', "dry_run": False}) == {"sites": ["x"], "dry_run": False}
    with pytest.raises(reports.ReportError, match="dry_run"):
        reports.coerce_parameters(path, {"dry_run": "maybe"})
