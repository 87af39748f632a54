"""docs/benchmarks.md is generated from the benchmarks' JSON: every figure of every file shows, with its size,
machine and versions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.benchmarks import report


def test_every_benchmark_s_figures_become_tables_with_where_they_were_measured(tmp_path: Path) -> None:
    source = tmp_path / "json"
    source.mkdir()
    machine = {"cores": 2, "memory_gib": 23.5, "python": "3.11.7", "versions": {"moto": "5.2.6"}}
    rows = [{"shape": "one reading per file", "months_stored": 12, "ours_usd": 1234.5}]
    nested = {"readings_per_s": 1417.25, "peaks_mib": {"10k": 80.9, "100k": 82.8}}
    for name, figures in (("cost_model", rows), ("throughput", nested)):
        record = {"benchmark": name, "size": "full", "measured_at": "2026-12-06T00:00:00Z", "machine": machine}
        (source / f"{name}.json").write_text(json.dumps({**record, "figures": figures}))
    out = tmp_path / "benchmarks.md"

    assert report.main(["--from", str(source), "--out", str(out)]) == 0

    page = out.read_text()
    assert "## cost model" in page and "## throughput" in page
    assert "| shape | months_stored | ours_usd |" in page and "| one reading per file | 12 | 1,234 |" in page
    assert "| readings_per_s | 1,417 |" in page and "### peaks mib" in page and "| 10k | 80.9 |" in page
    assert (
        page.count("Size **full**, measured 2026-12-06T00:00:00Z on 2 cores, 23.5 GiB, Python 3.11.7 (moto 5.2.6)") == 2
    )


def test_no_figures_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        report.main(["--from", str(tmp_path), "--out", str(tmp_path / "b.md")])
    assert exit_.value.code == 2
    assert "no benchmark figures" in capsys.readouterr().err
    assert not (tmp_path / "b.md").exists()
