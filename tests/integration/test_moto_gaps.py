"""What energy_lib.workbook.local.moto_gaps adds to moto, and that moto still needs it: S3 notifications with the
object's version and a sequencer, DynamoDB requests one at a time (unique stream sequence numbers under
concurrent writers, as DynamoDB gives them), and stream records forgotten once handed over."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from types import SimpleNamespace

from energy_lib.clients import client
from energy_lib.config import Settings
from energy_lib.dynamo import batch_put
from energy_lib.workbook.aws.streams import StreamTail, stream_arn
from energy_lib.workbook.local import moto_gaps
from tests.integration.harness import Pipeline, assert_rollups_exact, put, take_messages


def test_moto_itself_still_leaves_version_and_sequencer_out_of_s3_notifications() -> None:
    key = SimpleNamespace(name="raw/a.json", size=3, etag='"e"', version_id="v1")
    bucket = SimpleNamespace(name="b", arn="arn:aws:s3:::b", region_name="eu-west-1")

    body = moto_gaps.moto_s3_event("s3:ObjectCreated:Put", bucket, key, "n")

    assert not {"versionId", "sequencer"} & set(body["Records"][0]["s3"]["object"])


def test_the_local_stack_s_notifications_carry_the_version_and_a_growing_sequencer(settings: Settings) -> None:
    versions = [put(settings, "raw/2025/06/11/a.json", body) for body in (b"[]", b"[ ]")]

    objects = [json.loads(m["Body"])["Records"][0]["s3"]["object"] for m in take_messages(settings)]

    assert [o["versionId"] for o in objects] == versions
    assert objects[0]["sequencer"] < objects[1]["sequencer"] and len(objects[0]["sequencer"]) == 18


def test_concurrent_writers_get_one_stream_record_each_with_its_own_sequence_number(settings: Settings) -> None:
    # GIVEN six writers putting 300 readings each into the readings table at once
    def write(n: int) -> None:
        items = [
            {"site_id": f"W{n}", "timestamp": f"2025-06-11T00:{i // 60:02d}:{i % 60:02d}Z", "day": "2025-06-11",
             "energy_generated_kwh": Decimal(i), "energy_consumed_kwh": Decimal(1), "net_energy_kwh": Decimal(i - 1)}
            for i in range(300)
        ]  # fmt: skip
        batch_put(client("dynamodb", settings), settings.readings_table, items)

    writers = [threading.Thread(target=write, args=(n,)) for n in range(6)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(120)
    # WHEN the stream is read
    tail = StreamTail(client("dynamodbstreams", settings), stream_arn(settings, client("dynamodb", settings)))
    sequences: list[str] = []
    original = tail.streams.get_records

    def collect(**request):
        page = original(**request)
        sequences.extend(r["dynamodb"]["SequenceNumber"] for r in page["Records"])
        return page

    tail.streams = SimpleNamespace(
        get_records=collect,
        describe_stream=tail.streams.describe_stream,
        get_shard_iterator=tail.streams.get_shard_iterator,
    )
    tail.catch_up()
    # THEN every write has a record of its own, each with its own sequence number
    assert len(sequences) == len(set(sequences)) == 1800


def test_the_local_stack_forgets_stream_records_handed_over_and_numbers_new_ones_on(settings: Settings) -> None:
    # GIVEN 50 readings written and handed over to the aggregator
    def write(first: int) -> None:
        items = [
            {"site_id": "F", "timestamp": f"2025-06-11T00:{i // 60:02d}:{i % 60:02d}Z", "day": "2025-06-11",
             "energy_generated_kwh": Decimal(i), "energy_consumed_kwh": Decimal(1), "net_energy_kwh": Decimal(i - 1)}
            for i in range(first, first + 50)
        ]  # fmt: skip
        batch_put(client("dynamodb", settings), settings.readings_table, items)

    write(0)
    pipeline = Pipeline(settings)
    pipeline.drain()
    tail = StreamTail(client("dynamodbstreams", settings), stream_arn(settings, client("dynamodb", settings)))
    last_before = tail.catch_up()["F"]
    # WHEN the local stack forgets what is handed over (as if ten minutes had passed), and more is written
    through = int(pipeline.stream.checkpoints[next(iter(pipeline.stream.checkpoints))])
    later = datetime.now(timezone.utc) + timedelta(minutes=1)
    assert moto_gaps.forget_stream_state(settings.region, settings.readings_table, through, later) == 50
    write(50)
    pipeline.drain()
    # THEN a reader from the oldest record sees only the new 50, numbered after the forgotten ones
    fresh = StreamTail(client("dynamodbstreams", settings), stream_arn(settings, client("dynamodb", settings)))
    assert fresh.catch_up()["F"] > last_before and fresh.records == 50
    assert tail.catch_up()["F"] == fresh.latest["F"]  # a reader that was past them goes on
    assert assert_rollups_exact(settings) == 3
