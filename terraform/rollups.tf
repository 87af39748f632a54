# The rollups: the readings table's stream (new and old images) -> the rollups function (the same
# build/lambda.zip, entry point aggregator.py), which writes each batch as the history lake's change objects
# (lake/changes/, see lake.tf) and adds new - old of every record, once, to the site's hour, day and
# all-time rollups. Batches it gives up go to a dead-letter queue of their own.

resource "aws_sqs_queue" "rollups_dead_letter" {
  name                      = local.rollups_dlq_name
  message_retention_seconds = local.rollups_dlq_retention_s
  sqs_managed_sse_enabled   = true
}

resource "aws_cloudwatch_log_group" "aggregator" {
  #checkov:skip=CKV_AWS_338:Retention is log_retention_days (30 by default, as the ingest function's): the logs are for debugging; the rollups can be rebuilt from the readings.
  name              = local.aggregator_log_group
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.monitoring.arn
}

resource "aws_lambda_function" "aggregator" {
  #checkov:skip=CKV_AWS_115:One invocation per stream shard at a time (parallelization factor 1), so concurrency is bounded by the shards; reserving more would take it from the account pool for nothing.
  #checkov:skip=CKV_AWS_116:Invoked synchronously by the stream's event source mapping, whose on-failure destination is the rollups dead-letter queue; an on-failure DLQ applies to asynchronous invocations only.
  #checkov:skip=CKV_AWS_117:It calls only the DynamoDB, SQS and S3 public endpoints and holds no network resources; a VPC would need NAT or endpoints and add no control.
  #checkov:skip=CKV_AWS_173:The environment holds resource names only, no secrets; Lambda encrypts it at rest with the AWS managed key.
  #checkov:skip=CKV_AWS_272:The zip is built and deployed by CI from reviewed source (deploy.yml); code signing would need an AWS Signer profile the project does not run.
  function_name    = local.aggregator_name
  description      = "Energy rollups (per site: hour, day, all time) from the readings table's stream, each record once"
  role             = aws_iam_role.aggregator.arn
  filename         = local.lambda_zip
  source_code_hash = filebase64sha256(local.lambda_zip)
  runtime          = local.function_runtime
  handler          = local.aggregator_handler
  timeout          = local.aggregator_timeout_s
  memory_size      = local.aggregator_memory_mb

  # The ENERGY_* names of energy_lib.config.Settings for infra_spec.AGGREGATOR.environment_settings.
  environment {
    variables = {
      ENERGY_TARGET        = "aws"
      ENERGY_REGION        = var.aws_region
      ENERGY_ROLLUPS_TABLE = aws_dynamodb_table.rollups.name
      ENERGY_BUCKET        = aws_s3_bucket.data.id
      ENERGY_LAKE_PREFIX   = local.lake_prefix
    }
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.aggregator.name
  }

  tracing_config {
    mode = "Active"
  }

  depends_on = [aws_iam_role_policy.aggregator]
}

resource "aws_lambda_event_source_mapping" "aggregator" {
  event_source_arn                   = aws_dynamodb_table.readings.stream_arn
  function_name                      = aws_lambda_function.aggregator.arn
  starting_position                  = local.stream_starting_position
  batch_size                         = local.stream_batch_size
  maximum_batching_window_in_seconds = local.stream_batching_window_s
  bisect_batch_on_function_error     = local.stream_bisect_on_error
  maximum_retry_attempts             = local.stream_retry_attempts
  maximum_record_age_in_seconds      = local.stream_record_age_s
  parallelization_factor             = local.stream_parallelization
  tumbling_window_in_seconds         = local.stream_tumbling_window_s
  function_response_types            = local.function_response_types

  destination_config {
    on_failure {
      destination_arn = aws_sqs_queue.rollups_dead_letter.arn
    }
  }

  depends_on = [aws_iam_role_policy.aggregator]
}
