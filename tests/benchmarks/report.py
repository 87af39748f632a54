"""docs/benchmarks.md from the figures the benchmarks wrote under build/benchmarks/*.json (``make bench`` runs it
after the full-size benchmarks): each benchmark's figures as tables, with the size it ran at, when, on what machine
and with which versions. Run: ``python -m tests.benchmarks.report [--out docs/benchmarks.md]``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from tests.benchmarks.results import OUT

DOCS = Path(__file__).resolve().parents[2] / "docs" / "benchmarks.md"
INTRO = """# Benchmarks

Figures measured by the benchmarks in `tests/benchmarks/`: `make test` runs every one of them at a small size
with the same assertions; `make bench` runs them at full size, writes each one's figures to
`build/benchmarks/<benchmark>.json` and generates this page from those files (do not edit it by hand). Times
on these machines (2 cores, shared) are noisy: the assertions are on counts, ratios against a baseline in the
same run, and memory high-water marks, never on wall-clock time.
"""


def cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e5 else f"{value:,.0f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, (list, tuple)) and all(not isinstance(v, (dict, list)) for v in value):
        return "[" + ", ".join(cell(v) for v in value) + "]"
    return str(value).replace("|", "\\|").replace("\n", " ")


def table(rows: list[dict[str, Any]]) -> list[str]:
    columns = list(dict.fromkeys(key for row in rows for key in row))
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(row.get(column, "")) for column in columns) + " |" for row in rows]
    return lines


def section(figures: Any, depth: int = 3) -> list[str]:
    """Markdown of a benchmark's figures: a list of rows is one table; a mapping, its scalars in one table and
    each nested part under its own heading."""
    if isinstance(figures, list):
        rows = [row if isinstance(row, dict) else {"value": row} for row in figures]
        return table(rows) if rows else ["(none)"]
    if not isinstance(figures, dict):
        return [cell(figures)]
    scalars = {k: v for k, v in figures.items() if not isinstance(v, (dict, list)) or k.endswith("_pct_per_year")}
    lines = table([{"figure": k, "value": v} for k, v in scalars.items()]) if scalars else []
    for key, value in figures.items():
        if key not in scalars:
            lines += ["", f"{'#' * depth} {key.replace('_', ' ')}", "", *section(value, min(depth + 1, 6))]
    return lines


def render(records: list[dict[str, Any]]) -> str:
    lines = [INTRO]
    for record in sorted(records, key=lambda r: r["benchmark"]):
        machine = record.get("machine", {})
        versions = ", ".join(f"{k} {v}" for k, v in machine.get("versions", {}).items())
        lines += [
            f"## {record['benchmark'].replace('_', ' ')}",
            "",
            f"Size **{record.get('size', '?')}**, measured {record.get('measured_at', '?')} on {machine.get('cores')}"
            f" cores, {machine.get('memory_gib')} GiB, Python {machine.get('python')} ({versions}).",
            "",
        ]
        if record.get("about"):
            lines += [record["about"], ""]
        lines += [*section(record["figures"]), ""]
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DOCS, help="the page to write (default: docs/benchmarks.md)")
    parser.add_argument("--from", dest="source", type=Path, default=OUT, help="the benchmarks' JSON folder")
    args = parser.parse_args(argv)
    records = [json.loads(path.read_text()) for path in sorted(args.source.glob("*.json"))]
    if not records:
        parser.error(f"no benchmark figures in {args.source}: run `make bench` (or `make test`) first")
    args.out.write_text(render(records))
    print(f"{args.out}: {len(records)} benchmarks")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
