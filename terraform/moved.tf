# Resource addresses from before both buckets shared one declaration of their sub-resources (storage.tf):
# Terraform moves them in the state instead of destroying and creating them again.

moved {
  from = aws_s3_bucket_versioning.data
  to   = aws_s3_bucket_versioning.bucket["data"]
}

moved {
  from = aws_s3_bucket_versioning.access_logs
  to   = aws_s3_bucket_versioning.bucket["access_logs"]
}

moved {
  from = aws_s3_bucket_server_side_encryption_configuration.data
  to   = aws_s3_bucket_server_side_encryption_configuration.bucket["data"]
}

moved {
  from = aws_s3_bucket_server_side_encryption_configuration.access_logs
  to   = aws_s3_bucket_server_side_encryption_configuration.bucket["access_logs"]
}

moved {
  from = aws_s3_bucket_public_access_block.data
  to   = aws_s3_bucket_public_access_block.bucket["data"]
}

moved {
  from = aws_s3_bucket_public_access_block.access_logs
  to   = aws_s3_bucket_public_access_block.bucket["access_logs"]
}

moved {
  from = aws_s3_bucket_ownership_controls.data
  to   = aws_s3_bucket_ownership_controls.bucket["data"]
}

moved {
  from = aws_s3_bucket_ownership_controls.access_logs
  to   = aws_s3_bucket_ownership_controls.bucket["access_logs"]
}

moved {
  from = aws_s3_bucket_policy.data
  to   = aws_s3_bucket_policy.bucket["data"]
}

moved {
  from = aws_s3_bucket_policy.access_logs
  to   = aws_s3_bucket_policy.bucket["access_logs"]
}
