"""The project's own files agree with each other."""

from __future__ import annotations

import ast
import json
import tomllib
from pathlib import Path

from tests.conftest import REPO

LAMBDA_SIDE_ALLOWED = {"boto3", "botocore", "energy_lib"}


def pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def test_environment_yml_lists_the_same_dependencies_as_pyproject() -> None:
    project = pyproject()["project"]
    declared = set(project["dependencies"]) | set(project["optional-dependencies"]["test"])
    lines = (REPO / "environment.yml").read_text().splitlines()
    pip_section = lines[lines.index("  - pip:") + 1 :]
    listed = {line.strip().removeprefix("- ") for line in pip_section if line.strip().startswith("- ")}
    assert listed == declared
    assert "  - python=3.11" in lines


def imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module)
    return modules


def test_lambda_side_imports_only_stdlib_boto3_and_itself() -> None:
    import sys

    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    for path in sorted((REPO / "energy_lib").glob("*.py")) + [REPO / "lambda" / "handler.py"]:
        modules = imported_modules(path)
        foreign = {module.split(".")[0] for module in modules} - stdlib - LAMBDA_SIDE_ALLOWED
        assert not foreign, f"{path.name} imports {foreign}"
        assert not [m for m in modules if m.startswith("energy_lib.workbook")], f"{path.name} imports the workbook side"


def test_notebooks_are_stored_without_outputs() -> None:
    notebooks = sorted((REPO / "notebooks").glob("*.ipynb"))
    assert {"01-check-provisioning", "05-operate-pipeline", "07-query-history"} <= {path.stem for path in notebooks}
    for path in notebooks:
        notebook = json.loads(path.read_text())
        code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
        assert all(not cell.get("outputs") and cell.get("execution_count") is None for cell in code), path.name
        assert notebook["metadata"]["kernelspec"]["name"] == "python3", path.name
        assert "parameters" in code[0]["metadata"].get("tags", []), path.name
        assert not any(line.lstrip().startswith(("def ", "class ")) for cell in code for line in cell["source"]), (
            path.name
        )
