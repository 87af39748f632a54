"""Provisioning checks: read back every resource and setting of the shared spec and compare.

The same spec (:mod:`energy_lib.workbook.infra.spec`, :mod:`energy_lib.schema`) drives the local
provisioner and ``terraform/``; these checks run against either target.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from energy_lib.clients import client
from energy_lib.config import Settings
from energy_lib.schema import TABLES
from energy_lib.workbook.infra.configuration import (
    function_environment,
    glue_table_input,
    time_to_live,
    workgroup_configuration,
)
from energy_lib.workbook.infra.spec import AGGREGATOR, BUCKET, COMPACTION, FUNCTION, LAKE, QUEUE, TABLE


@dataclass(frozen=True, slots=True)
class Check:
    resource: str
    setting: str
    expected: str
    actual: str

    @property
    def passed(self) -> bool:
        return self.expected == self.actual

    def row(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed}


class ChecksFailed(AssertionError):
    """At least one provisioning check failed (a scheduled run is marked failed)."""


def _read(probe: Callable[[], Any]) -> Any:
    """The probe's answer, or the error text when the resource or setting is missing."""
    try:
        return probe()
    except (ClientError, BotoCoreError) as error:
        return f"error: {error}"


def _checks(resource: str, pairs: list[tuple[str, Any, Callable[[], Any]]]) -> list[Check]:
    return [Check(resource, setting, str(expected), str(_read(actual))) for setting, expected, actual in pairs]


def bucket_checks(settings: Settings) -> list[Check]:
    s3, name = client("s3", settings), settings.bucket

    def notification() -> str:
        config = s3.get_bucket_notification_configuration(Bucket=name)["QueueConfigurations"][0]
        rules = config["Filter"]["Key"]["FilterRules"]
        return f"{config['QueueArn'].rsplit(':', 1)[-1]} {sorted(config['Events'])} {[r['Value'] for r in rules]}"

    def public_access() -> list[str]:
        flags = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
        return sorted(flag for flag, on in flags.items() if on)

    checks = _checks(
        f"s3:{name}",
        [
            ("exists", True, lambda: s3.head_bucket(Bucket=name) is not None),
            ("versioning", BUCKET.versioning, lambda: s3.get_bucket_versioning(Bucket=name).get("Status")),
            (
                "encryption",
                BUCKET.encryption,
                lambda: s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"][0][
                    "ApplyServerSideEncryptionByDefault"
                ]["SSEAlgorithm"],
            ),
            ("public access block", sorted(BUCKET.public_access_block), public_access),
            (
                "object ownership",
                BUCKET.object_ownership,
                lambda: s3.get_bucket_ownership_controls(Bucket=name)["OwnershipControls"]["Rules"][0][
                    "ObjectOwnership"
                ],
            ),
            (
                "lifecycle rules",
                sorted(BUCKET.lifecycle_rules),
                lambda: sorted(rule["ID"] for rule in s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"]),
            ),
            (
                "notification",
                f"{settings.ingest_queue} {sorted(BUCKET.notification_events)} {[settings.raw_prefix]}",
                notification,
            ),
        ],
    )
    if settings.target == "aws":
        checks += _checks(
            f"s3:{name}",
            [("TLS-only policy", True, lambda: "aws:SecureTransport" in s3.get_bucket_policy(Bucket=name)["Policy"])],
        )
    return checks


def queue_checks(settings: Settings) -> list[Check]:
    sqs = client("sqs", settings)

    def attributes(queue: str) -> dict[str, str]:
        url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]

    def redrive() -> str:
        policy = json.loads(attributes(settings.ingest_queue)["RedrivePolicy"])
        return f"{policy['deadLetterTargetArn'].rsplit(':', 1)[-1]} after {int(policy['maxReceiveCount'])}"

    def managed_encryption(queue: str) -> bool:
        return attributes(queue).get("SqsManagedSseEnabled") == "true"

    ingest, dlq, alerts = settings.ingest_queue, settings.dead_letter_queue, settings.alerts_queue
    rollups_dlq = settings.rollups_dead_letter_queue
    return (
        _checks(
            f"sqs:{ingest}",
            [
                ("visibility timeout [s]", QUEUE.visibility_timeout_s, lambda: attributes(ingest)["VisibilityTimeout"]),
                ("retention [s]", QUEUE.message_retention_s, lambda: attributes(ingest)["MessageRetentionPeriod"]),
                ("redrive", f"{dlq} after {settings.max_receive_count}", redrive),
                ("managed encryption", QUEUE.managed_encryption, lambda: managed_encryption(ingest)),
                (
                    "only our bucket sends",
                    True,
                    lambda: f"arn:aws:s3:::{settings.bucket}" in attributes(ingest)["Policy"],
                ),
            ],
        )
        + _checks(
            f"sqs:{dlq}",
            [
                ("retention [s]", QUEUE.dead_letter_retention_s, lambda: attributes(dlq)["MessageRetentionPeriod"]),
                ("managed encryption", QUEUE.managed_encryption, lambda: managed_encryption(dlq)),
            ],
        )
        + _checks(
            f"sqs:{alerts}",
            [
                ("retention [s]", QUEUE.alerts_retention_s, lambda: attributes(alerts)["MessageRetentionPeriod"]),
                ("managed encryption", QUEUE.managed_encryption, lambda: managed_encryption(alerts)),
            ],
        )
        + _checks(
            f"sqs:{rollups_dlq}",
            [
                (
                    "retention [s]",
                    QUEUE.rollups_dead_letter_retention_s,
                    lambda: attributes(rollups_dlq)["MessageRetentionPeriod"],
                ),
                ("managed encryption", QUEUE.managed_encryption, lambda: managed_encryption(rollups_dlq)),
            ],
        )
    )


def table_checks(settings: Settings) -> list[Check]:
    dynamodb = client("dynamodb", settings)
    checks = []
    for table in TABLES:
        name = getattr(settings, table.setting)

        def describe(name: str = name) -> dict[str, Any]:
            return dynamodb.describe_table(TableName=name)["Table"]

        def keys(name: str = name) -> list[str]:
            return [k["AttributeName"] for k in describe(name)["KeySchema"]]

        def indexes(name: str = name) -> list[str]:
            found = describe(name).get("GlobalSecondaryIndexes", [])
            return sorted(f"{i['IndexName']}({','.join(k['AttributeName'] for k in i['KeySchema'])})" for i in found)

        expected_indexes = sorted(f"{i.name}({i.partition_key},{i.sort_key})" for i in table.indexes)
        pairs = [
            ("keys", [table.partition_key, table.sort_key], keys),
            ("indexes", expected_indexes, indexes),
            ("billing", TABLE.billing_mode, lambda name=name: describe(name)["BillingModeSummary"]["BillingMode"]),
            (
                "point-in-time recovery",
                "ENABLED" if TABLE.point_in_time_recovery else "DISABLED",
                lambda name=name: dynamodb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"][
                    "PointInTimeRecoveryDescription"
                ]["PointInTimeRecoveryStatus"],
            ),
        ]
        if table.stream_view_type:
            pairs.append(
                (
                    "stream",
                    table.stream_view_type,
                    lambda name=name: describe(name).get("StreamSpecification", {}).get("StreamViewType"),
                )
            )
        pairs.append(("time to live", time_to_live(settings, table), lambda name=name: _time_to_live(dynamodb, name)))
        checks += _checks(f"dynamodb:{name}", pairs)
    return checks


def _time_to_live(dynamodb: Any, name: str) -> str:
    """The attribute a table's time to live reads; "" when it is off."""
    description = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    return description.get("AttributeName", "") if description.get("TimeToLiveStatus") == "ENABLED" else ""


def alert_checks(settings: Settings) -> list[Check]:
    sns = client("sns", settings)

    def subscribed() -> bool:
        subscriptions = sns.list_subscriptions_by_topic(TopicArn=settings.topic_arn)["Subscriptions"]
        return any(s["Endpoint"].endswith(f":{settings.alerts_queue}") for s in subscriptions)

    return _checks(
        f"sns:{settings.alerts_topic}",
        [
            (
                "encrypted",
                True,
                lambda: bool(sns.get_topic_attributes(TopicArn=settings.topic_arn)["Attributes"].get("KmsMasterKeyId")),
            ),
            ("alerts queue subscribed", True, subscribed),
        ],
    )


def function_checks(settings: Settings) -> list[Check]:
    awslambda = client("lambda", settings)
    name = settings.function_name

    def config() -> dict[str, Any]:
        return awslambda.get_function_configuration(FunctionName=name)

    def mapping() -> dict[str, Any]:
        return awslambda.list_event_source_mappings(FunctionName=name)["EventSourceMappings"][0]

    return _checks(
        f"lambda:{name}",
        [
            ("runtime", FUNCTION.runtime, lambda: config()["Runtime"]),
            ("handler", FUNCTION.handler, lambda: config()["Handler"]),
            ("timeout [s]", FUNCTION.timeout_s, lambda: config()["Timeout"]),
            ("memory [MB]", FUNCTION.memory_mb, lambda: config()["MemorySize"]),
            ("ephemeral storage [MB]", FUNCTION.ephemeral_storage_mb, lambda: config()["EphemeralStorage"]["Size"]),
            (
                "environment names",
                sorted(function_environment(settings)),
                lambda: sorted(config()["Environment"]["Variables"]),
            ),
            ("mapping source", settings.ingest_queue, lambda: mapping()["EventSourceArn"].rsplit(":", 1)[-1]),
            ("mapping batch size", FUNCTION.batch_size, lambda: mapping()["BatchSize"]),
            (
                "mapping response types",
                list(FUNCTION.function_response_types),
                lambda: mapping()["FunctionResponseTypes"],
            ),
            ("log retention [days]", settings.log_retention_days, lambda: _retention(settings, settings.log_group)),
        ],
    )


def _retention(settings: Settings, group: str) -> Any:
    groups = client("logs", settings).describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    return next(g.get("retentionInDays") for g in groups if g["logGroupName"] == group)


def aggregator_checks(settings: Settings) -> list[Check]:
    """The rollups function and, on AWS, its mapping on the readings stream (the local runtime plays the mapping:
    moto would call the function on every write)."""
    awslambda = client("lambda", settings)
    name = settings.aggregator_function_name

    def config() -> dict[str, Any]:
        return awslambda.get_function_configuration(FunctionName=name)

    pairs: list[tuple[str, Any, Callable[[], Any]]] = [
        ("runtime", FUNCTION.runtime, lambda: config()["Runtime"]),
        ("handler", AGGREGATOR.handler, lambda: config()["Handler"]),
        ("timeout [s]", AGGREGATOR.timeout_s, lambda: config()["Timeout"]),
        ("memory [MB]", AGGREGATOR.memory_mb, lambda: config()["MemorySize"]),
        (
            "environment names",
            sorted(function_environment(settings, AGGREGATOR.environment_settings)),
            lambda: sorted(config()["Environment"]["Variables"]),
        ),
        (
            "log retention [days]",
            settings.log_retention_days,
            lambda: _retention(settings, settings.aggregator_log_group),
        ),
    ]
    if settings.target == "aws":

        def mapping() -> dict[str, Any]:
            return awslambda.list_event_source_mappings(FunctionName=name)["EventSourceMappings"][0]

        def destination() -> str:
            return mapping()["DestinationConfig"]["OnFailure"]["Destination"].rsplit(":", 1)[-1]

        pairs += [
            ("mapping source", f"{settings.readings_table} stream", lambda: _stream_table(mapping()["EventSourceArn"])),
            ("mapping batch size", AGGREGATOR.batch_size, lambda: mapping()["BatchSize"]),
            (
                "mapping batching window [s]",
                AGGREGATOR.batching_window_s,
                lambda: mapping()["MaximumBatchingWindowInSeconds"],
            ),
            ("mapping bisect on error", AGGREGATOR.bisect_on_error, lambda: mapping()["BisectBatchOnFunctionError"]),
            ("mapping retry attempts", AGGREGATOR.maximum_retry_attempts, lambda: mapping()["MaximumRetryAttempts"]),
            ("mapping record age [s]", AGGREGATOR.maximum_record_age_s, lambda: mapping()["MaximumRecordAgeInSeconds"]),
            ("mapping parallelization", AGGREGATOR.parallelization_factor, lambda: mapping()["ParallelizationFactor"]),
            ("mapping tumbling window [s]", AGGREGATOR.tumbling_window_s, lambda: mapping()["TumblingWindowInSeconds"]),
            (
                "mapping response types",
                list(AGGREGATOR.function_response_types),
                lambda: mapping()["FunctionResponseTypes"],
            ),
            ("mapping on-failure destination", settings.rollups_dead_letter_queue, destination),
        ]
    return _checks(f"lambda:{name}", pairs)


def _stream_table(arn: str) -> str:
    """``arn:aws:dynamodb:...:table/<name>/stream/<label>`` -> ``<name> stream``."""
    return f"{arn.split(':table/', 1)[-1].split('/', 1)[0]} stream"


def lake_checks(settings: Settings) -> list[Check]:
    """The Glue table over the lake, the Athena workgroup, and the compaction function and its schedule."""
    glue, athena = client("glue", settings), client("athena", settings)
    awslambda, events = client("lambda", settings), client("events", settings)
    expected_table, expected_group = glue_table_input(settings), workgroup_configuration(settings)
    name = settings.compaction_function

    def table() -> dict[str, Any]:
        return glue.get_table(DatabaseName=settings.glue_database, Name=LAKE.table)["Table"]

    def group() -> dict[str, Any]:
        return athena.get_work_group(WorkGroup=settings.athena_workgroup)["WorkGroup"]["Configuration"]

    def config() -> dict[str, Any]:
        return awslambda.get_function_configuration(FunctionName=name)

    def columns(found: list[dict[str, str]]) -> list[str]:
        return [f"{column['Name']} {column['Type']}" for column in found]

    def projection(parameters: dict[str, str]) -> dict[str, str]:
        return {k: v for k, v in parameters.items() if k.startswith(("projection.", "storage."))}

    def schedule() -> str:
        rule = events.describe_rule(Name=name)
        targets = events.list_targets_by_rule(Rule=name)["Targets"]
        return f"{rule['ScheduleExpression']} {rule['State']} -> {[t['Arn'].rsplit(':', 1)[-1] for t in targets]}"

    results = expected_group["ResultConfiguration"]
    return (
        _checks(
            f"glue:{settings.glue_database}.{LAKE.table}",
            [
                (
                    "location",
                    expected_table["StorageDescriptor"]["Location"],
                    lambda: table()["StorageDescriptor"]["Location"],
                ),
                (
                    "columns",
                    columns(expected_table["StorageDescriptor"]["Columns"]),
                    lambda: columns(table()["StorageDescriptor"]["Columns"]),
                ),
                ("partition", columns(expected_table["PartitionKeys"]), lambda: columns(table()["PartitionKeys"])),
                (
                    "partition projection",
                    projection(expected_table["Parameters"]),
                    lambda: projection(table()["Parameters"]),
                ),
            ],
        )
        + _checks(
            f"athena:{settings.athena_workgroup}",
            [
                (
                    "results location",
                    results["OutputLocation"],
                    lambda: group()["ResultConfiguration"]["OutputLocation"],
                ),
                (
                    "results encryption",
                    LAKE.results_encryption,
                    lambda: group()["ResultConfiguration"]["EncryptionConfiguration"]["EncryptionOption"],
                ),
                ("enforced", True, lambda: group()["EnforceWorkGroupConfiguration"]),
                ("bytes scanned limit", LAKE.bytes_scanned_cutoff, lambda: group()["BytesScannedCutoffPerQuery"]),
            ],
        )
        + _checks(
            f"lambda:{name}",
            [
                ("runtime", COMPACTION.runtime, lambda: config()["Runtime"]),
                ("handler", COMPACTION.handler, lambda: config()["Handler"]),
                ("timeout [s]", COMPACTION.timeout_s, lambda: config()["Timeout"]),
                ("memory [MB]", COMPACTION.memory_mb, lambda: config()["MemorySize"]),
                ("layer", [COMPACTION.layer], lambda: [layer["Arn"].split(":")[-2] for layer in config()["Layers"]]),
                (
                    "environment names",
                    sorted(function_environment(settings, COMPACTION.environment_settings)),
                    lambda: sorted(config()["Environment"]["Variables"]),
                ),
                ("schedule", f"{COMPACTION.schedule} ENABLED -> {[name]}", schedule),
                (
                    "log retention [days]",
                    settings.log_retention_days,
                    lambda: _retention(settings, f"/aws/lambda/{name}"),
                ),
            ],
        )
    )


def run(settings: Settings) -> list[Check]:
    """Every provisioning check, in a stable order."""
    return [
        *bucket_checks(settings),
        *queue_checks(settings),
        *table_checks(settings),
        *alert_checks(settings),
        *function_checks(settings),
        *aggregator_checks(settings),
        *lake_checks(settings),
    ]


_MESSAGE_CHARS = 200  # of a failed check's actual value in the ChecksFailed message; the table has all of it


def assert_passed(checks: list[Check]) -> None:
    """Raise :class:`ChecksFailed` when any check failed, naming how many and the first one.

    The message is one short line, ``3 of 41 checks failed; first: <resource> <setting>: <actual>
    (expected <expected>)``; the table from :func:`energy_lib.workbook.notebook.views.check_table`
    has every check in full.
    """
    failed = [c for c in checks if not c.passed]
    if failed:
        first = failed[0]
        actual = first.actual if len(first.actual) <= _MESSAGE_CHARS else first.actual[: _MESSAGE_CHARS - 1] + "…"
        raise ChecksFailed(
            f"{len(failed)} of {len(checks)} checks failed; first: {first.resource} {first.setting}: {actual} "
            f"(expected {first.expected})"
        )


def verdict(results: list[Check]) -> str:
    """``"40 passed, 1 failed"``."""
    failed = sum(not check.passed for check in results)
    return f"{len(results) - failed} passed, {failed} failed"
