# Storage: the data bucket (raw/ in, quarantine/ out), its access-log bucket, and the DynamoDB tables
# of energy_lib/schema.py.

# --- data bucket --------------------------------------------------------------------------------

resource "aws_s3_bucket" "data" {
  #checkov:skip=CKV_AWS_144:No cross-region replication: raw files can be re-sent by producers and the tables have point-in-time recovery; a second region doubles cost for little gain.
  #checkov:skip=CKV_AWS_145:SSE-S3 (AES256) on purpose: it is the spec (infra.spec.BUCKET.encryption, checked by 01-check-provisioning), needs no key policy for producers and costs nothing per request.
  bucket        = local.bucket_name
  force_destroy = var.force_destroy
}

# The rules of BUCKET.lifecycle_rules: the provisioning checks read their ids.
resource "aws_s3_bucket_lifecycle_configuration" "data" {
  bucket = aws_s3_bucket.data.id

  rule {
    id     = "expire-quarantine"
    status = "Enabled"

    filter {
      prefix = local.quarantine_prefix
    }

    expiration {
      days = local.quarantine_expiry_days
    }
  }

  # A file's duplicates database is deleted when the file is done; what a file that never finished left expires
  rule {
    id     = "expire-checkpoints"
    status = "Enabled"

    filter {
      prefix = local.checkpoint_prefix
    }

    expiration {
      days = local.checkpoint_expiry_days
    }

    noncurrent_version_expiration {
      noncurrent_days = local.checkpoint_noncurrent_days
    }
  }

  rule {
    id     = "expire-old-versions"
    status = "Enabled"

    filter {
      prefix = "" # the whole bucket (an empty filter block is deprecated in provider 6)
    }

    noncurrent_version_expiration {
      noncurrent_days = local.noncurrent_version_expiry_days
    }

    # delete markers left alone once their old versions expired (e.g. after quarantine/ expiry)
    expiration {
      expired_object_delete_marker = true
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = local.abort_incomplete_upload_days
    }
  }

  # compaction rewrites a day's Parquet file every few minutes: keep the old versions one day only
  rule {
    id     = "expire-old-lake-versions"
    status = "Enabled"

    filter {
      prefix = local.lake_prefix
    }

    noncurrent_version_expiration {
      noncurrent_days = local.lake_noncurrent_expiry_days
    }
  }

  rule {
    id     = "expire-athena-results"
    status = "Enabled"

    filter {
      prefix = local.athena_results_prefix
    }

    expiration {
      days = local.athena_results_expiry_days
    }
  }

  depends_on = [aws_s3_bucket_versioning.bucket["data"]]
}

resource "aws_s3_bucket_logging" "data" {
  bucket        = aws_s3_bucket.data.id
  target_bucket = aws_s3_bucket.access_logs.id
  target_prefix = "${local.bucket_name}/"

  depends_on = [aws_s3_bucket_policy.bucket["access_logs"]]
}

# --- access-log bucket --------------------------------------------------------------------------

resource "aws_s3_bucket" "access_logs" {
  #checkov:skip=CKV_AWS_18:This bucket is the access-log target itself; logging it would log the logging.
  #checkov:skip=CKV_AWS_144:Access logs are an audit trail kept for access_log_retention_days; a replica in a second region is not needed.
  #checkov:skip=CKV_AWS_145:S3 server access logging delivers only to buckets with SSE-S3 default encryption, not SSE-KMS.
  #checkov:skip=CKV2_AWS_62:Nothing consumes new log objects; event notifications would have no target.
  bucket        = local.access_logs_bucket_name
  force_destroy = var.force_destroy
}

resource "aws_s3_bucket_lifecycle_configuration" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id

  rule {
    id     = "expire-access-logs"
    status = "Enabled"

    filter {
      prefix = "" # the whole bucket (an empty filter block is deprecated in provider 6)
    }

    expiration {
      days = var.access_log_retention_days
    }

    noncurrent_version_expiration {
      noncurrent_days = 7
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = local.abort_incomplete_upload_days
    }
  }

  depends_on = [aws_s3_bucket_versioning.bucket["access_logs"]]
}

# --- what both buckets have, declared once ------------------------------------------------------
# Versioning, SSE-S3, the four public-access-block flags, BucketOwnerEnforced and a TLS-only bucket policy
# (iam.tf), for each bucket of local.buckets.

locals {
  buckets = {
    data        = aws_s3_bucket.data
    access_logs = aws_s3_bucket.access_logs
  }
}

resource "aws_s3_bucket_versioning" "bucket" {
  for_each = local.buckets
  bucket   = each.value.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "bucket" {
  for_each = local.buckets
  bucket   = each.value.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_public_access_block" "bucket" {
  for_each = local.buckets
  bucket   = each.value.id

  block_public_acls       = true
  ignore_public_acls      = true
  block_public_policy     = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "bucket" {
  for_each = local.buckets
  bucket   = each.value.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_policy" "bucket" {
  for_each = local.buckets
  bucket   = each.value.id
  policy   = data.aws_iam_policy_document.bucket[each.key].json

  depends_on = [aws_s3_bucket_public_access_block.bucket]
}

# --- DynamoDB tables (energy_lib/schema.py) -----------------------------------------------------
# Every key attribute is a string. GSIs project ALL attributes; site_anomalies and fleet_anomalies are
# sparse (only anomalies carry anomaly_at and anomaly_day), and so is the ledger's problems index (only
# failed and rejected entries carry problem). The readings table's stream (new and old images) feeds the
# rollups and the lake (rollups.tf). Readings and ledger items expire after the hot window
# (readings_ttl_days): the lake keeps every reading, and the rollups function leaves rollups and lake alone
# for a deletion made by the time to live (energy_lib/expiry.py).

resource "aws_dynamodb_table" "readings" {
  #checkov:skip=CKV_AWS_119:Encrypted at rest with the AWS managed key (server_side_encryption enabled); a customer managed key would add a key policy and per-request cost without a consumer that needs it.
  name                        = local.readings_table_name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "site_id"
  range_key                   = "timestamp"
  deletion_protection_enabled = !var.force_destroy
  stream_enabled              = true
  stream_view_type            = "NEW_AND_OLD_IMAGES"

  attribute {
    name = "site_id"
    type = "S"
  }

  attribute {
    name = "timestamp"
    type = "S"
  }

  attribute {
    name = "anomaly_at"
    type = "S"
  }

  attribute {
    name = "anomaly_day"
    type = "S"
  }

  global_secondary_index {
    name            = "site_anomalies"
    hash_key        = "site_id"
    range_key       = "anomaly_at"
    projection_type = "ALL"
  }

  global_secondary_index {
    name            = "fleet_anomalies"
    hash_key        = "anomaly_day"
    range_key       = "anomaly_at"
    projection_type = "ALL"
  }

  ttl {
    attribute_name = "expires_at"
    enabled        = var.readings_ttl_days > 0
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled = true
  }
}

resource "aws_dynamodb_table" "rollups" {
  #checkov:skip=CKV_AWS_119:Encrypted at rest with the AWS managed key (server_side_encryption enabled); a customer managed key would add a key policy and per-request cost without a consumer that needs it.
  name                        = local.rollups_table_name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "bucket"
  range_key                   = "site_id"
  deletion_protection_enabled = !var.force_destroy

  attribute {
    name = "bucket"
    type = "S"
  }

  attribute {
    name = "site_id"
    type = "S"
  }

  # expires the "applied#<source>" markers that the earlier, transactional rollups left (the aggregator
  # writes none); at most 30 days after the migration none is left
  ttl {
    attribute_name = "expires_at"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled = true
  }
}

# The ledger's key changed from (source_key, etag) to (source_key, version_id): a new table. The earlier one
# is left in the account, out of Terraform's state (delete it by hand once it is of no more use).
removed {
  from = aws_dynamodb_table.ledger

  lifecycle {
    destroy = false
  }
}

resource "aws_dynamodb_table" "object_ledger" {
  #checkov:skip=CKV_AWS_119:Encrypted at rest with the AWS managed key (server_side_encryption enabled); a customer managed key would add a key policy and per-request cost without a consumer that needs it.
  name                        = local.ledger_table_name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "source_key"
  range_key                   = "version_id"
  deletion_protection_enabled = !var.force_destroy

  attribute {
    name = "source_key"
    type = "S"
  }

  attribute {
    name = "version_id"
    type = "S"
  }

  attribute {
    name = "problem"
    type = "S"
  }

  attribute {
    name = "updated_at"
    type = "S"
  }

  global_secondary_index {
    name            = "problems"
    hash_key        = "problem"
    range_key       = "updated_at"
    projection_type = "ALL"
  }

  ttl {
    attribute_name = "expires_at"
    enabled        = var.readings_ttl_days > 0
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled = true
  }
}

# Site registry (record = "site", id = site id) and the markers that publish each site-health alert once per
# check and period (record = "alert"; they expire). Written by the workbook, never by the function.
resource "aws_dynamodb_table" "sites" {
  #checkov:skip=CKV_AWS_119:Encrypted at rest with the AWS managed key (server_side_encryption enabled); a customer managed key would add a key policy and per-request cost without a consumer that needs it.
  name                        = local.sites_table_name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "record"
  range_key                   = "id"
  deletion_protection_enabled = !var.force_destroy

  attribute {
    name = "record"
    type = "S"
  }

  attribute {
    name = "id"
    type = "S"
  }

  ttl {
    attribute_name = "expires_at"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled = true
  }
}
