"""The documentation site, built once for the tests of this folder."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO


def mkdocs_build(config_dir: Path, site_dir: Path) -> subprocess.CompletedProcess[str]:
    """``mkdocs build --strict`` of the site configured in ``config_dir``, into ``site_dir``."""
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site_dir)],
        cwd=config_dir,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},  # Material's notice about its successor, not ours
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The repository's site, built strictly into a temporary folder (the build must succeed)."""
    site_dir = tmp_path_factory.mktemp("site")
    result = mkdocs_build(REPO, site_dir)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-6000:]
    yield site_dir
