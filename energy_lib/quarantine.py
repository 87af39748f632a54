"""Quarantine in the data bucket: nothing that cannot be stored is dropped.

- Rejected readings of a file, one object per chunk of records that had any:
  ``<quarantine>readings/<source key>.<etag>.<position of the chunk's first reject, 10 digits>.jsonl``, one JSON
  object a line with the source key, position, original text and reasons.
- A file that cannot be parsed at all: copied whole to ``<quarantine>files/<source key>`` with the
  reason beside it in ``<quarantine>files/<source key>.reason.json``.
Every key is fixed by the source (and a chunk by where it starts: a file is cut into chunks the same way
whatever invocation reads it), so writing it again on re-delivery or after a resume changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from energy_lib.readings import Reject


def rejects_prefix(quarantine_prefix: str, source_key: str, etag: str) -> str:
    """Where the rejects objects of one version (``etag``) of ``source_key`` begin."""
    return f"{quarantine_prefix}readings/{source_key}.{etag}."


def rejects_key(quarantine_prefix: str, source_key: str, etag: str, position: int) -> str:
    return f"{rejects_prefix(quarantine_prefix, source_key, etag)}{position:010d}.jsonl"


def source_of_rejects(quarantine_prefix: str, key: str) -> str:
    """The source key a rejects object ``key`` (see :func:`rejects_key`) was cut from."""
    return key[len(f"{quarantine_prefix}readings/") :].rsplit(".", 3)[0]


def file_key(quarantine_prefix: str, source_key: str) -> str:
    return f"{quarantine_prefix}files/{source_key}"


def put_rejects(
    s3: Any, bucket: str, quarantine_prefix: str, source_key: str, etag: str, rejects: Sequence[Reject]
) -> str:
    lines = [
        json.dumps(
            {
                "source_key": source_key,
                "etag": etag,
                "position": r.position,
                "original": r.original,
                "reasons": list(r.reasons),
            },
            ensure_ascii=False,
        )
        for r in rejects
    ]
    key = rejects_key(quarantine_prefix, source_key, etag, rejects[0].position)
    s3.put_object(Bucket=bucket, Key=key, Body=("\n".join(lines) + "\n").encode(), ContentType="application/x-ndjson")
    return key


def put_file(
    s3: Any, bucket: str, quarantine_prefix: str, source_key: str, etag: str, version_id: str | None, reason: str
) -> str:
    key = file_key(quarantine_prefix, source_key)
    source: dict[str, str] = {"Bucket": bucket, "Key": source_key}
    if version_id:
        source["VersionId"] = version_id
    s3.copy_object(Bucket=bucket, Key=key, CopySource=source)
    reason_doc = {"source_key": source_key, "etag": etag, "version_id": version_id, "reason": reason}
    s3.put_object(
        Bucket=bucket, Key=f"{key}.reason.json", Body=json.dumps(reason_doc).encode(), ContentType="application/json"
    )
    return key
