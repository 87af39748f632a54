"""Security checks of the repository: checkov on terraform/, actionlint on the workflows, detect-secrets
on every file git would commit. Each test runs the real tool and asserts on its report; the tools install
themselves on first use (see :mod:`tests.security.tools`).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.security.tools import REPO, run_actionlint, run_checkov

pytestmark = pytest.mark.security

WORKFLOWS = REPO / ".github" / "workflows"
MIN_REASON_CHARS = 20

# AWS event payloads (tests/events/*.json) carry identifiers that are random by design: SQS receipt
# handles and MD5s, S3 ETags, sequencers, request and host ids, DynamoDB stream event ids. detect-secrets'
# entropy plugins flag them, so lines that set one of these JSON keys are not scanned. Every other line of
# every file is.
EVENT_ID_LINES = (
    r"(eventID|receiptHandle|md5OfBody|md5OfMessageAttributes|eTag|sequencer|RequestId|HostId|x-amz-id-2)\\?\"\s*:"
)


def finding_lines(findings: list[dict]) -> str:
    return "\n".join(f"{f['file']}:{f['line']}:{f['column']}: {f['message']} [{f['kind']}]" for f in findings)


# --- checkov -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def checkov_report() -> dict:
    return run_checkov(REPO / "terraform")


def test_checkov_finds_no_failed_check(checkov_report: dict) -> None:
    summary = checkov_report["summary"]
    failed = [
        f"{c['check_id']} {c['resource']} ({c['file_path']}:{c['file_line_range'][0]}): {c['check_name']}"
        for c in checkov_report.get("results", {}).get("failed_checks", [])
    ]
    assert summary["parsing_errors"] == 0
    assert summary["passed"] > 0
    assert summary["failed"] == 0, "\n".join(failed)


def test_every_checkov_skip_says_why(checkov_report: dict) -> None:
    # A skip is an inline `#checkov:skip=CKV_...:reason` comment; the reason must be a real sentence.
    skipped = checkov_report.get("results", {}).get("skipped_checks", [])
    unexplained = [
        f"{c['check_id']} {c['resource']}"
        for c in skipped
        if len(c["check_result"].get("suppress_comment", "").strip()) < MIN_REASON_CHARS
    ]
    assert unexplained == []


# --- actionlint ----------------------------------------------------------------------------------


def test_workflows_pass_actionlint() -> None:
    workflows = sorted([*WORKFLOWS.glob("*.yml"), *WORKFLOWS.glob("*.yaml")])
    assert {p.name for p in workflows} >= {"ci.yml", "deploy.yml", "reports.yml"}
    findings = run_actionlint(workflows)
    assert findings == [], finding_lines(findings)


def test_actionlint_reports_a_broken_workflow(tmp_path: Path) -> None:
    # GIVEN a workflow with an unknown action input and an undefined matrix property
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: actions/checkout@v4\n        with:\n          fetch-depht: 1\n"
        "      - run: echo ${{ matrix.python }}\n"
    )
    # WHEN actionlint checks it  THEN it reports both (the linter really runs)
    findings = run_actionlint([broken])
    assert {(f["line"], f["kind"]) for f in findings} == {(8, "action"), (9, "expression")}, finding_lines(findings)


# --- detect-secrets ------------------------------------------------------------------------------


def committed_files() -> list[str]:
    """Tracked files plus new files git would add (so .venv*, build/, reports/ and caches stay out)."""
    listing = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return sorted(path for path in listing.split("\0") if path and (REPO / path).is_file())


def detect_secrets(files: list[str], cwd: Path) -> dict[str, list[dict]]:
    command = [sys.executable, "-m", "detect_secrets", "scan", "--exclude-lines", EVENT_ID_LINES, *files]
    result = subprocess.run(command, cwd=cwd, check=True, capture_output=True, text=True, timeout=600)
    return json.loads(result.stdout)["results"]


def test_no_secrets_in_the_repository() -> None:
    files = committed_files()
    assert "pyproject.toml" in files and not any(f.startswith((".venv", "build/", "reports/")) for f in files)
    found = detect_secrets(files, REPO)
    assert found == {}, "\n".join(f"{f['filename']}:{f['line_number']}: {f['type']}" for v in found.values() for f in v)


def test_detect_secrets_reports_a_planted_key(tmp_path: Path) -> None:
    # GIVEN a file with an AWS access key id (built here so that this file holds none)
    planted = tmp_path / "settings.py"
    planted.write_text('aws_access_key_id = "' + "AKIA" + "Z7QW3RTY5UIOPA2B" + '"\n')
    # WHEN detect-secrets scans it  THEN it reports the key (the scanner really runs)
    found = detect_secrets(["settings.py"], tmp_path)
    assert "AWS Access Key" in {f["type"] for f in found.get("settings.py", [])}
