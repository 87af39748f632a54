"""The project's own files agree with each other."""

from __future__ import annotations

import ast
import json
import tomllib
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

from tests.conftest import REPO

LAMBDA_SIDE_ALLOWED = {"boto3", "botocore", "energy_lib"}
SIDES = ("workbook", "compaction")  # the packages of energy_lib that are not the Lambda side
COMPACTION_ALLOWED = LAMBDA_SIDE_ALLOWED | {"pyarrow", "numpy"}  # the compaction function's layer


def pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


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
    from energy_lib.workbook.infra.lambda_build import AGGREGATOR, HANDLER

    # the entry points of lambda.zip and what it holds (energy_lib/compaction and lambda/compaction.py are the
    # compaction function's: it has pyarrow's layer)
    lambda_side = [path for path in (REPO / "energy_lib").rglob("*.py") if path.relative_to(REPO).parts[1] not in SIDES]
    assert REPO / "energy_lib" / "parsing" / "read.py" in lambda_side
    for path in sorted(lambda_side) + [HANDLER, AGGREGATOR]:
        modules = imported_modules(path)
        foreign = {module.split(".")[0] for module in modules} - stdlib - LAMBDA_SIDE_ALLOWED
        assert not foreign, f"{path.name} imports {foreign}"
        assert not [m for m in modules if m.startswith("energy_lib.workbook")], f"{path.name} imports the workbook side"


def test_the_compaction_function_imports_only_stdlib_boto3_its_layer_and_the_lambda_side() -> None:
    import sys

    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    for path in sorted((REPO / "energy_lib" / "compaction").glob("*.py")) + [REPO / "lambda" / "compaction.py"]:
        modules = imported_modules(path)
        assert not {module.split(".")[0] for module in modules} - stdlib - COMPACTION_ALLOWED, path.name
        assert not [m for m in modules if m.startswith("energy_lib.workbook")], f"{path.name} imports the workbook side"


def energy_lib_imports() -> dict[str, set[str]]:
    """Module of energy_lib -> the energy_lib modules it imports anywhere (at the top or inside a function)."""
    modules = {}
    for path in (REPO / "energy_lib").rglob("*.py"):
        parts = path.relative_to(REPO).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path

    def known(name: str) -> str:
        while name not in modules:
            name = name.rpartition(".")[0]
        return name

    graph = {}
    for name, path in modules.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets |= {known(alias.name) for alias in node.names if alias.name.startswith("energy_lib")}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("energy_lib"):
                targets |= {known(f"{node.module}.{alias.name}") for alias in node.names}
        graph[name] = targets
    return graph


def test_no_module_of_energy_lib_imports_itself_or_takes_part_in_an_import_circle() -> None:
    graph = energy_lib_imports()
    assert "energy_lib.workbook.cli.reports" in graph["energy_lib.workbook.cli.main"]  # the graph sees imports
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as error:
        raise AssertionError(f"import circle: {' -> '.join(error.args[1])}") from None


def test_notebooks_are_stored_without_outputs() -> None:
    notebooks = sorted((REPO / "notebooks").glob("*.ipynb"))
    assert len(notebooks) >= 5  # each is documented on the docs' notebooks page: tests/docs/test_docs.py
    for path in notebooks:
        notebook = json.loads(path.read_text())
        code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
        assert all(not cell.get("outputs") and cell.get("execution_count") is None for cell in code), path.name
        assert notebook["metadata"]["kernelspec"]["name"] == "python3", path.name
        assert "parameters" in code[0]["metadata"].get("tags", []), path.name
        assert not any(line.lstrip().startswith(("def ", "class ")) for cell in code for line in cell["source"]), (
            path.name
        )


def test_no_module_passes_500_lines() -> None:
    sizes = {path: len(path.read_text().splitlines()) for path in (REPO / "energy_lib").rglob("*.py")}
    assert len(sizes) > 50
    assert {str(path.relative_to(REPO)): n for path, n in sizes.items() if n > 500} == {}


SCANNER_READS = {"read_table", "read_parquet"}  # pyarrow.parquet's and pandas' readers go through Arrow's scanner


def owned_by_arrow(node: ast.expr) -> bool:
    """Whether ``node`` makes an Arrow buffer reader (``pa.BufferReader(...)``): a source in Arrow's memory."""
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "BufferReader"


def scanner_reads(source: str) -> list[int]:
    """The lines of ``source`` that call a module's ``read_table`` or ``read_parquet`` (``pq.read_table(...)``,
    ``pd.read_parquet(...)``), or Parquet's file reader on anything but an Arrow buffer reader: Arrow's readers
    on the caller's Python object, which Arrow's threads can drop after the call returned (apache/arrow#39862)."""
    return [
        node.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id in {"pq", "parquet", "pd", "pandas"}
        and (
            node.func.attr in SCANNER_READS
            or (node.func.attr == "ParquetFile" and not (node.args and owned_by_arrow(node.args[0])))
        )
    ]


def test_parquet_bytes_are_read_through_read_parquet_so_no_process_aborts_as_it_exits() -> None:
    # Arrow's reading threads can drop the last reference to a Python source after the call returned; a process
    # exiting then aborts ("terminate called without an active exception"), so energy_lib reads through
    # days.read_parquet, which hands Arrow a copy in its own memory
    assert scanner_reads("import pyarrow.parquet as pq\n\ndef f(b):\n    return pq.read_table(b).to_pandas()\n") == [4]
    assert scanner_reads("from energy_lib.compaction.days import read_parquet\n\nt = read_parquet(b'')\n") == []
    assert scanner_reads("f = pq.ParquetFile(io.BytesIO(b))\ng = pq.ParquetFile(pa.BufferReader(owned))\n") == [1]
    found = {
        str(path.relative_to(REPO)): lines
        for path in sorted((REPO / "energy_lib").rglob("*.py"))
        if (lines := scanner_reads(path.read_text()))
    }
    assert found == {}
