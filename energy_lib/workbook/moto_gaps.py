"""What moto (5.2.5) leaves out of AWS's behaviour that the pipeline relies on, added explicitly.

- S3 event notifications: AWS sends ``s3.object.versionId`` (on a versioned bucket) and ``s3.object.sequencer``
  (which orders the events of one key); moto sends neither. :func:`add_s3_notification_fields` makes moto's
  notifications carry both, with the version moto stored and a sequencer that grows with every event, so the
  local stack feeds the pipeline the event shape AWS does. Only fields moto leaves out are added.

Every process that runs a moto server for the pipeline (the local stack, the tests) calls it before serving.
A test (``tests/integration/test_moto_gaps.py``) checks that moto itself still leaves them out, so that this
module goes away when moto catches up.
"""

from __future__ import annotations

import itertools
from typing import Any

_sequence = itertools.count(1)  # next() on a count is atomic in CPython: moto serves requests in threads
_installed: list[Any] = []


def add_s3_notification_fields() -> None:
    """Make moto's S3 notifications carry ``versionId`` and ``sequencer``, as AWS's do (idempotent)."""
    from moto.s3 import notifications

    if _installed:
        return
    original = notifications._get_s3_event

    def with_version_and_sequencer(event_name: str, bucket: Any, key: Any, notification_id: str) -> dict[str, Any]:
        event = original(event_name, bucket, key, notification_id)
        for record in event["Records"]:
            s3_object = record["s3"]["object"]
            if key.version_id != "null":
                s3_object.setdefault("versionId", key.version_id)
            s3_object.setdefault("sequencer", f"{next(_sequence):018X}")
        return event

    notifications._get_s3_event = with_version_and_sequencer
    _installed.append(original)


def moto_s3_event(event_name: str, bucket: Any, key: Any, notification_id: str) -> dict[str, Any]:
    """moto's own notification body, without the fields added here (for the test that checks moto still needs them)."""
    from moto.s3 import notifications

    build = _installed[0] if _installed else notifications._get_s3_event
    return build(event_name, bucket, key, notification_id)
