# What the workbook needs to find the deployment. `terraform output -json > terraform-outputs.json`
# and ENERGY_TERRAFORM_OUTPUTS=terraform-outputs.json point energy-workbook at it; the names below are
# energy_lib.config.TERRAFORM_OUTPUTS (the parity test checks every one is here).

output "region" {
  description = "AWS region of the deployment (Settings.region)."
  value       = var.aws_region
}

output "bucket" {
  description = "Data bucket: producers write under raw/, rejects land under quarantine/ (Settings.bucket)."
  value       = aws_s3_bucket.data.id
}

output "readings_table" {
  description = "DynamoDB table of readings, (site_id, timestamp) (Settings.readings_table)."
  value       = aws_dynamodb_table.readings.name
}

output "rollups_table" {
  description = "DynamoDB table of hourly and daily rollups, (bucket, site_id) (Settings.rollups_table)."
  value       = aws_dynamodb_table.rollups.name
}

output "ledger_table" {
  description = "DynamoDB ingest ledger, one entry per source object version and one head per key, (source_key, version_id) (Settings.ledger_table)."
  value       = aws_dynamodb_table.object_ledger.name
}

output "sites_table" {
  description = "DynamoDB site registry and site-health alert markers, (record, id) (Settings.sites_table)."
  value       = aws_dynamodb_table.sites.name
}

output "ingest_queue" {
  description = "Name of the SQS queue that receives the bucket's raw/ notifications (Settings.ingest_queue)."
  value       = aws_sqs_queue.ingest.name
}

output "dead_letter_queue" {
  description = "Name of the ingest queue's dead-letter queue (Settings.dead_letter_queue)."
  value       = aws_sqs_queue.dead_letter.name
}

output "rollups_dead_letter_queue" {
  description = "Name of the queue that receives the readings-stream batches the rollups function gave up (Settings.rollups_dead_letter_queue)."
  value       = aws_sqs_queue.rollups_dead_letter.name
}

output "alerts_topic" {
  description = "Name of the SNS anomaly topic (Settings.alerts_topic)."
  value       = aws_sns_topic.anomalies.name
}

output "alerts_topic_arn" {
  description = "ARN of the SNS anomaly topic (Settings.alerts_topic_arn)."
  value       = aws_sns_topic.anomalies.arn
}

output "alerts_queue" {
  description = "Name of the SQS queue subscribed to the anomaly topic, read by the operations notebook (Settings.alerts_queue)."
  value       = aws_sqs_queue.alerts.name
}

output "function_name" {
  description = "Name of the ingest Lambda function (Settings.function_name)."
  value       = aws_lambda_function.ingest.function_name
}

output "aggregator_function_name" {
  description = "Name of the rollups function, fed by the readings table's stream (Settings.aggregator_function_name)."
  value       = aws_lambda_function.aggregator.function_name
}

# Not read by the workbook; for people and scripts

output "log_group" {
  description = "CloudWatch log group of the ingest function."
  value       = aws_cloudwatch_log_group.ingest.name
}

output "aggregator_log_group" {
  description = "CloudWatch log group of the rollups function."
  value       = aws_cloudwatch_log_group.aggregator.name
}

output "ops_topic_arn" {
  description = "ARN of the SNS topic that receives the CloudWatch alarms."
  value       = aws_sns_topic.ops.arn
}

output "access_logs_bucket" {
  description = "Bucket that receives the data bucket's server access logs."
  value       = aws_s3_bucket.access_logs.id
}

output "dashboard_url" {
  description = "CloudWatch dashboard of the pipeline."
  value       = "https://${var.aws_region}.console.aws.amazon.com/cloudwatch/home?region=${var.aws_region}#dashboards/dashboard/${aws_cloudwatch_dashboard.pipeline.dashboard_name}"
}

output "max_receive_count" {
  description = "Deliveries of an ingest message before it moves to the dead-letter queue (Settings.max_receive_count)."
  value       = var.max_receive_count
}

output "log_retention_days" {
  description = "Days the function's log group keeps its logs (Settings.log_retention_days)."
  value       = var.log_retention_days
}

output "readings_ttl_days" {
  description = "The hot window: days DynamoDB keeps readings and ledger items; older ranges are read from the lake (Settings.readings_ttl_days; 0: kept forever)."
  value       = var.readings_ttl_days
}

output "glue_database" {
  description = "Glue database of the history lake; its table readings is the Parquet under lake/readings/ (Settings.glue_database)."
  value       = aws_glue_catalog_database.lake.name
}

output "athena_workgroup" {
  description = "Athena workgroup the workbook queries the lake in (Settings.athena_workgroup)."
  value       = aws_athena_workgroup.lake.name
}

output "compaction_function" {
  description = "Name of the function that folds the lake's change objects into day files (Settings.compaction_function)."
  value       = aws_lambda_function.compaction.function_name
}

output "lake_query_policy_arn" {
  description = "Managed policy that lets a role query the lake with Athena (attach it to the reports role and analysts)."
  value       = aws_iam_policy.lake_query.arn
}

output "report_runner_policy_arn" {
  description = "Managed policy that lets the report runner publish report alerts and keep its history and reports under reports/ (attach it to the reports role)."
  value       = aws_iam_policy.report_runner.arn
}
