################################################################################
# Backup bucket
################################################################################

# The configured name (equal to the ID), so callers know it at plan time.
output "bucket_id" {
  description = "Name (ID) of the backup bucket."
  value       = try(aws_s3_bucket.this[0].bucket, null)
}

output "bucket_arn" {
  description = "ARN of the backup bucket."
  value       = try(aws_s3_bucket.this[0].arn, null)
}

output "bucket_region" {
  description = "Region of the backup bucket."
  value       = try(aws_s3_bucket.this[0].region, null)
}

output "bucket_policy" {
  description = "The backup bucket's policy document (JSON), or null when no policy is attached."
  value       = try(aws_s3_bucket_policy.this[0].policy, null)
}

output "bucket_sse_algorithm" {
  description = "Default server-side encryption algorithm of the backup bucket."
  value       = try(one(one(aws_s3_bucket_server_side_encryption_configuration.this[0].rule).apply_server_side_encryption_by_default).sse_algorithm, null)
}

################################################################################
# Access log bucket
################################################################################

output "log_bucket_id" {
  description = "Name of the bucket receiving server access logs (created or given)."
  value       = local.logging_enabled ? try(aws_s3_bucket_logging.this[0].target_bucket, null) : null
}

output "log_bucket_arn" {
  description = "ARN of the created log bucket, or null when logging goes to an existing bucket."
  value       = try(aws_s3_bucket.logs[0].arn, null)
}

output "log_bucket_policy" {
  description = "The created log bucket's policy document (JSON), or null when no log bucket is created."
  value       = try(aws_s3_bucket_policy.logs[0].policy, null)
}

output "log_target_prefix" {
  description = "Key prefix of the server access log objects."
  value       = try(aws_s3_bucket_logging.this[0].target_prefix, null)
}
