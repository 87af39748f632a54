"""That moto still needs :mod:`energy_lib.workbook.local.moto_gaps`, checked on moto's own code without a server.
On a moto server: tests/integration/test_moto_gaps.py."""

from __future__ import annotations

from types import SimpleNamespace

from energy_lib.workbook.local import moto_gaps


def test_moto_itself_still_leaves_version_and_sequencer_out_of_s3_notifications() -> None:
    key = SimpleNamespace(name="raw/a.json", size=3, etag='"e"', version_id="v1")
    bucket = SimpleNamespace(name="b", arn="arn:aws:s3:::b", region_name="eu-west-1")

    body = moto_gaps.moto_s3_event("s3:ObjectCreated:Put", bucket, key, "n")

    assert not {"versionId", "sequencer"} & set(body["Records"][0]["s3"]["object"])
