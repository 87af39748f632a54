"""Create in the local stack every resource that ``terraform/`` declares for AWS, from the shared spec.

Idempotent: running it again on a provisioned stack changes nothing. The two Lambda functions are created
as records of configuration: moto cannot run the code without Docker, so the local runtime plays their
event source mappings (:mod:`energy_lib.workbook.local.runtime`, :mod:`energy_lib.workbook.local.stream`).
The ingest queue's mapping is created disabled, so that moto never invokes the function; the stream's mapping
is not created at all, because moto invokes a DynamoDB stream's function on every write, enabled or not. The
TLS-only bucket policy is the other setting left out locally (see :func:`tls_only_policy`).
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from energy_lib.clients import client
from energy_lib.config import LOCAL_ACCOUNT_ID, Settings
from energy_lib.schema import TABLES, Table
from energy_lib.workbook.infra.configuration import (
    function_environment,
    glue_table_input,
    time_to_live,
    workgroup_configuration,
)
from energy_lib.workbook.infra.lambda_build import build_zip_bytes, compaction_members
from energy_lib.workbook.infra.spec import AGGREGATOR, BUCKET, COMPACTION, FUNCTION, LAKE, QUEUE, TABLE

ROLE_NAME = "energy-workbook-ingest-local"
AGGREGATOR_ROLE_NAME = "energy-workbook-rollups-local"
COMPACTION_ROLE_NAME = "energy-workbook-compaction-local"


def queue_arn(settings: Settings, name: str) -> str:
    return f"arn:aws:sqs:{settings.region}:{LOCAL_ACCOUNT_ID}:{name}"


def provision(settings: Settings) -> None:
    """Create (or leave as they are) every resource of the pipeline on the local target; the lake's Glue table is
    brought up to date (columns added since it was created)."""
    if settings.target != "local":
        raise ValueError("provision() creates resources on the local target only; AWS uses terraform/")
    _queues(settings)
    _bucket(settings)
    _tables(settings)
    _alerts(settings)
    _function(settings)
    _lake(settings)


def _queue_attributes(retention_s: int, **more: str) -> dict[str, str]:
    """CreateQueue attributes: retention, the spec's encryption, and ``more``."""
    encryption = {"SqsManagedSseEnabled": str(QUEUE.managed_encryption).lower()}
    return {"MessageRetentionPeriod": str(retention_s), **encryption, **more}


def _queues(settings: Settings) -> None:
    sqs = client("sqs", settings)
    dlq_url = sqs.create_queue(
        QueueName=settings.dead_letter_queue, Attributes=_queue_attributes(QUEUE.dead_letter_retention_s)
    )["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    ingest_arn = queue_arn(settings, settings.ingest_queue)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "OnlyOurBucketSends",
                "Effect": "Allow",
                "Principal": {"Service": "s3.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": ingest_arn,
                "Condition": {
                    "ArnEquals": {"aws:SourceArn": f"arn:aws:s3:::{settings.bucket}"},
                    "StringEquals": {"aws:SourceAccount": LOCAL_ACCOUNT_ID},
                },
            }
        ],
    }
    sqs.create_queue(
        QueueName=settings.ingest_queue,
        Attributes=_queue_attributes(
            QUEUE.message_retention_s,
            VisibilityTimeout=str(QUEUE.visibility_timeout_s),
            RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": settings.max_receive_count}),
            Policy=json.dumps(policy),
        ),
    )
    sqs.create_queue(
        QueueName=settings.rollups_dead_letter_queue,
        Attributes=_queue_attributes(QUEUE.rollups_dead_letter_retention_s),
    )
    sqs.create_queue(QueueName=settings.alerts_queue, Attributes=_queue_attributes(QUEUE.alerts_retention_s))


def _bucket(settings: Settings) -> None:
    s3 = client("s3", settings)
    request: dict[str, Any] = {"Bucket": settings.bucket}
    if settings.region != "us-east-1":
        request["CreateBucketConfiguration"] = {"LocationConstraint": settings.region}
    try:
        s3.create_bucket(**request)
    except ClientError as error:
        if error.response["Error"]["Code"] != "BucketAlreadyOwnedByYou":
            raise
    bucket = settings.bucket
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": BUCKET.versioning})
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": BUCKET.encryption}}]
        },
    )
    s3.put_public_access_block(
        Bucket=bucket, PublicAccessBlockConfiguration={flag: True for flag in BUCKET.public_access_block}
    )
    s3.put_bucket_ownership_controls(
        Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": BUCKET.object_ownership}]}
    )
    s3.put_bucket_lifecycle_configuration(
        Bucket=bucket,
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": "expire-quarantine",
                    "Status": "Enabled",
                    "Filter": {"Prefix": settings.quarantine_prefix},
                    "Expiration": {"Days": BUCKET.quarantine_expiry_days},
                },
                {
                    "ID": "expire-checkpoints",
                    "Status": "Enabled",
                    "Filter": {"Prefix": BUCKET.checkpoint_prefix},
                    "Expiration": {"Days": BUCKET.checkpoint_expiry_days},
                    "NoncurrentVersionExpiration": {"NoncurrentDays": BUCKET.checkpoint_noncurrent_expiry_days},
                },
                {
                    "ID": "expire-old-versions",
                    "Status": "Enabled",
                    "Filter": {"Prefix": ""},
                    "NoncurrentVersionExpiration": {"NoncurrentDays": BUCKET.noncurrent_version_expiry_days},
                },
                {
                    "ID": "expire-old-lake-versions",
                    "Status": "Enabled",
                    "Filter": {"Prefix": settings.lake_prefix},
                    "NoncurrentVersionExpiration": {"NoncurrentDays": LAKE.noncurrent_expiry_days},
                },
                {
                    "ID": "expire-athena-results",
                    "Status": "Enabled",
                    "Filter": {"Prefix": LAKE.results_prefix},
                    "Expiration": {"Days": LAKE.results_expiry_days},
                },
            ]
        },
    )
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "Id": "raw-objects-to-ingest-queue",
                    "QueueArn": queue_arn(settings, settings.ingest_queue),
                    "Events": list(BUCKET.notification_events),
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": settings.raw_prefix}]}},
                }
            ]
        },
    )


def table_request(name: str, table: Table) -> dict[str, Any]:
    """The CreateTable request for ``table`` under ``name``."""
    request: dict[str, Any] = {
        "TableName": name,
        "BillingMode": TABLE.billing_mode,
        "AttributeDefinitions": [{"AttributeName": a, "AttributeType": t} for a, t in table.attributes().items()],
        "KeySchema": [
            {"AttributeName": table.partition_key, "KeyType": "HASH"},
            {"AttributeName": table.sort_key, "KeyType": "RANGE"},
        ],
        "SSESpecification": {"Enabled": TABLE.server_side_encryption},
    }
    if table.stream_view_type:
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": table.stream_view_type}
    if table.indexes:
        request["GlobalSecondaryIndexes"] = [
            {
                "IndexName": index.name,
                "KeySchema": [
                    {"AttributeName": index.partition_key, "KeyType": "HASH"},
                    {"AttributeName": index.sort_key, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
            for index in table.indexes
        ]
    return request


def _tables(settings: Settings) -> None:
    dynamodb = client("dynamodb", settings)
    existing = set(dynamodb.list_tables()["TableNames"])
    for table in TABLES:
        name = getattr(settings, table.setting)
        if name not in existing:
            dynamodb.create_table(**table_request(name, table))
        dynamodb.update_continuous_backups(
            TableName=name,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": TABLE.point_in_time_recovery},
        )
        attribute = time_to_live(settings, table)
        if attribute:
            dynamodb.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute}
            )


def _alerts(settings: Settings) -> None:
    sns = client("sns", settings)
    topic_arn = sns.create_topic(Name=settings.alerts_topic, Attributes={"KmsMasterKeyId": "alias/aws/sns"})["TopicArn"]
    endpoint = queue_arn(settings, settings.alerts_queue)
    subscribed = {s["Endpoint"] for s in sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]}
    if endpoint not in subscribed:
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=endpoint)
    for group in (settings.log_group, settings.aggregator_log_group):
        _log_group(settings, group)


def _log_group(settings: Settings, name: str) -> None:
    logs = client("logs", settings)
    groups = logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    if not any(group["logGroupName"] == name for group in groups):
        logs.create_log_group(logGroupName=name)
    logs.put_retention_policy(logGroupName=name, retentionInDays=settings.log_retention_days)


def _role(name: str, settings: Settings) -> str:
    """The ARN of a role Lambda may assume, created when missing."""
    iam = client("iam", settings)
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    try:
        return iam.get_role(RoleName=name)["Role"]["Arn"]
    except ClientError:
        return iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]


def _function(settings: Settings) -> None:
    awslambda = client("lambda", settings)
    functions = (
        (
            settings.function_name,
            ROLE_NAME,
            FUNCTION.handler,
            FUNCTION.timeout_s,
            FUNCTION.memory_mb,
            FUNCTION.environment_settings,
        ),
        (
            settings.aggregator_function_name,
            AGGREGATOR_ROLE_NAME,
            AGGREGATOR.handler,
            AGGREGATOR.timeout_s,
            AGGREGATOR.memory_mb,
            AGGREGATOR.environment_settings,
        ),
    )
    for name, role, handler, timeout_s, memory_mb, environment in functions:
        try:
            awslambda.get_function(FunctionName=name)
        except ClientError:
            awslambda.create_function(
                FunctionName=name,
                Runtime=FUNCTION.runtime,
                Handler=handler,
                Role=_role(role, settings),
                Code={"ZipFile": build_zip_bytes()},
                Timeout=timeout_s,
                MemorySize=memory_mb,
                EphemeralStorage={"Size": FUNCTION.ephemeral_storage_mb},
                Environment={"Variables": function_environment(settings, environment)},
            )
            if name == settings.function_name:
                awslambda.put_function_concurrency(
                    FunctionName=name, ReservedConcurrentExecutions=FUNCTION.reserved_concurrency
                )
    mappings = awslambda.list_event_source_mappings(FunctionName=settings.function_name)["EventSourceMappings"]
    if not mappings:
        awslambda.create_event_source_mapping(
            EventSourceArn=queue_arn(settings, settings.ingest_queue),
            FunctionName=settings.function_name,
            BatchSize=FUNCTION.batch_size,
            MaximumBatchingWindowInSeconds=FUNCTION.batching_window_s,
            FunctionResponseTypes=list(FUNCTION.function_response_types),
            Enabled=False,  # the local runtime plays this mapping; moto must not invoke the function
        )


def _lake(settings: Settings) -> None:
    glue = client("glue", settings)
    try:
        glue.create_database(DatabaseInput={"Name": settings.glue_database})
    except ClientError as error:
        if error.response["Error"]["Code"] != "AlreadyExistsException":
            raise
    try:
        glue.create_table(DatabaseName=settings.glue_database, TableInput=glue_table_input(settings))
    except ClientError as error:
        if error.response["Error"]["Code"] != "AlreadyExistsException":
            raise
        glue.update_table(DatabaseName=settings.glue_database, TableInput=glue_table_input(settings))  # new columns
    athena = client("athena", settings)
    if settings.athena_workgroup not in {group["Name"] for group in athena.list_work_groups()["WorkGroups"]}:
        athena.create_work_group(Name=settings.athena_workgroup, Configuration=workgroup_configuration(settings))
    _compaction_function(settings)


def _compaction_function(settings: Settings) -> None:
    """The compaction function, its layer, schedule and log group, as records: the stack's process runs the job."""
    awslambda = client("lambda", settings)
    try:
        awslambda.get_function(FunctionName=settings.compaction_function)
    except ClientError:
        layers = awslambda.list_layer_versions(LayerName=COMPACTION.layer)["LayerVersions"]
        layer_arn = (
            layers[0]["LayerVersionArn"]
            if layers
            else awslambda.publish_layer_version(  # a record standing for AWS's managed layer
                LayerName=COMPACTION.layer,
                Content={"ZipFile": build_zip_bytes([])},
                CompatibleRuntimes=[COMPACTION.runtime],
            )["LayerVersionArn"]
        )
        awslambda.create_function(
            FunctionName=settings.compaction_function,
            Runtime=COMPACTION.runtime,
            Handler=COMPACTION.handler,
            Role=_role(COMPACTION_ROLE_NAME, settings),
            Code={"ZipFile": build_zip_bytes(compaction_members())},
            Timeout=COMPACTION.timeout_s,
            MemorySize=COMPACTION.memory_mb,
            Layers=[layer_arn],
            Environment={"Variables": function_environment(settings, COMPACTION.environment_settings)},
        )
        awslambda.put_function_concurrency(
            FunctionName=settings.compaction_function, ReservedConcurrentExecutions=COMPACTION.reserved_concurrency
        )
    function_arn = awslambda.get_function(FunctionName=settings.compaction_function)["Configuration"]["FunctionArn"]
    events = client("events", settings)
    events.put_rule(Name=settings.compaction_function, ScheduleExpression=COMPACTION.schedule, State="ENABLED")
    events.put_targets(Rule=settings.compaction_function, Targets=[{"Id": "compaction", "Arn": function_arn}])
    _log_group(settings, f"/aws/lambda/{settings.compaction_function}")
