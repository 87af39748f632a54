"""The workbook's packages import downward only, in the order ``energy_lib.workbook.LAYERS`` declares, and nothing
outside ``energy_lib/workbook`` imports it (the Lambda side and the compaction function never load the workbook)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from energy_lib.workbook import LAYERS
from tests.conftest import REPO

WORKBOOK = REPO / "energy_lib" / "workbook"


def workbook_imports(path: Path) -> set[str]:
    """The workbook packages (first name under ``energy_lib.workbook``) that ``path`` imports, anywhere in it."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[:2] == ["energy_lib", "workbook"] and len(parts) > 2 and parts[2] != "LAYERS":
                found.add(parts[2])
    return found


def layer_of() -> dict[str, int]:
    return {package: level for level, packages in enumerate(LAYERS) for package in packages}


def upward_imports(files: list[Path], root: Path = WORKBOOK) -> list[str]:
    """``file: package -> package`` for every import of a package of the same layer or above (``root``: the
    workbook's folder)."""
    levels = layer_of()
    found = []
    for path in files:
        package = path.relative_to(root).parts[0].removesuffix(".py")
        for target in sorted(workbook_imports(path) - {package}):
            if levels[target] >= levels[package]:
                found.append(f"{path.relative_to(root)}: {package} -> {target}")
    return found


def workbook_files() -> list[Path]:
    return sorted(path for path in WORKBOOK.rglob("*.py") if path.parent != WORKBOOK or path.name != "__init__.py")


def test_every_package_of_the_workbook_has_a_layer() -> None:
    packages = {path.relative_to(WORKBOOK).parts[0].removesuffix(".py") for path in workbook_files()}
    assert packages == set(layer_of()), "declare each package's layer in energy_lib/workbook/__init__.py"
    assert sum(len(layer) for layer in LAYERS) == len(layer_of()), "a package stands in one layer"


def test_no_package_of_the_workbook_imports_its_own_layer_or_above() -> None:
    assert upward_imports(workbook_files()) == []


def test_an_upward_import_is_found(tmp_path: Path) -> None:
    # GIVEN the workbook's lake (a low layer) with a module that imports the notebooks' package (a higher one),
    # and one that imports the Lambda side and a lower layer's package
    (tmp_path / "lake").mkdir()
    bad, good = tmp_path / "lake" / "bad.py", tmp_path / "lake" / "good.py"
    bad.write_text("from energy_lib.workbook.notebook import charts  # deliberately upward\n")
    good.write_text("from energy_lib import query\nfrom energy_lib.workbook.infra import spec\n")
    # WHEN the layers are checked THEN the upward import is named, and only it
    assert upward_imports([bad, good], root=tmp_path) == ["lake/bad.py: lake -> notebook"]


@pytest.mark.parametrize("folder", ["energy_lib", "lambda"])
def test_nothing_outside_the_workbook_imports_it(folder: str) -> None:
    files = [path for path in sorted((REPO / folder).rglob("*.py")) if WORKBOOK not in path.parents]
    assert files
    assert [str(path.relative_to(REPO)) for path in files if workbook_imports(path)] == []
