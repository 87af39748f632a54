"""A notebook's parameters: declared in its parameters cell, checked and converted by one rule."""

from __future__ import annotations

import nbformat
import pytest

from energy_lib.config import TARGETS
from energy_lib.workbook import reports
from energy_lib.workbook.health.assessment import CHECKS
from energy_lib.workbook.simulator.files import FORMATS
from tests.conftest import REPO
from tests.reports.bad_parameters import BAD
from tests.reports.conftest import NOTEBOOKS

WORKBOOK = REPO / "notebooks"


def test_string_parameters_take_the_types_the_notebook_declares():
    values = reports.validate_parameters(
        NOTEBOOKS / "report-ok.ipynb", {"hours": "6", "ratio": "2", "label": "007", "first_site": "None"}
    )
    assert values == {"hours": 6, "ratio": 2.0, "label": "007", "first_site": None}
    assert type(values["hours"]) is int and type(values["ratio"]) is float
    assert reports.validate_parameters(NOTEBOOKS / "report-ok.ipynb", {"first_site": "site-b"}) == {
        "first_site": "site-b"
    }


def test_values_that_are_not_text_must_already_have_the_type():
    # as TOML and Python callers give them: an int passes as a float, nothing else changes type
    path = NOTEBOOKS / "report-ok.ipynb"
    assert reports.validate_parameters(path, {"hours": 3, "ratio": 1}) == {"hours": 3, "ratio": 1.0}
    for name, value in (("hours", 2.5), ("hours", True), ("label", 7), ("ratio", "x")):
        with pytest.raises(reports.ParameterError, match=f"parameter {name}: "):
            reports.validate_parameters(path, {name: value})


def test_bool_list_and_dict_parameters(tmp_path):
    cell = nbformat.v4.new_code_cell(
        'dry_run: bool = False  # flag\nsites: list[str] = ["a"]  # sites\nlimits = {"a": 1}  # untyped dict\n',
        metadata={"tags": ["parameters"]},
    )
    path = tmp_path / "typed.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), path)

    assert reports.validate_parameters(path, {"dry_run": "yes", "sites": "a, b", "limits": '{"b": 2}'}) == {
        "dry_run": True,
        "sites": ["a", "b"],
        "limits": {"b": 2},
    }
    assert reports.validate_parameters(path, {"sites": '["x"]', "dry_run": False}) == {"sites": ["x"], "dry_run": False}
    with pytest.raises(reports.ParameterError, match="dry_run"):
        reports.validate_parameters(path, {"dry_run": "maybe"})
    assert reports.declared_parameters(path)["limits"].help == "untyped dict"


@pytest.mark.parametrize("bad", BAD, ids=lambda bad: f"{bad.kind}-{bad.name}={bad.value}")
def test_a_bad_value_of_every_kind_is_refused_in_one_line(bad):
    with pytest.raises(reports.ParameterError) as refused:
        reports.validate_parameters(WORKBOOK / f"{bad.notebook}.ipynb", {bad.name: bad.value})
    assert str(refused.value) == bad.message
    assert "\n" not in str(refused.value)


def test_every_workbook_notebook_accepts_its_own_defaults():
    for path in sorted(WORKBOOK.glob("*.ipynb")):
        declared = reports.declared_parameters(path)
        assert declared["target"].choices == ("one", TARGETS), path.name
        defaults = {name: parameter.default_value for name, parameter in declared.items()}
        assert reports.validate_parameters(path, defaults) == defaults, path.name


def test_good_values_are_passed_on_in_one_form():
    # a time with an offset, a bare date and a naive time are UTC instants written as ...Z
    assert reports.validate_parameters(
        WORKBOOK / "04-report-business.ipynb",
        {"start_utc": "2025-06-11T02:00:00+02:00", "end_utc": "2025-06-12", "heatmap_tz": "Europe/Berlin"},
    ) == {"start_utc": "2025-06-11T00:00:00Z", "end_utc": "2025-06-12T00:00:00Z", "heatmap_tz": "Europe/Berlin"}
    health = WORKBOOK / "06-assess-site-health.ipynb"
    # "" where the help says what it means; a selection in any order; bounds that hold
    assert reports.validate_parameters(health, {"as_of_utc": "", "checks": "quality, freshness", "margin_pct": "99"})
    with pytest.raises(reports.ParameterError, match="start_utc: '' is not a time"):
        reports.validate_parameters(health, {"start_utc": ""})
    with pytest.raises(reports.ParameterError, match="margin_pct: 100 is not less than 100"):
        reports.validate_parameters(health, {"margin_pct": 100})


def test_the_values_a_notebook_allows_are_the_ones_the_library_knows():
    declared = {path.stem: reports.declared_parameters(path) for path in WORKBOOK.glob("*.ipynb")}
    assert declared["02-run-simulation"]["file_format"].choices == ("one", tuple(FORMATS))
    assert declared["06-assess-site-health"]["checks"].choices == ("any", CHECKS)
