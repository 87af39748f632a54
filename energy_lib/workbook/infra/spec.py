"""What the pipeline's infrastructure is, as data: one spec for the local provisioner, the provisioning
checks and the Terraform parity test.

Names come from :class:`~energy_lib.config.Settings`; everything else (settings of the bucket, queues,
tables, function, topic) is fixed here. ``terraform/`` must declare the same values; a test parses it
and compares.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from energy_lib import lake
from energy_lib.checkpoints import PREFIX as CHECKPOINT_PREFIX
from energy_lib.schema import TABLES, Table
from energy_lib.validation import EARLIEST, LATEST

# Measured (tests/benchmarks/test_handler_memory.py, docs/ingest-function.md): the handler's peak
# memory is flat in the file's size (81 to 84 MiB from 10k to 1M readings), so memory is chosen for the CPU share
# it buys (Lambda gives 1 vCPU at 1769 MB): the Python side spends about 0.28 ms of CPU a reading, so at 1024 MB
# (0.58 vCPU) an invocation of 60 s reads about 70,000 readings and a 1M-reading file finishes in about 15
# checkpointed invocations, at about the GB-seconds per reading that 256 MB would spend in some 45.
FUNCTION_TIMEOUT_S = 60
FUNCTION_MEMORY_MB = 1024
# /tmp holds the file's duplicates database: measured 1.05 to 1.20 bytes per decompressed byte of the smallest
# readings a file can hold (CSV, 1- to 128-character site ids), so a file at the size limit (512 MiB) needs at
# most 670 MB; a full disk quarantines the file (too_large), never crashes the worker
SEEN_DB_BYTES_PER_INPUT_BYTE = 1.25
FUNCTION_EPHEMERAL_STORAGE_MB = 1024
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
    # the duplicates databases of files being read (energy_lib.checkpoints): a file's is deleted when it is done;
    # one that never finished outlives its message in the ingest queue (4 days) by a day, its earlier copies a day
    checkpoint_prefix: str = CHECKPOINT_PREFIX
    checkpoint_expiry_days: int = 5
    checkpoint_noncurrent_expiry_days: int = 1
    # lifecycle rule ids; the lake's rules keep its rewritten day files and Athena's results from piling up
    lifecycle_rules: tuple[str, ...] = (
        "expire-quarantine",
        "expire-old-versions",
        "expire-old-lake-versions",
        "expire-athena-results",
        "expire-checkpoints",
    )


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
    memory_mb: int = FUNCTION_MEMORY_MB
    ephemeral_storage_mb: int = FUNCTION_EPHEMERAL_STORAGE_MB
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
        "max_decompressed_bytes",
        "max_record_bytes",
        "max_depth",
        "readings_ttl_days",
    )


@dataclass(frozen=True, slots=True)
class AggregatorSpec:
    """The rollups function (lambda/aggregator.py, same zip) and its mapping on the readings table's stream."""

    handler: str = "aggregator.handler"
    timeout_s: int = 120
    memory_mb: int = 256
    # the bucket and lake prefix: it writes each batch as the history lake's change objects
    environment_settings: tuple[str, ...] = ("target", "region", "rollups_table", "bucket", "lake_prefix")
    batch_size: int = 1000
    batching_window_s: int = 10
    starting_position: str = "TRIM_HORIZON"  # every record since the stream was enabled
    bisect_on_error: bool = True
    maximum_retry_attempts: int = 10
    # below the stream's 24-hour retention: a batch that keeps failing reaches the dead-letter queue before
    # DynamoDB drops its records
    maximum_record_age_s: int = DAY_S // 2
    parallelization_factor: int = 1  # one invocation per shard at a time: each site's records in order
    # the rollups are written once per window: a site's three items (hour, day, all time) take in the window's
    # readings of the site in one write each (three readings at 5-minute intervals: 1 write unit a reading);
    # the rollups trail the readings by up to this much
    tumbling_window_s: int = 900
    function_response_types: tuple[str, ...] = ("ReportBatchItemFailures",)


@dataclass(frozen=True, slots=True)
class TableSpec:
    billing_mode: str = "PAY_PER_REQUEST"
    point_in_time_recovery: bool = True
    server_side_encryption: bool = True
    tables: tuple[Table, ...] = TABLES
    # their time to live is on while Settings.readings_ttl_days (Terraform's readings_ttl_days) is not 0
    hot_window_tables: tuple[str, ...] = ("readings_table", "ledger_table")


@dataclass(frozen=True, slots=True)
class LakeSpec:
    """The history lake: Parquet under ``lake/readings/``, a Glue table over it, an Athena workgroup."""

    table: str = lake.TABLE
    columns: tuple[tuple[str, str], ...] = lake.COLUMNS
    partition: tuple[str, str] = lake.PARTITION
    # partition projection over the days the pipeline keeps (no crawler, no partitions to register)
    projection_range: str = f"{EARLIEST:%Y-%m-%d},{LATEST - timedelta(days=1):%Y-%m-%d}"
    projection_format: str = "yyyy-MM-dd"
    results_prefix: str = "athena-results/"
    results_encryption: str = "SSE_S3"
    results_expiry_days: int = 7
    bytes_scanned_cutoff: int = 10 * 1024**3  # per query: at most 10 GiB scanned, 5 cents at list price
    noncurrent_expiry_days: int = 1  # each compaction rewrites a day file; old versions go after a day
    engine_version: str = "Athena engine version 3"


@dataclass(frozen=True, slots=True)
class CompactionSpec:
    """The compaction job: a function with AWS's managed pandas layer (pyarrow), run on a schedule."""

    runtime: str = "python3.11"
    handler: str = "compaction.handler"  # lambda/compaction.py at the zip's root
    layer: str = "AWSSDKPandas-Python311"  # AWS SDK for pandas: pyarrow, pandas, numpy
    timeout_s: int = 300
    memory_mb: int = 1024
    reserved_concurrency: int = 1  # runs never overlap (conditional writes guard them anyway)
    schedule: str = "rate(5 minutes)"
    period_s: int = 300  # of the schedule
    local_period_s: float = 2.0  # the local stack runs the same job this often
    environment_settings: tuple[str, ...] = (
        "target",
        "region",
        "bucket",
        "raw_prefix",
        "quarantine_prefix",
        "lake_prefix",
        "readings_table",  # corrections (energy_lib.corrections) go to the readings table
    )


BUCKET = BucketSpec()
QUEUE = QueueSpec()
FUNCTION = FunctionSpec()
AGGREGATOR = AggregatorSpec()
TABLE = TableSpec()
LAKE = LakeSpec()
COMPACTION = CompactionSpec()
# From a stored reading to the lake on AWS while the functions succeed: the stream's batching window and the
# aggregator's run (it writes the change object), then at most one schedule period until the next compaction
# run starts and that run's timeout: 730 s, so 13 minutes.
LAKE_DELAY_BOUND_MIN = -(
    -(AGGREGATOR.batching_window_s + AGGREGATOR.timeout_s + COMPACTION.period_s + COMPACTION.timeout_s) // 60
)
# From a stored reading to the rollups on AWS while the aggregator succeeds: the batching window, the tumbling
# window it waits in, and the final invocation's run: 1,030 s, so 18 minutes (locally seconds: the stream's
# player ends a window as soon as the stream is idle)
ROLLUPS_DELAY_BOUND_MIN = -(-(AGGREGATOR.batching_window_s + AGGREGATOR.tumbling_window_s + AGGREGATOR.timeout_s) // 60)
