# The ingest function: build/lambda.zip (handler.py at the root + the Lambda side of energy_lib), fed by
# the ingest queue in batches, reporting partial batch failures.

resource "aws_cloudwatch_log_group" "ingest" {
  #checkov:skip=CKV_AWS_338:Retention is log_retention_days (30 by default, infra.spec.FUNCTION): the logs are for debugging; readings, rollups and the ledger are the durable record.
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.monitoring.arn
}

resource "aws_lambda_function" "ingest" {
  #checkov:skip=CKV_AWS_116:The function is invoked synchronously by the SQS event source mapping; failed messages go to the ingest queue's dead-letter queue, an on-failure DLQ applies to asynchronous invocations only.
  #checkov:skip=CKV_AWS_117:It calls only S3, SQS, DynamoDB and SNS public endpoints and holds no network resources; a VPC would need NAT or four endpoints and add no control.
  #checkov:skip=CKV_AWS_173:The environment holds resource names and thresholds, no secrets; Lambda encrypts it at rest with the AWS managed key.
  #checkov:skip=CKV_AWS_272:The zip is built and deployed by CI from reviewed source (deploy.yml); code signing would need an AWS Signer profile the project does not run.
  function_name                  = local.function_name
  description                    = "Energy readings from S3 (via SQS) into DynamoDB, with anomaly alerts on SNS"
  role                           = aws_iam_role.ingest.arn
  filename                       = local.lambda_zip
  source_code_hash               = filebase64sha256(local.lambda_zip)
  runtime                        = local.function_runtime
  handler                        = local.function_handler
  timeout                        = local.function_timeout_s
  memory_size                    = local.function_memory_mb
  reserved_concurrent_executions = local.reserved_concurrency

  # The ENERGY_* names of energy_lib.config.Settings for infra.spec.FUNCTION.environment_settings.
  environment {
    variables = {
      ENERGY_TARGET                 = "aws"
      ENERGY_REGION                 = var.aws_region
      ENERGY_BUCKET                 = aws_s3_bucket.data.id
      ENERGY_RAW_PREFIX             = local.raw_prefix
      ENERGY_QUARANTINE_PREFIX      = local.quarantine_prefix
      ENERGY_READINGS_TABLE         = aws_dynamodb_table.readings.name
      ENERGY_LEDGER_TABLE           = aws_dynamodb_table.object_ledger.name
      ENERGY_ALERTS_TOPIC_ARN       = aws_sns_topic.anomalies.arn
      ENERGY_IMPLAUSIBLE_KWH        = tostring(var.implausible_kwh)
      ENERGY_SEVERITY_MEDIUM_KWH    = tostring(var.severity_medium_kwh)
      ENERGY_SEVERITY_HIGH_KWH      = tostring(var.severity_high_kwh)
      ENERGY_MAX_DECOMPRESSED_BYTES = tostring(var.max_decompressed_bytes)
      ENERGY_MAX_RECORD_BYTES       = tostring(var.max_record_bytes)
      ENERGY_MAX_DEPTH              = tostring(var.max_depth)
      ENERGY_READINGS_TTL_DAYS      = tostring(var.readings_ttl_days)
    }
  }

  ephemeral_storage {
    size = local.function_ephemeral_storage_mb
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.ingest.name
  }

  tracing_config {
    mode = "Active"
  }

  depends_on = [
    aws_iam_role_policy.ingest,
  ]
}

resource "aws_lambda_event_source_mapping" "ingest" {
  event_source_arn                   = aws_sqs_queue.ingest.arn
  function_name                      = aws_lambda_function.ingest.arn
  batch_size                         = local.batch_size
  maximum_batching_window_in_seconds = local.batching_window_s
  function_response_types            = local.function_response_types

  # Never more pollers than the function's reserved concurrency, so batches are not throttled back
  scaling_config {
    maximum_concurrency = local.reserved_concurrency
  }

  depends_on = [aws_iam_role_policy.ingest]
}
