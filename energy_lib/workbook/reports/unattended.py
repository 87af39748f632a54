"""What a run leaves for the people who were not watching it: its alert (:mod:`.alerts`), its row in the history
(:mod:`.history`), and on AWS its files in S3 under the reports prefix, next to the history.

None of these may change how the run ended: an alert or the history that cannot be written is logged (a warning
on stderr) and, for the alert, kept in run.json (``alert.error``), so the next failure of the streak tries again.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from energy_lib.config import Settings
from energy_lib.errors import EnergyError
from energy_lib.workbook.reports import alerts
from energy_lib.workbook.reports.history import HistoryStore, row_of
from energy_lib.workbook.reports.index import INDEX_FILE
from energy_lib.workbook.reports.records import RUN_FILE, RunRecord

logger = logging.getLogger("energy_lib.workbook.reports")
_AWS_ERRORS = (ClientError, BotoCoreError, EnergyError, OSError)


def _on_s3(settings: Settings | None) -> bool:
    return settings is not None and settings.target == "aws"


def s3_key(settings: Settings, path: Path, reports: Path) -> str:
    """The key of a file of the reports folder in the bucket: the same path under the reports prefix."""
    return f"{settings.reports_prefix}{path.resolve().relative_to(reports.resolve()).as_posix()}"


def kept_where(settings: Settings | None, record: RunRecord, reports: Path) -> dict[str, str]:
    """Where the run's executed notebook and HTML are kept: ``s3://`` URLs on AWS, else paths on this machine."""
    files = {"ipynb": record.ipynb, "html": record.html or record.run_dir / f"{record.notebook}.html"}
    if settings is not None and _on_s3(settings):
        return {kind: f"s3://{settings.bucket}/{s3_key(settings, path, reports)}" for kind, path in files.items()}
    return {kind: str(path) for kind, path in files.items()}


def settle(record: RunRecord, reports: Path, settings: Settings | None) -> tuple[RunRecord, list[dict[str, Any]]]:
    """Publish the alert ``record`` calls for (with ``settings``), then add its row to the history.

    Returns the record with its ``alert`` and every row of the history after (only this run's row when the
    history could not be read or written).
    """
    store = HistoryStore.of(settings, reports)
    kept = kept_where(settings, record, reports)
    try:
        rows = store.rows()
    except _AWS_ERRORS as error:
        logger.warning("could not read the run history %s: %s", store.where, error)
        rows = []
    if settings is not None:
        record = replace(record, alert=_publish(settings, rows, record, kept))
    row = row_of(record, reports, kept if _on_s3(settings) else None)
    try:
        return record, store.add([row])
    except _AWS_ERRORS as error:
        logger.warning("could not add run %s to the history %s: %s", record.run_id, store.where, error)
        return record, [*rows, row]


def _publish(
    settings: Settings, rows: list[dict[str, Any]], record: RunRecord, kept: dict[str, str]
) -> dict[str, Any] | None:
    from energy_lib.clients import client
    from energy_lib.workbook.connect import ready

    if alerts.kind_to_publish(rows, record) is None:
        return None  # nothing to tell: the local stack is not started for nothing
    try:
        return alerts.publish(client("sns", ready(settings)), settings.topic_arn, rows, record, kept)
    except _AWS_ERRORS as error:
        logger.warning("could not publish the alert of run %s: %s", record.run_id, error)
        return {"kind": None, "error": f"{type(error).__name__}: {error}"}


def keep_files(settings: Settings | None, record: RunRecord, reports: Path) -> list[str]:
    """On AWS: upload the run's notebook, HTML and run.json, and the index page, under the reports prefix (the
    runner's own disk may be gone tomorrow). Returns the keys written (none on the local target)."""
    if settings is None or not _on_s3(settings):
        return []
    from energy_lib.clients import client

    s3 = client("s3", settings)
    written = []
    for path in (record.ipynb, record.html, record.run_dir / RUN_FILE, reports / INDEX_FILE):
        if path is None or not path.is_file():
            continue
        key = s3_key(settings, path, reports)
        try:
            s3.upload_file(str(path), settings.bucket, key)
        except _AWS_ERRORS as error:
            logger.warning("could not keep %s in s3://%s/%s: %s", path, settings.bucket, key, error)
            continue
        written.append(key)
    return written
