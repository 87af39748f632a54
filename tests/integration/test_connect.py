"""Connecting once: building clients and polling never start or probe the local stack."""

from __future__ import annotations

from dataclasses import replace

import pytest

from energy_lib.clients import client
from energy_lib.errors import WaitTimeout
from energy_lib.workbook.aws import ops
from energy_lib.workbook.local import stack
from tests.conftest import fresh_stack


class EnoughPolls(Exception):
    """Raised by the test's progress callback to end a wait that would poll on."""


@pytest.mark.stack
def test_clients_and_wait_never_start_or_probe_the_local_stack(moto_port, tmp_path) -> None:
    # GIVEN the local target on a port where a provisioned moto server answers, with no local stack recorded:
    # asked, the stack would say it is not running, and starting it would fail (the port is taken)
    settings = replace(fresh_stack(moto_port, tmp_path), endpoint_url=None)
    assert settings.endpoint == f"http://127.0.0.1:{moto_port}"
    assert not stack.status(settings)["running"]
    # WHEN clients are built, a file is uploaded and the pipeline is waited for, which polls on, as nothing consumes
    # the ingest queue's message (S3's notification of the upload): stopped after three polls, however long they
    # take; then a wait with no time left
    s3 = client("s3", settings)
    s3.put_object(Bucket=settings.bucket, Key="raw/2025/06/11/waiting.json", Body=b"[]")
    polls: list[dict[str, int]] = []

    def three_polls(counts: dict[str, int]) -> None:
        polls.append(counts)
        if len(polls) == 3:
            raise EnoughPolls

    with pytest.raises(EnoughPolls):
        ops.wait(settings, timeout_s=3600, poll_s=0.05, progress=three_polls)
    with pytest.raises(WaitTimeout, match="1 message in the ingest queue"):
        ops.wait(settings, timeout_s=0)
    # THEN every poll asked the server, and the stack was neither started nor recorded
    assert all(poll["queued"] == 1 for poll in polls)
    assert s3.head_bucket(Bucket=settings.bucket)["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert not stack.state_file(settings).exists()
    assert list(tmp_path.iterdir()) == []
