# The history lake: Parquet under lake/readings/day=YYYY-MM-DD/ in the data bucket, a Glue table over it
# with partition projection (no crawler, no partitions to register), an Athena workgroup with encrypted
# results and a bytes-scanned limit, and the compaction function that folds the stream's change objects
# (lake/changes/) into the day files every five minutes.

resource "aws_glue_catalog_database" "lake" {
  name        = local.glue_database_name
  description = "${local.name}: history of every stored reading (energy_lib.lake)"
}

resource "aws_glue_catalog_table" "readings" {
  name          = local.lake_table
  database_name = aws_glue_catalog_database.lake.name
  description   = "Stored readings, one Parquet file per UTC day; kWh as decimal(38,9), exact"
  table_type    = "EXTERNAL_TABLE"

  parameters = {
    "classification"               = "parquet"
    "EXTERNAL"                     = "TRUE"
    "projection.enabled"           = "true"
    "projection.day.type"          = "date"
    "projection.day.format"        = "yyyy-MM-dd"
    "projection.day.range"         = local.lake_projection_range
    "projection.day.interval"      = "1"
    "projection.day.interval.unit" = "DAYS"
    "storage.location.template"    = "${local.lake_readings_location}day=$${day}/"
  }

  partition_keys {
    name = "day"
    type = "string"
  }

  storage_descriptor {
    location      = local.lake_readings_location
    input_format  = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"

    ser_de_info {
      serialization_library = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
    }

    dynamic "columns" {
      for_each = local.lake_columns
      content {
        name = columns.value[0]
        type = columns.value[1]
      }
    }
  }
}

resource "aws_athena_workgroup" "lake" {
  name          = local.athena_workgroup_name
  description   = "Queries of the history lake (energy-workbook lake sql, the history notebook)"
  force_destroy = var.force_destroy

  configuration {
    enforce_workgroup_configuration    = true
    publish_cloudwatch_metrics_enabled = true
    bytes_scanned_cutoff_per_query     = local.athena_bytes_scanned_cutoff

    engine_version {
      selected_engine_version = "Athena engine version 3"
    }

    result_configuration {
      output_location = "s3://${aws_s3_bucket.data.id}/${local.athena_results_prefix}"

      encryption_configuration {
        encryption_option = "SSE_S3"
      }
    }
  }
}

# --- compaction ---------------------------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "compaction" {
  #checkov:skip=CKV_AWS_338:Retention is log_retention_days (30 by default), as for the ingest function: the logs are for debugging; the lake itself is the record.
  name              = local.compaction_log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.monitoring.arn
}

resource "aws_lambda_function" "compaction" {
  #checkov:skip=CKV_AWS_116:The schedule invokes it every five minutes and a failed run leaves its change objects for the next one; an on-failure DLQ would hold nothing to replay.
  #checkov:skip=CKV_AWS_117:It calls only the S3 public endpoint and holds no network resources; a VPC would need NAT or an endpoint and add no control.
  #checkov:skip=CKV_AWS_173:The environment holds the bucket name and prefixes, no secrets; Lambda encrypts it at rest with the AWS managed key.
  #checkov:skip=CKV_AWS_272:The zip is built and deployed by CI from reviewed source (deploy.yml); code signing would need an AWS Signer profile the project does not run.
  function_name                  = local.compaction_function_name
  description                    = "Fold the history lake's change objects into one Parquet file per UTC day"
  role                           = aws_iam_role.compaction.arn
  filename                       = local.compaction_zip
  source_code_hash               = filebase64sha256(local.compaction_zip)
  runtime                        = local.compaction_runtime
  handler                        = local.compaction_handler
  timeout                        = local.compaction_timeout_s
  memory_size                    = local.compaction_memory_mb
  reserved_concurrent_executions = local.compaction_reserved_concurrency
  layers                         = [local.pandas_layer_arn]

  # The ENERGY_* names of energy_lib.config.Settings for infra.spec.COMPACTION.environment_settings.
  environment {
    variables = {
      ENERGY_TARGET            = "aws"
      ENERGY_REGION            = var.aws_region
      ENERGY_BUCKET            = aws_s3_bucket.data.id
      ENERGY_RAW_PREFIX        = local.raw_prefix
      ENERGY_QUARANTINE_PREFIX = local.quarantine_prefix
      ENERGY_LAKE_PREFIX       = local.lake_prefix
      ENERGY_READINGS_TABLE    = aws_dynamodb_table.readings.name
    }
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.compaction.name
  }

  tracing_config {
    mode = "Active"
  }

  depends_on = [aws_iam_role_policy.compaction]
}

resource "aws_cloudwatch_event_rule" "compaction" {
  name                = local.compaction_function_name
  description         = "Run ${local.compaction_function_name}: a reading reaches the lake within 10 minutes"
  schedule_expression = local.compaction_schedule
}

resource "aws_cloudwatch_event_target" "compaction" {
  rule      = aws_cloudwatch_event_rule.compaction.name
  target_id = "compaction"
  arn       = aws_lambda_function.compaction.arn
}

resource "aws_lambda_permission" "compaction_schedule" {
  statement_id  = "AllowScheduleInvoke"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.compaction.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.compaction.arn
}
