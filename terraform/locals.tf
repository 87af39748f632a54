# Names and fixed settings shared by the other files.
#
# Names are derived from name_prefix and environment; the workbook reads them back from
# `terraform output -json` (energy_lib.config.TERRAFORM_OUTPUTS), so they need not match the local defaults.
# The fixed settings below are the values of energy_lib/workbook/infra/spec.py; the parity test
# (tests/unit/test_terraform_parity.py) fails when the two disagree.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  name       = "${var.name_prefix}-${var.environment}"

  bucket_name             = "${local.name}-data-${local.account_id}"
  access_logs_bucket_name = "${local.name}-access-logs-${local.account_id}"
  ingest_queue_name       = "${local.name}-ingest"
  dead_letter_queue_name  = "${local.name}-ingest-dlq"
  alerts_topic_name       = "${local.name}-anomalies"
  alerts_queue_name       = "${local.name}-alerts"
  ops_topic_name          = "${local.name}-ops"
  function_name           = "${local.name}-ingest"
  log_group_name          = "/aws/lambda/${local.function_name}"
  aggregator_name         = "${local.name}-rollups"
  aggregator_log_group    = "/aws/lambda/${local.aggregator_name}"
  rollups_dlq_name        = "${local.name}-rollups-dlq"
  readings_table_name     = "${local.name}-readings"
  rollups_table_name      = "${local.name}-rollups"
  ledger_table_name       = "${local.name}-object-ledger" # keyed by version id (the earlier ledger was by ETag)
  sites_table_name        = "${local.name}-sites"
  dashboard_name          = "${local.name}-pipeline"

  # The history lake (infra.spec.LAKE and COMPACTION): Glue and Athena names allow no hyphens in databases
  glue_database_name              = replace(local.name, "-", "_")
  athena_workgroup_name           = local.name
  compaction_function_name        = "${local.name}-compaction"
  compaction_log_group_name       = "/aws/lambda/${local.compaction_function_name}"
  lake_prefix                     = "lake/"
  lake_table                      = "readings"
  lake_readings_location          = "s3://${aws_s3_bucket.data.id}/${local.lake_prefix}readings/"
  lake_projection_range           = "2000-01-01,2199-12-31" # the days the pipeline keeps
  lake_noncurrent_expiry_days     = 1                       # each compaction rewrites a day file
  athena_results_prefix           = "athena-results/"
  athena_results_expiry_days      = 7
  athena_bytes_scanned_cutoff     = 10737418240 # 10 GiB a query, 5 cents at list price
  compaction_runtime              = "python3.11"
  compaction_handler              = "compaction.handler"
  compaction_timeout_s            = 300
  compaction_memory_mb            = 1024
  compaction_reserved_concurrency = 1 # runs never overlap
  compaction_schedule             = "rate(5 minutes)"
  compaction_zip                  = startswith(var.compaction_zip_path, "/") ? var.compaction_zip_path : "${path.module}/${var.compaction_zip_path}"
  # AWS's managed layer "AWS SDK for pandas" (pyarrow, pandas, numpy), published by AWS in every region
  pandas_layer_arn = "arn:${local.partition}:lambda:${var.aws_region}:336392948345:layer:AWSSDKPandas-Python311:${var.pandas_layer_version}"
  # (name, Glue type) of the lake's columns: energy_lib.lake.COLUMNS
  lake_columns = [
    ["site_id", "string"],
    ["timestamp", "timestamp"],
    ["energy_generated_kwh", "decimal(38,9)"],
    ["energy_consumed_kwh", "decimal(38,9)"],
    ["net_energy_kwh", "decimal(38,9)"],
    ["anomaly", "boolean"],
    ["anomaly_reasons", "array<string>"],
    ["severity", "string"],
    ["rounded", "array<string>"],
    ["source_key", "string"],
    ["ingested_at", "timestamp"],
    ["sequence_number", "string"],
  ]

  # Object key prefixes (Settings.raw_prefix, Settings.quarantine_prefix). Producers write under raw/.
  raw_prefix        = "raw/"
  quarantine_prefix = "quarantine/"
  checkpoint_prefix = "checkpoints/" # energy_lib.checkpoints.PREFIX: files' duplicates databases between invocations
  reports_prefix    = "reports/"     # Settings.reports_prefix: the scheduled reports' history and kept files

  # S3 (infra.spec.BUCKET)
  quarantine_expiry_days         = 90
  noncurrent_version_expiry_days = 30
  checkpoint_expiry_days         = 5 # a day longer than a message lives in the ingest queue
  checkpoint_noncurrent_days     = 1
  abort_incomplete_upload_days   = 7

  # SQS (infra.spec.QUEUE): visibility six times the function timeout, as AWS advises for SQS event sources
  function_timeout_s         = 60
  queue_visibility_timeout_s = 365     # 6 x 60 s + the 5 s batching window
  queue_retention_s          = 345600  # 4 days
  dead_letter_retention_s    = 1209600 # 14 days, the SQS maximum
  alerts_queue_retention_s   = 1209600 # the operations notebook reads alerts back for two weeks
  rollups_dlq_retention_s    = 1209600 # failed stream batches: time to rebuild the rollups

  # Lambda (infra.spec.FUNCTION)
  function_runtime = "python3.11"
  function_handler = "handler.handler"
  # Measured (tests/benchmarks/test_handler_memory.py): peak memory 81-84 MiB, flat from 10k to 1M readings;
  # 1024 MB buys 0.58 vCPU for ~0.28 ms of CPU a reading: ~70,000 readings an invocation of 60 s, a 1M-reading
  # file in about 15 checkpointed invocations (docs/ingest-function.md)
  function_memory_mb = 1024
  # /tmp holds the file's duplicates database: at most 1.25 bytes per decompressed byte (measured 1.05-1.20),
  # so 670 MB for a file at max_decompressed_bytes (512 MiB at most)
  function_ephemeral_storage_mb = 1024

  reserved_concurrency    = 5
  batch_size              = 10
  batching_window_s       = 5
  function_response_types = ["ReportBatchItemFailures"]
  # The rollups function (infra_spec.AGGREGATOR): same zip, its own entry point, fed by the readings stream
  aggregator_handler           = "aggregator.handler"
  aggregator_timeout_s         = 120
  aggregator_memory_mb         = 256
  stream_batch_size            = 1000
  stream_batching_window_s     = 10
  stream_starting_position     = "TRIM_HORIZON"
  stream_bisect_on_error       = true
  stream_retry_attempts        = 10
  stream_record_age_s          = 43200  # below the stream's 24 h: a failing batch reaches the DLQ before it expires
  stream_parallelization       = 1      # one invocation per shard at a time: each site's records in order
  stream_tumbling_window_s     = 900    # rollups written once per window: 1 write unit a reading at 5-minute data
  stream_iterator_age_alarm_ms = 600000 # 10 minutes behind the stream

  lambda_zip = startswith(var.lambda_zip_path, "/") ? var.lambda_zip_path : "${path.module}/${var.lambda_zip_path}"

  # SNS: severities in increasing order; email gets those at or above the threshold
  severities       = ["LOW", "MEDIUM", "HIGH", "CRITICAL"]
  alert_severities = slice(local.severities, index(local.severities, var.alert_severity_threshold), length(local.severities))
  email_kinds      = ["summary", "report_failed", "report_recovered"] # kinds email gets whatever their severity

  # Tables by Settings field; monitoring loops over them
  tables = {
    readings = local.readings_table_name
    rollups  = local.rollups_table_name
    ledger   = local.ledger_table_name
    sites    = local.sites_table_name
  }
}
