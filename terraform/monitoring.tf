# Monitoring: CloudWatch alarms on the pipeline's failure signals, sent to an operations topic, and one
# dashboard for the whole pipeline.

resource "aws_sns_topic" "ops" {
  name              = local.ops_topic_name
  kms_master_key_id = aws_kms_key.monitoring.arn
}

resource "aws_sns_topic_policy" "ops" {
  arn    = aws_sns_topic.ops.arn
  policy = data.aws_iam_policy_document.ops_topic.json
}

resource "aws_sns_topic_subscription" "ops_email" {
  topic_arn = aws_sns_topic.ops.arn
  protocol  = "email"
  endpoint  = coalesce(var.ops_email, var.alert_email)
}

locals {
  alarm_period_s = 300
  alarm_actions  = [aws_sns_topic.ops.arn]
}

locals {
  # One alarm per failure signal: a metric above its threshold for the given number of periods.
  metric_alarms = {
    dead-letters = {
      description        = "Messages in ${local.dead_letter_queue_name}: objects failed ${var.max_receive_count} times. Inspect and redrive with the operations notebook."
      namespace          = "AWS/SQS"
      metric_name        = "ApproximateNumberOfMessagesVisible"
      dimensions         = { QueueName = aws_sqs_queue.dead_letter.name }
      statistic          = "Maximum"
      evaluation_periods = 1
      threshold          = 0
    }
    ingest-backlog = {
      description        = "The oldest message in ${local.ingest_queue_name} waited more than 15 minutes: the function is not keeping up or not running."
      namespace          = "AWS/SQS"
      metric_name        = "ApproximateAgeOfOldestMessage"
      dimensions         = { QueueName = aws_sqs_queue.ingest.name }
      statistic          = "Maximum"
      evaluation_periods = 3
      threshold          = 900
    }
    function-errors = {
      description        = "${local.function_name} failed invocations (unhandled errors or timeouts)."
      namespace          = "AWS/Lambda"
      metric_name        = "Errors"
      dimensions         = { FunctionName = aws_lambda_function.ingest.function_name }
      statistic          = "Sum"
      evaluation_periods = 1
      threshold          = 0
    }
    function-throttles = {
      description        = "${local.function_name} invocations throttled: reserved concurrency ${local.reserved_concurrency} is not enough."
      namespace          = "AWS/Lambda"
      metric_name        = "Throttles"
      dimensions         = { FunctionName = aws_lambda_function.ingest.function_name }
      statistic          = "Sum"
      evaluation_periods = 1
      threshold          = 0
    }
    rollups-iterator-age = {
      description        = "${local.aggregator_name} is more than ${local.stream_iterator_age_alarm_ms / 60000} minutes behind the readings stream: summaries lag the readings."
      namespace          = "AWS/Lambda"
      metric_name        = "IteratorAge"
      dimensions         = { FunctionName = aws_lambda_function.aggregator.function_name }
      statistic          = "Maximum"
      evaluation_periods = 2
      threshold          = local.stream_iterator_age_alarm_ms
    }
    rollups-errors = {
      description        = "${local.aggregator_name} failed invocations: stream batches are retried (bisected), then given up to ${local.rollups_dlq_name}."
      namespace          = "AWS/Lambda"
      metric_name        = "Errors"
      dimensions         = { FunctionName = aws_lambda_function.aggregator.function_name }
      statistic          = "Sum"
      evaluation_periods = 1
      threshold          = 0
    }
    compaction-errors = {
      description        = "${local.compaction_function_name} failed: the lake falls behind the readings table until a run succeeds (its change objects wait, nothing is lost)."
      namespace          = "AWS/Lambda"
      metric_name        = "Errors"
      dimensions         = { FunctionName = aws_lambda_function.compaction.function_name }
      statistic          = "Sum"
      evaluation_periods = 1
      threshold          = 0
    }
    rollups-dead-letters = {
      description        = "Stream batches in ${local.rollups_dlq_name}: the rollups missed their readings. Fix the cause, then run `energy-workbook ops rebuild-rollups`."
      namespace          = "AWS/SQS"
      metric_name        = "ApproximateNumberOfMessagesVisible"
      dimensions         = { QueueName = aws_sqs_queue.rollups_dead_letter.name }
      statistic          = "Maximum"
      evaluation_periods = 1
      threshold          = 0
    }
    alert-delivery-failures = {
      description        = "SNS could not deliver anomaly alerts from ${local.alerts_topic_name}."
      namespace          = "AWS/SNS"
      metric_name        = "NumberOfNotificationsFailed"
      dimensions         = { TopicName = aws_sns_topic.anomalies.name }
      statistic          = "Sum"
      evaluation_periods = 1
      threshold          = 0
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "metric" {
  for_each = local.metric_alarms

  alarm_name          = "${local.name}-${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric_name
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  period              = local.alarm_period_s
  evaluation_periods  = each.value.evaluation_periods
  comparison_operator = "GreaterThanThreshold"
  threshold           = each.value.threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "table_throttles" {
  for_each = local.tables

  alarm_name          = "${local.name}-${each.key}-throttles"
  alarm_description   = "Read or write requests to ${each.value} throttled."
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  metric_query {
    id          = "throttles"
    expression  = "FILL(reads, 0) + FILL(writes, 0)"
    label       = "Throttled requests"
    return_data = true
  }

  metric_query {
    id = "reads"

    metric {
      namespace   = "AWS/DynamoDB"
      metric_name = "ReadThrottleEvents"
      dimensions  = { TableName = each.value }
      stat        = "Sum"
      period      = local.alarm_period_s
    }
  }

  metric_query {
    id = "writes"

    metric {
      namespace   = "AWS/DynamoDB"
      metric_name = "WriteThrottleEvents"
      dimensions  = { TableName = each.value }
      stat        = "Sum"
      period      = local.alarm_period_s
    }
  }

  depends_on = [aws_dynamodb_table.readings, aws_dynamodb_table.rollups, aws_dynamodb_table.object_ledger, aws_dynamodb_table.sites]
}

resource "aws_cloudwatch_dashboard" "pipeline" {
  dashboard_name = local.dashboard_name

  dashboard_body = jsonencode({
    widgets = [
      {
        type = "text", x = 0, y = 0, width = 24, height = 2
        properties = {
          markdown = "## ${local.name}: S3 `${local.bucket_name}/${local.raw_prefix}` -> SQS `${local.ingest_queue_name}` -> Lambda `${local.function_name}` -> DynamoDB + SNS `${local.alerts_topic_name}`"
        }
      },
      {
        type = "metric", x = 0, y = 2, width = 8, height = 6
        properties = {
          title = "Ingest queue", region = var.aws_region, stat = "Maximum", period = 60
          metrics = [
            ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", local.ingest_queue_name, { label = "visible" }],
            [".", "ApproximateNumberOfMessagesNotVisible", ".", ".", { label = "in flight" }],
            [".", "ApproximateNumberOfMessagesVisible", ".", local.dead_letter_queue_name, { label = "dead letters" }],
          ]
        }
      },
      {
        type = "metric", x = 8, y = 2, width = 8, height = 6
        properties = {
          title   = "Oldest ingest message [s]", region = var.aws_region, stat = "Maximum", period = 60
          metrics = [["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", local.ingest_queue_name]]
        }
      },
      {
        type = "metric", x = 16, y = 2, width = 8, height = 6
        properties = {
          title = "Function invocations", region = var.aws_region, stat = "Sum", period = 300
          metrics = [
            ["AWS/Lambda", "Invocations", "FunctionName", local.function_name],
            [".", "Errors", ".", "."],
            [".", "Throttles", ".", "."],
          ]
        }
      },
      {
        type = "metric", x = 0, y = 8, width = 8, height = 6
        properties = {
          title = "Function duration [ms]", region = var.aws_region, period = 300
          metrics = [
            ["AWS/Lambda", "Duration", "FunctionName", local.function_name, { stat = "Average" }],
            ["...", { stat = "Maximum" }],
          ]
          annotations = { horizontal = [{ label = "timeout", value = local.function_timeout_s * 1000 }] }
        }
      },
      {
        type = "metric", x = 8, y = 8, width = 8, height = 6
        properties = {
          title       = "Function concurrency", region = var.aws_region, stat = "Maximum", period = 60
          metrics     = [["AWS/Lambda", "ConcurrentExecutions", "FunctionName", local.function_name]]
          annotations = { horizontal = [{ label = "reserved", value = local.reserved_concurrency }] }
        }
      },
      {
        type = "metric", x = 16, y = 8, width = 8, height = 6
        properties = {
          title = "Anomaly alerts", region = var.aws_region, stat = "Sum", period = 300
          metrics = [
            ["AWS/SNS", "NumberOfMessagesPublished", "TopicName", local.alerts_topic_name],
            [".", "NumberOfNotificationsDelivered", ".", "."],
            [".", "NumberOfNotificationsFailed", ".", "."],
          ]
        }
      },
      {
        type = "metric", x = 0, y = 26, width = 12, height = 6
        properties = {
          title       = "Rollups: stream iterator age [ms]", region = var.aws_region, stat = "Maximum", period = 60
          metrics     = [["AWS/Lambda", "IteratorAge", "FunctionName", local.aggregator_name]]
          annotations = { horizontal = [{ label = "alarm", value = local.stream_iterator_age_alarm_ms }] }
        }
      },
      {
        type = "metric", x = 12, y = 26, width = 12, height = 6
        properties = {
          title = "Rollups function", region = var.aws_region, stat = "Sum", period = 300
          metrics = [
            ["AWS/Lambda", "Invocations", "FunctionName", local.aggregator_name],
            [".", "Errors", ".", "."],
            ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", local.rollups_dlq_name, { label = "dead letters", stat = "Maximum" }],
          ]
        }
      },
      {
        type = "metric", x = 0, y = 14, width = 12, height = 6
        properties = {
          title = "DynamoDB consumed capacity", region = var.aws_region, stat = "Sum", period = 300
          metrics = concat(
            [for key, table in local.tables : ["AWS/DynamoDB", "ConsumedWriteCapacityUnits", "TableName", table, { label = "${key} writes" }]],
            [for key, table in local.tables : ["AWS/DynamoDB", "ConsumedReadCapacityUnits", "TableName", table, { label = "${key} reads" }]],
          )
        }
      },
      {
        type = "metric", x = 12, y = 14, width = 12, height = 6
        properties = {
          title = "DynamoDB throttled events", region = var.aws_region, stat = "Sum", period = 300
          metrics = concat(
            [for key, table in local.tables : ["AWS/DynamoDB", "WriteThrottleEvents", "TableName", table, { label = "${key} writes" }]],
            [for key, table in local.tables : ["AWS/DynamoDB", "ReadThrottleEvents", "TableName", table, { label = "${key} reads" }]],
          )
        }
      },
      {
        type = "log", x = 0, y = 20, width = 24, height = 6
        properties = {
          title = "Function errors and warnings", region = var.aws_region, view = "table"
          query = "SOURCE '${local.log_group_name}' | fields @timestamp, @message | filter @message like /ERROR|WARNING/ | sort @timestamp desc | limit 50"
        }
      },
    ]
  })
}
