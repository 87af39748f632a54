# Ingest: S3 ObjectCreated under raw/ -> SQS ingest queue -> (after max_receive_count deliveries) DLQ.
# The function reads the queue (lambda.tf); the queue gives retries, a dead-letter queue and partial
# batch failure.

resource "aws_sqs_queue" "dead_letter" {
  name                      = local.dead_letter_queue_name
  message_retention_seconds = local.dead_letter_retention_s
  sqs_managed_sse_enabled   = true
}

resource "aws_sqs_queue" "ingest" {
  name                       = local.ingest_queue_name
  visibility_timeout_seconds = local.queue_visibility_timeout_s
  message_retention_seconds  = local.queue_retention_s
  sqs_managed_sse_enabled    = true

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dead_letter.arn
    maxReceiveCount     = var.max_receive_count
  })

  lifecycle {
    precondition {
      condition     = local.queue_visibility_timeout_s >= 6 * local.function_timeout_s + local.batching_window_s
      error_message = "The ingest queue's visibility timeout must be at least 6 x the function timeout + the batching window (AWS advice for SQS event sources), or messages are delivered twice while a batch is still running."
    }
  }
}

# Only the ingest queue may use the DLQ as its dead-letter target.
resource "aws_sqs_queue_redrive_allow_policy" "dead_letter" {
  queue_url = aws_sqs_queue.dead_letter.id

  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.ingest.arn]
  })
}

resource "aws_sqs_queue_policy" "ingest" {
  queue_url = aws_sqs_queue.ingest.id
  policy    = data.aws_iam_policy_document.ingest_queue.json
}

resource "aws_s3_bucket_notification" "raw_objects" {
  bucket = aws_s3_bucket.data.id

  queue {
    id            = "raw-objects-to-ingest-queue"
    queue_arn     = aws_sqs_queue.ingest.arn
    events        = ["s3:ObjectCreated:*"]
    filter_prefix = local.raw_prefix
  }

  # S3 sends a test event when the notification is created: the queue policy must let it through first.
  depends_on = [aws_sqs_queue_policy.ingest]
}
