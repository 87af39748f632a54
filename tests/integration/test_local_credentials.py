"""A boto3 client of one's own against the local stack: what `energy-workbook config --json` prints is all it needs,
in a shell without any AWS credentials (docs/local-stack.md, "Your own clients")."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote_plus

import boto3
import pytest
from botocore.exceptions import NoCredentialsError

from energy_lib.clients import client
from energy_lib.config import Settings
from energy_lib.workbook.cli import main

pytestmark = pytest.mark.stack

READINGS = (
    b'[{"site_id": "SITE_042", "timestamp": "2025-06-11T12:00:00Z", '
    b'"energy_generated_kwh": 4.5, "energy_consumed_kwh": 1.25}]'
)


@pytest.fixture
def no_aws_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A shell where boto3 finds no credentials: no variables, no profile or config file, no instance metadata."""
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", raising=False)


def test_a_client_built_from_config_json_uploads_to_the_local_stack(
    settings: Settings, no_aws_credentials: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN the configuration of the local target, as `energy-workbook config --json` prints it
    monkeypatch.setenv("ENERGY_LOCAL_PORT", str(settings.local_port))
    assert main(["--target", "local", "config", "--json"]) == 0
    config = json.loads(capsys.readouterr().out)
    assert config["endpoint_url"] == settings.endpoint
    place = {"endpoint_url": config["endpoint_url"], "region_name": config["region"]}
    key = f"{config['raw_prefix']}2025/06/11/own-client.json"

    # WHEN a client takes only its endpoint and region THEN botocore cannot sign a request (the reported failure)
    bare = boto3.session.Session().client("s3", **place)
    with pytest.raises(NoCredentialsError):
        bare.put_object(Bucket=config["bucket"], Key=key, Body=READINGS)

    # WHEN it takes the keys config --json prints too THEN the upload lands in the local stack's bucket
    own = boto3.session.Session().client(
        "s3",
        **place,
        aws_access_key_id=config["aws_access_key_id"],
        aws_secret_access_key=config["aws_secret_access_key"],
    )
    own.put_object(Bucket=config["bucket"], Key=key, Body=READINGS)
    stored = client("s3", settings).get_object(Bucket=settings.bucket, Key=key)
    assert stored["Body"].read() == READINGS
    # AND the object is where the pipeline listens: the ingest queue got its notification
    queue = client("sqs", settings)
    url = queue.get_queue_url(QueueName=config["ingest_queue"])["QueueUrl"]
    messages = queue.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=5).get("Messages", [])
    bodies = [json.loads(message["Body"]) for message in messages]  # S3's test event has no records
    notified = [unquote_plus(record["s3"]["object"]["key"]) for body in bodies for record in body.get("Records", [])]
    assert notified == [key]
