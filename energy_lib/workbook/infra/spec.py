"""What the pipeline's infrastructure is, as data: one spec for the local provisioner, the provisioning
checks and the Terraform parity test.

Names come from :class:`~energy_lib.config.Settings`; everything else (settings of the bucket, queues,
tables, function, topic) is fixed here. ``terraform/`` must declare the same values; a test parses it
and compares.
"""

from __future__ import annotations

from dataclasses import dataclass

from energy_lib.schema import TABLES, Table

FUNCTION_TIMEOUT_S = 60
BATCHING_WINDOW_S = 5
DAY_S = 24 * 3600


@dataclass(frozen=True, slots=True)
class BucketSpec:
    versioning: str = "Enabled"
    encryption: str = "AES256"
    public_access_block: tuple[str, ...] = (
        "BlockPublicAcls",
        "IgnorePublicAcls",
        "BlockPublicPolicy",
        "RestrictPublicBuckets",
    )
    object_ownership: str = "BucketOwnerEnforced"
    notification_events: tuple[str, ...] = ("s3:ObjectCreated:*",)
    quarantine_expiry_days: int = 90
    noncurrent_version_expiry_days: int = 30


@dataclass(frozen=True, slots=True)
class QueueSpec:
    # AWS advice for SQS event sources: six times the function timeout plus the batching window
    visibility_timeout_s: int = 6 * FUNCTION_TIMEOUT_S + BATCHING_WINDOW_S
    message_retention_s: int = 4 * 24 * 3600
    dead_letter_retention_s: int = 14 * 24 * 3600
    alerts_retention_s: int = 14 * 24 * 3600  # the operations notebook reads alerts back for two weeks
    rollups_dead_letter_retention_s: int = 14 * 24 * 3600  # failed stream batches: time to rebuild the rollups
    # maxReceiveCount is a deployment choice: Settings.max_receive_count (Terraform's max_receive_count)
    managed_encryption: bool = True


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    runtime: str = "python3.11"
    handler: str = "handler.handler"  # lambda/handler.py at the zip's root
    timeout_s: int = FUNCTION_TIMEOUT_S
    memory_mb: int = 256
    reserved_concurrency: int = 5
    batch_size: int = 10
    batching_window_s: int = BATCHING_WINDOW_S
    function_response_types: tuple[str, ...] = ("ReportBatchItemFailures",)
    # log retention is a deployment choice: Settings.log_retention_days (Terraform's log_retention_days)
    # Settings fields the deployed function reads from ENERGY_* variables
    environment_settings: tuple[str, ...] = (
        "target",
        "region",
        "bucket",
        "raw_prefix",
        "quarantine_prefix",
        "readings_table",
        "ledger_table",
        "alerts_topic_arn",
        "implausible_kwh",
        "severity_medium_kwh",
        "severity_high_kwh",
    )


@dataclass(frozen=True, slots=True)
class AggregatorSpec:
    """The rollups function (lambda/aggregator.py, same zip) and its mapping on the readings table's stream."""

    handler: str = "aggregator.handler"
    timeout_s: int = 120
    memory_mb: int = 256
    environment_settings: tuple[str, ...] = ("target", "region", "rollups_table")
    batch_size: int = 1000
    batching_window_s: int = 10
    starting_position: str = "TRIM_HORIZON"  # every record since the stream was enabled
    bisect_on_error: bool = True
    maximum_retry_attempts: int = 10
    # below the stream's 24-hour retention: a batch that keeps failing reaches the dead-letter queue before
    # DynamoDB drops its records
    maximum_record_age_s: int = DAY_S // 2
    parallelization_factor: int = 1  # one invocation per shard at a time: each site's records in order
    function_response_types: tuple[str, ...] = ("ReportBatchItemFailures",)


@dataclass(frozen=True, slots=True)
class TableSpec:
    billing_mode: str = "PAY_PER_REQUEST"
    point_in_time_recovery: bool = True
    server_side_encryption: bool = True
    tables: tuple[Table, ...] = TABLES


BUCKET = BucketSpec()
QUEUE = QueueSpec()
FUNCTION = FunctionSpec()
AGGREGATOR = AggregatorSpec()
TABLE = TableSpec()
