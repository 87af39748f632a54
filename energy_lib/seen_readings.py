"""The readings one file has already given, to find a second reading of the same site and second.

A table in sqlite3 (stdlib): (site, second) -> the position of the first record that had it. Memory is the
page cache (``CACHE_KIB``) whatever the file's size; the rows live in the database file (about 20 bytes a
reading). That file is what a checkpoint saves: after :meth:`SeenReadings.save`, a copy of it opened in
another process answers exactly the same. Reading records again that it has already seen changes nothing,
since a record is a duplicate only of a record at an earlier position, so a copy saved after the
checkpoint's last record is as good as one saved at it.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

CACHE_KIB = 8 * 1024


class SeenReadings:
    """``first()`` per reading, ``save()`` before the file is copied; in memory when no path is given."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = path
        self.connection = sqlite3.connect(path, isolation_level=None)
        self.connection.executescript(
            f"""
            PRAGMA journal_mode = OFF;
            PRAGMA synchronous = OFF;
            PRAGMA cache_size = -{CACHE_KIB};
            CREATE TABLE IF NOT EXISTS seen (
                site_id TEXT NOT NULL, second INTEGER NOT NULL, position INTEGER NOT NULL,
                PRIMARY KEY (site_id, second)
            ) WITHOUT ROWID;
            BEGIN;
            """
        )
        self.cursor = self.connection.cursor()

    def first(self, site_id: str, timestamp: datetime, position: int) -> int:
        """The position of the first record with this site and second: ``position`` when it is this one."""
        key = (site_id, int(timestamp.timestamp()))
        self.cursor.execute("INSERT OR IGNORE INTO seen VALUES (?, ?, ?)", (*key, position))
        if self.cursor.rowcount:
            return position
        return self.cursor.execute("SELECT position FROM seen WHERE site_id = ? AND second = ?", key).fetchone()[0]

    def save(self) -> None:
        """Write every reading seen so far to the database file."""
        self.connection.execute("COMMIT")
        self.connection.execute("BEGIN")

    def close(self) -> None:
        self.connection.execute("COMMIT")
        self.connection.close()

    def __enter__(self) -> SeenReadings:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
