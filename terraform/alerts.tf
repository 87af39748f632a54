# Anomaly alerts: the function publishes one message per file with anomalies, with a `severity`
# message attribute (LOW, MEDIUM, HIGH, CRITICAL). Email gets the severities at or above
# alert_severity_threshold; the alerts queue gets every alert, for the operations notebook.

resource "aws_sns_topic" "anomalies" {
  name              = local.alerts_topic_name
  kms_master_key_id = "alias/aws/sns" # as on the local target; the function publishes through SNS, which may use it
}

resource "aws_sns_topic_subscription" "anomalies_email" {
  topic_arn           = aws_sns_topic.anomalies.arn
  protocol            = "email"
  endpoint            = var.alert_email
  filter_policy_scope = "MessageAttributes"
  # anomaly alerts at or above the threshold, the daily summary (`energy-workbook report publish-summary`), and
  # every report failure and recovery (a recovery is LOW: it would not pass the threshold)
  filter_policy = jsonencode({ "$or" = [{ severity = local.alert_severities }, { kind = local.email_kinds }] })
}

resource "aws_sqs_queue" "alerts" {
  name                      = local.alerts_queue_name
  message_retention_seconds = local.alerts_queue_retention_s
  sqs_managed_sse_enabled   = true
}

resource "aws_sqs_queue_policy" "alerts" {
  queue_url = aws_sqs_queue.alerts.id
  policy    = data.aws_iam_policy_document.alerts_queue.json
}

# SNS envelope (raw_message_delivery off): the queue message keeps Subject and MessageAttributes, as locally.
resource "aws_sns_topic_subscription" "anomalies_queue" {
  topic_arn            = aws_sns_topic.anomalies.arn
  protocol             = "sqs"
  endpoint             = aws_sqs_queue.alerts.arn
  raw_message_delivery = false

  depends_on = [aws_sqs_queue_policy.alerts]
}
