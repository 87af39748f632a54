"""Build the Lambda zips.

``lambda.zip``: the entry points (``handler.py`` for ingest, ``aggregator.py`` for the rollups) at the root
and the Lambda side of energy_lib, nothing else; both functions deploy it. The workbook side (this package) is
left out; a test imports the zip in a clean interpreter that has only boto3 to
prove the Lambda side never needs it.

``compaction.zip``: ``compaction.py`` at the root, the Lambda side and :mod:`energy_lib.compaction`; pyarrow
comes from the function's layer (a test imports it with only boto3 and pyarrow).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[2]  # energy_lib/
LAMBDA_DIR = PACKAGE_DIR.parent / "lambda"
HANDLER = LAMBDA_DIR / "handler.py"  # the ingest function
AGGREGATOR = LAMBDA_DIR / "aggregator.py"  # the rollups function (and the lake's change objects)
COMPACTION_HANDLER = LAMBDA_DIR / "compaction.py"  # the lake's compaction function
EXCLUDED = ("workbook", "compaction")  # the workbook side; the compaction function's side (pyarrow)
COMPACTION_PACKAGE = "compaction"
FIXED_TIME = (2020, 1, 1, 0, 0, 0)  # same bytes for the same sources


def zip_members() -> list[tuple[str, Path]]:
    """(name in the zip, source file) for every file the function needs, sorted."""
    members = [(entry.name, entry) for entry in (AGGREGATOR, HANDLER)]
    for path in sorted(PACKAGE_DIR.rglob("*")):
        relative = path.relative_to(PACKAGE_DIR)
        if path.is_file() and relative.parts[0] not in EXCLUDED and path.suffix in (".py", ".typed"):
            members.append((f"energy_lib/{relative.as_posix()}", path))
    return members


def compaction_members() -> list[tuple[str, Path]]:
    """(name in the zip, source file) for the compaction function, sorted after its handler."""
    lambda_side = [member for member in zip_members() if "/" in member[0]]  # not the other entry points
    package = PACKAGE_DIR / COMPACTION_PACKAGE
    extra = [(f"energy_lib/{path.relative_to(PACKAGE_DIR).as_posix()}", path) for path in package.glob("*.py")]
    return [("compaction.py", COMPACTION_HANDLER), *sorted(lambda_side + extra)]


def build_zip_bytes(members: list[tuple[str, Path]] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, path in zip_members() if members is None else members:
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


def build_zip(output: Path = Path("build/lambda.zip"), members: list[tuple[str, Path]] | None = None) -> Path:
    """Write the zip of ``members`` (the ingest function's by default) to ``output`` and return its path."""
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(build_zip_bytes(members))
    return output
