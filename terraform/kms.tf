# One customer managed key for monitoring: the operations topic (CloudWatch alarms can publish only to
# topics whose key policy lets cloudwatch.amazonaws.com use the key, which AWS managed keys do not) and
# the function's log group.

resource "aws_kms_key" "monitoring" {
  description             = "${local.name}: operations topic and function logs"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.monitoring_key.json
}

resource "aws_kms_alias" "monitoring" {
  name          = "alias/${local.name}-monitoring"
  target_key_id = aws_kms_key.monitoring.key_id
}
