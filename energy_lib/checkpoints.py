"""A file's duplicates database between invocations: on local disk while a file is read, in S3 at a checkpoint.

The database (:class:`~energy_lib.seen_readings.SeenReadings`) lives at ``/tmp/<source id>.sqlite3`` (Lambda's
ephemeral storage) and is copied to ``checkpoints/<source id>.sqlite3`` in the data bucket at every checkpoint, so
the next invocation (a continuation, or the retry after a crash) downloads it and reads on. The source id names one
object version's event, so two files never share a database. The copy is deleted when the file is done; the
bucket's lifecycle expires what a file that never finished left behind (``BUCKET.checkpoint_expiry_days``).
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path
from typing import Any

PREFIX = "checkpoints/"  # in the data bucket, apart from the raw and quarantine prefixes
COPY_BYTES = 1024 * 1024


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
    """The database as the last checkpoint saved it, downloaded to its path (streamed: one GetObject)."""
    path = local_path(source)
    body = s3.get_object(Bucket=bucket, Key=object_key(source))["Body"]
    with body, path.open("wb") as copy:
        shutil.copyfileobj(body, copy, COPY_BYTES)
    return path


def save(s3: Any, bucket: str, source: str) -> None:
    """Copy the saved database to S3 (streamed from disk: one PutObject, no transfer threads or part buffers)."""
    with local_path(source).open("rb") as database:
        s3.put_object(Bucket=bucket, Key=object_key(source), Body=database)


def discard(s3: Any, bucket: str, source: str) -> None:
    """Delete the copy in S3 (the file is done)."""
    s3.delete_object(Bucket=bucket, Key=object_key(source))
