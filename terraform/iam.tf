# Who may do what. One aws_iam_policy_document per concern, scoped to exact ARNs; the function's role
# gets one inline policy per concern and no AWS managed policy. Resource policies (bucket, queues,
# topic, key) are here too, so every grant can be reviewed in one file.

# --- the function's role ------------------------------------------------------------------------

data "aws_iam_policy_document" "ingest_assume" {
  statement {
    sid     = "LambdaAssumesRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "ingest" {
  name               = "${local.function_name}-function"
  description        = "Execution role of ${local.function_name}"
  assume_role_policy = data.aws_iam_policy_document.ingest_assume.json
}

# Logs: write to its own log group only (the log group is created here, not by the function)
data "aws_iam_policy_document" "ingest_logs" {
  statement {
    sid       = "WriteOwnLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.ingest.arn}:*"]
  }
}

# Tracing: X-Ray accepts no resource-level scoping for these two actions
data "aws_iam_policy_document" "ingest_tracing" {
  statement {
    sid       = "SendTraces"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }
}

# Queue: consume the ingest queue (what the event source mapping needs)
data "aws_iam_policy_document" "ingest_queue_consumer" {
  statement {
    sid = "ConsumeIngestQueue"
    actions = [
      "sqs:ReceiveMessage",
      "sqs:DeleteMessage",
      "sqs:ChangeMessageVisibility",
      "sqs:GetQueueAttributes",
    ]
    resources = [aws_sqs_queue.ingest.arn]
  }

  # A file checkpointed before the invocation's time ran out is continued by a message to the same queue
  statement {
    sid       = "ContinueOnIngestQueue"
    actions   = ["sqs:GetQueueUrl", "sqs:SendMessage"]
    resources = [aws_sqs_queue.ingest.arn]
  }
}

# Bucket: read raw/, write quarantine/ (copies of rejected files, rejected lines, reasons), keep checkpoints/
data "aws_iam_policy_document" "ingest_bucket" {
  statement {
    sid       = "ReadRawObjects"
    actions   = ["s3:GetObject", "s3:GetObjectVersion"]
    resources = ["${aws_s3_bucket.data.arn}/${local.raw_prefix}*"]
  }

  statement {
    sid       = "WriteQuarantine"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.data.arn}/${local.quarantine_prefix}*"]
  }

  # The duplicates database of a file read over several invocations (energy_lib.checkpoints)
  statement {
    sid       = "KeepCheckpoints"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${aws_s3_bucket.data.arn}/${local.checkpoint_prefix}*"]
  }

  # Without ListBucket S3 answers 403 instead of 404 for an object deleted before it was processed, and
  # the pipeline could not tell a stale event (skipped) from a real failure (retried, then dead-lettered).
  statement {
    sid       = "TellMissingObjects"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.data.arn]
  }
}

# Tables: the ingest only writes. Readings with BatchWriteItem (no reads of old readings, no transactions);
# the ledger with conditional UpdateItem (claim, lease, outcome). Nothing on the rollups: the stream feeds them.
data "aws_iam_policy_document" "ingest_tables" {
  statement {
    sid       = "WriteReadings"
    actions   = ["dynamodb:BatchWriteItem"]
    resources = [aws_dynamodb_table.readings.arn]
  }

  statement {
    sid       = "KeepLedger"
    actions   = ["dynamodb:UpdateItem"]
    resources = [aws_dynamodb_table.object_ledger.arn]
  }
}

# Alerts: publish to the anomaly topic only
data "aws_iam_policy_document" "ingest_alerts" {
  statement {
    sid       = "PublishAnomalies"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.anomalies.arn]
  }
}

# One inline policy per concern on the function's role
resource "aws_iam_role_policy" "ingest" {
  for_each = {
    logs    = data.aws_iam_policy_document.ingest_logs.json
    tracing = data.aws_iam_policy_document.ingest_tracing.json
    queue   = data.aws_iam_policy_document.ingest_queue_consumer.json
    bucket  = data.aws_iam_policy_document.ingest_bucket.json
    tables  = data.aws_iam_policy_document.ingest_tables.json
    alerts  = data.aws_iam_policy_document.ingest_alerts.json
  }

  name   = each.key
  role   = aws_iam_role.ingest.id
  policy = each.value
}

# --- the rollups function's role -------------------------------------------------------------------

resource "aws_iam_role" "aggregator" {
  name               = "${local.aggregator_name}-function"
  description        = "Execution role of ${local.aggregator_name}"
  assume_role_policy = data.aws_iam_policy_document.ingest_assume.json
}

# Logs: write to its own log group only
data "aws_iam_policy_document" "aggregator_logs" {
  statement {
    sid       = "WriteOwnLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.aggregator.arn}:*"]
  }
}

# Stream: read exactly the readings table's stream (what the event source mapping needs). ListStreams is
# scoped to the table's streams, as AWS's own example policy for Lambda triggers does.
data "aws_iam_policy_document" "aggregator_stream" {
  statement {
    sid       = "ReadReadingsStream"
    actions   = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]
    resources = [aws_dynamodb_table.readings.stream_arn]
  }

  statement {
    sid       = "ListReadingsStreams"
    actions   = ["dynamodb:ListStreams"]
    resources = ["${aws_dynamodb_table.readings.arn}/stream/*"]
  }
}

# Rollups: read a batch's items (BatchGetItem) and write each back whole, conditional on its sequence (PutItem)
data "aws_iam_policy_document" "aggregator_rollups" {
  statement {
    sid       = "ReadAndWriteRollups"
    actions   = ["dynamodb:BatchGetItem", "dynamodb:PutItem"]
    resources = [aws_dynamodb_table.rollups.arn]
  }
}

# Dead letters: the mapping's on-failure destination sends with the function's role
data "aws_iam_policy_document" "aggregator_dead_letters" {
  statement {
    sid       = "SendGivenUpBatches"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.rollups_dead_letter.arn]
  }
}

# Lake: write each batch's change objects, under the lake's changes/ prefix and nowhere else
data "aws_iam_policy_document" "aggregator_lake" {
  statement {
    sid       = "WriteChangeObjects"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.data.arn}/${local.lake_prefix}changes/*"]
  }
}

resource "aws_iam_role_policy" "aggregator" {
  for_each = {
    logs         = data.aws_iam_policy_document.aggregator_logs.json
    tracing      = data.aws_iam_policy_document.ingest_tracing.json
    stream       = data.aws_iam_policy_document.aggregator_stream.json
    rollups      = data.aws_iam_policy_document.aggregator_rollups.json
    dead_letters = data.aws_iam_policy_document.aggregator_dead_letters.json
    lake         = data.aws_iam_policy_document.aggregator_lake.json
  }

  name   = each.key
  role   = aws_iam_role.aggregator.id
  policy = each.value
}

# --- the compaction function's role --------------------------------------------------------------

resource "aws_iam_role" "compaction" {
  name               = "${local.compaction_function_name}-function"
  description        = "Execution role of ${local.compaction_function_name}"
  assume_role_policy = data.aws_iam_policy_document.ingest_assume.json
}

data "aws_iam_policy_document" "compaction_logs" {
  statement {
    sid       = "WriteOwnLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.compaction.arn}:*"]
  }
}

# Lake: list and read the change objects, delete exactly the versions folded in; read and write the day files
data "aws_iam_policy_document" "compaction_lake" {
  statement {
    sid       = "ListLake"
    actions   = ["s3:ListBucket", "s3:ListBucketVersions"]
    resources = [aws_s3_bucket.data.arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${local.lake_prefix}*"]
    }
  }

  statement {
    sid       = "FoldChanges"
    actions   = ["s3:GetObject", "s3:GetObjectVersion", "s3:DeleteObjectVersion", "s3:DeleteObject"]
    resources = ["${aws_s3_bucket.data.arn}/${local.lake_prefix}changes/*"]
  }

  statement {
    sid       = "RewriteDayFiles"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = ["${aws_s3_bucket.data.arn}/${local.lake_prefix}readings/*"]
  }
}

# Corrections: a reading stored again after its item expired is counted twice by the rollups; compaction writes
# the item that takes the earlier value away (energy_lib/corrections.py), into the readings table, nothing else
data "aws_iam_policy_document" "compaction_corrections" {
  statement {
    sid       = "WriteCorrections"
    actions   = ["dynamodb:BatchWriteItem"]
    resources = [aws_dynamodb_table.readings.arn]
  }
}

resource "aws_iam_role_policy" "compaction" {
  for_each = {
    logs        = data.aws_iam_policy_document.compaction_logs.json
    tracing     = data.aws_iam_policy_document.ingest_tracing.json
    lake        = data.aws_iam_policy_document.compaction_lake.json
    corrections = data.aws_iam_policy_document.compaction_corrections.json
  }

  name   = each.key
  role   = aws_iam_role.compaction.id
  policy = each.value
}

# --- who queries the lake -------------------------------------------------------------------------

# Exactly what `energy-workbook lake sql` and the history notebook need on AWS: run queries in the lake's
# workgroup, read the Glue table, read the day files, write and read the workgroup's results.
data "aws_iam_policy_document" "lake_query" {
  statement {
    sid       = "RunQueriesInWorkgroup"
    actions   = ["athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults", "athena:StopQueryExecution", "athena:GetWorkGroup"]
    resources = [aws_athena_workgroup.lake.arn]
  }

  statement {
    sid     = "ReadLakeTable"
    actions = ["glue:GetDatabase", "glue:GetTable", "glue:GetPartition", "glue:GetPartitions"]
    resources = [
      "arn:${local.partition}:glue:${var.aws_region}:${local.account_id}:catalog",
      "arn:${local.partition}:glue:${var.aws_region}:${local.account_id}:database/${aws_glue_catalog_database.lake.name}",
      "arn:${local.partition}:glue:${var.aws_region}:${local.account_id}:table/${aws_glue_catalog_database.lake.name}/${aws_glue_catalog_table.readings.name}",
    ]
  }

  statement {
    sid       = "ListLakeAndResults"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = [aws_s3_bucket.data.arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${local.lake_prefix}readings/*", "${local.athena_results_prefix}*"]
    }
  }

  statement {
    sid       = "ReadDayFiles"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.data.arn}/${local.lake_prefix}readings/*"]
  }

  statement {
    sid       = "WriteAndReadResults"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]
    resources = ["${aws_s3_bucket.data.arn}/${local.athena_results_prefix}*"]
  }
}

resource "aws_iam_policy" "lake_query" {
  name        = "${local.name}-lake-query"
  description = "Query the history lake of ${local.name} with Athena"
  policy      = data.aws_iam_policy_document.lake_query.json
}

# Exactly what the report runner (`energy-workbook report due` in the scheduled workflow) writes on AWS: the alerts
# of failed and recovered reports to the alerts topic, and the run history (history.parquet) and each run's kept
# notebook, HTML and run.json under reports/ in the data bucket. Attach it to the reports role, with lake_query.
data "aws_iam_policy_document" "report_runner" {
  statement {
    sid       = "PublishReportAlerts"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.anomalies.arn]
  }

  # The history is read, then written back with If-Match its ETag (a conditional PutObject); upload_file of a
  # large HTML may go in parts
  statement {
    sid       = "KeepReportsAndHistory"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"]
    resources = ["${aws_s3_bucket.data.arn}/${local.reports_prefix}*"]
  }

  # Without ListBucket S3 answers 403 instead of 404 for the history before the first run has written it
  statement {
    sid       = "TellMissingHistory"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.data.arn]
  }
}

resource "aws_iam_policy" "report_runner" {
  name        = "${local.name}-report-runner"
  description = "Publish report alerts and keep the run history and reports of ${local.name}"
  policy      = data.aws_iam_policy_document.report_runner.json
}

# --- resource policies --------------------------------------------------------------------------

# Both buckets: TLS only; the access-log bucket also lets S3 deliver our data bucket's access logs
data "aws_iam_policy_document" "bucket" {
  for_each                = local.buckets
  source_policy_documents = each.key == "access_logs" ? [data.aws_iam_policy_document.access_log_delivery.json] : []

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [each.value.arn, "${each.value.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

data "aws_iam_policy_document" "access_log_delivery" {
  statement {
    sid       = "S3ServerAccessLogs"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.access_logs.arn}/${local.bucket_name}/*"]

    principals {
      type        = "Service"
      identifiers = ["logging.s3.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_s3_bucket.data.arn]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

# Ingest queue: only our bucket, in our account, may send
data "aws_iam_policy_document" "ingest_queue" {
  statement {
    sid       = "OnlyOurBucketSends"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.ingest.arn]

    principals {
      type        = "Service"
      identifiers = ["s3.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_s3_bucket.data.arn]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

# Alerts queue: only the anomaly topic may send
data "aws_iam_policy_document" "alerts_queue" {
  statement {
    sid       = "OnlyAnomalyTopicSends"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.alerts.arn]

    principals {
      type        = "Service"
      identifiers = ["sns.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_sns_topic.anomalies.arn]
    }
  }
}

# Operations topic: CloudWatch alarms of this account publish
data "aws_iam_policy_document" "ops_topic" {
  statement {
    sid       = "CloudWatchAlarmsPublish"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.ops.arn]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  statement {
    sid = "AccountManagesTopic"
    actions = [
      "sns:GetTopicAttributes",
      "sns:SetTopicAttributes",
      "sns:Subscribe",
      "sns:ListSubscriptionsByTopic",
      "sns:Publish",
    ]
    resources = [aws_sns_topic.ops.arn]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }
}

# Monitoring key: the account administers it (IAM decides who); CloudWatch uses it to publish alarms to
# the encrypted operations topic; CloudWatch Logs uses it for the functions' log groups only.
# In a key policy, resources "*" means this key.
data "aws_iam_policy_document" "monitoring_key" {
  #checkov:skip=CKV_AWS_109:Key policy: the account root statement is the standard delegation to IAM; "*" is this key, not every resource.
  #checkov:skip=CKV_AWS_111:Key policy: the account root statement is the standard delegation to IAM; "*" is this key, not every resource.
  #checkov:skip=CKV_AWS_356:Key policy: resources "*" in a key policy means the key the policy is attached to.
  statement {
    sid       = "AccountAdministersKey"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid       = "CloudWatchAlarmsPublishEncrypted"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    # only this account's alarms (no confused deputy through another account's CloudWatch)
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  statement {
    sid       = "LogsEncryptFunctionLogGroups"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${var.aws_region}.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values = [
        for group in [local.log_group_name, local.aggregator_log_group, local.compaction_log_group_name] :
        "arn:${local.partition}:logs:${var.aws_region}:${local.account_id}:log-group:${group}"
      ]
    }
  }
}
