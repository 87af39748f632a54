"""A file's duplicates database between invocations: on local disk while a file is read, in S3 at a checkpoint.

The database (:class:`~energy_lib.seen_readings.SeenReadings`) lives at ``/tmp/<source id>.sqlite3`` (Lambda's
ephemeral storage) and is copied to ``checkpoints/<source id>.sqlite3`` in the data bucket at every checkpoint, so
the next invocation (a continuation, or the retry after a crash) downloads it and reads on. The source id names one
object version's event, so two files never share a database. The copy is deleted when the file is done; the
bucket's lifecycle expires what a file that never finished left behind (``BUCKET.checkpoint_expiry_days``).
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path
from typing import Any

PREFIX = "checkpoints/"  # in the data bucket, apart from the raw and quarantine prefixes


def source_id(key: str, version_id: str, sequencer: str) -> str:
    return hashlib.sha256(f"{key}\0{version_id}\0{sequencer}".encode()).hexdigest()[:40]


def local_path(source: str) -> Path:
    return Path(tempfile.gettempdir()) / f"{source}.sqlite3"


def object_key(source: str) -> str:
    return f"{PREFIX}{source}.sqlite3"


def fresh(source: str) -> Path:
    """The database's path, with no database there: the file is read from its start."""
    path = local_path(source)
    path.unlink(missing_ok=True)
    return path


def restore(s3: Any, bucket: str, source: str) -> Path:
    """The database as the last checkpoint saved it, downloaded to its path."""
    path = local_path(source)
    s3.download_file(bucket, object_key(source), str(path))
    return path


def save(s3: Any, bucket: str, source: str) -> None:
    """Copy the database (saved, closed or not) to S3."""
    s3.upload_file(str(local_path(source)), bucket, object_key(source))


def discard(s3: Any, bucket: str, source: str) -> None:
    """Remove the database from local disk and from S3 (the file is done)."""
    local_path(source).unlink(missing_ok=True)
    s3.delete_object(Bucket=bucket, Key=object_key(source))
