"""What energy_lib.workbook.local.moto_gaps adds to moto, and that moto still needs it: S3 notifications with the
object's version and a sequencer, DynamoDB requests one at a time (unique stream sequence numbers under
concurrent writers, as DynamoDB gives them), stream records forgotten once handed over (a reader behind
them gets AWS's TrimmedDataAccessException and reads on from the oldest record kept), and items deleted once their
time to live passed, with the stream record DynamoDB writes for it."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest

from energy_lib.clients import client
from energy_lib.config import Settings
from energy_lib.dynamo import batch_put
from energy_lib.workbook.aws.streams import StreamTail, stream_arn
from energy_lib.workbook.local import moto_gaps
from tests.conftest import fresh_stack
from tests.integration.harness import Pipeline, assert_rollups_exact, put, take_messages


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


def test_a_reader_behind_the_forgotten_records_gets_aws_s_answer_and_reads_on_from_the_oldest(
    settings: Settings,
) -> None:
    # GIVEN 30 readings, handed over, and a reader that stopped at the 10th record
    items = [
        {"site_id": "F", "timestamp": f"2025-06-11T00:00:{i:02d}Z", "day": "2025-06-11",
         "energy_generated_kwh": Decimal(i), "energy_consumed_kwh": Decimal(1), "net_energy_kwh": Decimal(i - 1)}
        for i in range(30)
    ]  # fmt: skip
    dynamodb, streams = client("dynamodb", settings), client("dynamodbstreams", settings)
    batch_put(dynamodb, settings.readings_table, items)
    pipeline = Pipeline(settings)
    pipeline.drain()
    arn = stream_arn(settings, dynamodb)
    [shard] = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    start = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")
    behind = streams.get_records(ShardIterator=start["ShardIterator"], Limit=10)
    tail = StreamTail(streams, arn)
    tail.iterators[shard["ShardId"]] = behind["NextShardIterator"]
    tail.positions[shard["ShardId"]] = behind["Records"][-1]["dynamodb"]["SequenceNumber"]
    # WHEN the local stack forgets the first 20 records (its retention)
    through = int(behind["Records"][-1]["dynamodb"]["SequenceNumber"]) + 10
    later = datetime.now(timezone.utc) + timedelta(minutes=1)
    assert moto_gaps.forget_stream_state(settings.region, settings.readings_table, through, later) == 20
    # THEN the iterator that points into them gets TrimmedDataAccessException (moto alone: error 500)
    with pytest.raises(streams.exceptions.TrimmedDataAccessException):
        streams.get_records(ShardIterator=behind["NextShardIterator"])
    # AND the reader goes on from the oldest record kept: the last 10
    assert tail.catch_up()["F"] == max(tail.latest.values()) and tail.records == 10
    assert tail.positions[shard["ShardId"]] == str(through + 10)


def _put_expiring(settings: Settings) -> dict[str, int | str]:
    """Readings in the readings table (its time to live on): expired, not yet, too far past, not a number."""
    now = int(time.time())
    values: dict[str, int | str] = {"expired": now - 60, "later": now + 3600, "past_five_years": now - 6 * 365 * 86400}
    items = [
        {"site_id": "T", "timestamp": f"2025-06-11T00:00:0{n}Z", "expires_at": value, "energy_generated_kwh": 1}
        for n, value in enumerate(values.values())
    ]
    items.append({"site_id": "T", "timestamp": "2025-06-11T00:00:09Z", "expires_at": "soon", "energy_generated_kwh": 1})
    batch_put(client("dynamodb", settings), settings.readings_table, items)
    return values


def test_moto_itself_still_never_deletes_an_expired_item(settings: Settings) -> None:
    dynamodb = client("dynamodb", settings)
    ttl = dynamodb.describe_time_to_live(TableName=settings.readings_table)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}
    _put_expiring(settings)
    time.sleep(1)
    found = dynamodb.get_item(
        TableName=settings.readings_table, Key={"site_id": {"S": "T"}, "timestamp": {"S": "2025-06-11T00:00:00Z"}}
    )
    assert "Item" in found  # a minute past its time to live, and still there


def test_expired_items_go_as_dynamodb_lets_them_with_the_stream_record_it_writes(settings: Settings) -> None:
    # GIVEN readings with a time to live passed, to come, past more than five years, and not a number
    _put_expiring(settings)
    tail = StreamTail(client("dynamodbstreams", settings), stream_arn(settings, client("dynamodb", settings)))
    tail.catch_up()
    records: list[dict] = []
    original = tail.streams.get_records

    def keep(**kwargs: object) -> dict:
        page = original(**kwargs)
        records.extend(page["Records"])
        return page

    tail.streams.get_records = keep
    # WHEN the time to live runs, and a user deletes another reading
    assert moto_gaps.expire_items(settings.region, settings.readings_table, time.time()) == 1
    client("dynamodb", settings).delete_item(
        TableName=settings.readings_table, Key={"site_id": {"S": "T"}, "timestamp": {"S": "2025-06-11T00:00:01Z"}}
    )
    tail.catch_up()
    # THEN only the expired one went by the time to live, and its REMOVE names DynamoDB, as GetRecords answers
    by_time = {r["dynamodb"]["Keys"]["timestamp"]["S"]: r for r in records}
    assert by_time["2025-06-11T00:00:00Z"]["userIdentity"] == {
        "Type": "Service",
        "PrincipalId": "dynamodb.amazonaws.com",
    }
    assert (
        by_time["2025-06-11T00:00:00Z"]["eventName"] == "REMOVE"
        and "OldImage" in by_time["2025-06-11T00:00:00Z"]["dynamodb"]
    )
    assert "userIdentity" not in by_time["2025-06-11T00:00:01Z"]  # the user's deletion
    left = client("dynamodb", settings).query(
        TableName=settings.readings_table,
        KeyConditionExpression="site_id = :s",
        ExpressionAttributeValues={":s": {"S": "T"}},
    )["Items"]
    assert [item["timestamp"]["S"][-3:-1] for item in left] == ["02", "09"]


def test_without_a_hot_window_the_readings_table_keeps_everything(moto_port: int, tmp_path: Path) -> None:
    settings = fresh_stack(moto_port, tmp_path, readings_ttl_days=0)
    _put_expiring(settings)
    assert moto_gaps.expire_items(settings.region, settings.readings_table, time.time() + 10**6) == 0
    ttl = client("dynamodb", settings).describe_time_to_live(TableName=settings.readings_table)
    assert ttl["TimeToLiveDescription"]["TimeToLiveStatus"] == "DISABLED"


def test_moto_itself_still_remembers_every_model_instance_and_the_stack_does_not() -> None:
    # moto's BaseModel keeps each instance it makes (for its dashboard): nothing written is ever freed
    assert moto_gaps.moto_tracks_instances()
    # with the gaps installed (the tests' server and the stack install them), an item written is not remembered
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    Item(DynamoType({"S": "site"}), None, {"site_id": {"S": "site"}})
    assert Item.instances_tracked == []
