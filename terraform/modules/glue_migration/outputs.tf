################################################################################
# Jobs
################################################################################

output "job_names" {
  description = "Names of the Glue jobs by stage (`export`, `transform`, `load`), for StartJobRun."
  value       = { for stage, job in aws_glue_job.this : stage => job.name }
}

output "job_arns" {
  description = "ARNs of the Glue jobs by stage, for the orchestrator's glue:StartJobRun policy."
  value       = { for stage, job in aws_glue_job.this : stage => job.arn }
}

output "job_default_arguments" {
  description = "Default arguments of each job by stage (no secrets: the login is named by its secret ARN)."
  value       = { for stage, job in aws_glue_job.this : stage => job.default_arguments }
}

output "script_locations" {
  description = "s3:// URLs of the uploaded job scripts by stage."
  value       = { for stage, o in aws_s3_object.scripts : stage => "s3://${o.bucket}/${o.key}" }
}

output "security_configuration_name" {
  description = "Name of the jobs' Glue security configuration."
  value       = try(aws_glue_security_configuration.this[0].name, null)
}

output "cloudwatch_logs_kms_key_arn" {
  description = "ARN of the KMS key encrypting the jobs' CloudWatch Logs (created or given)."
  value       = var.create && var.create_security_configuration ? local.logs_kms_key_arn : null
}

################################################################################
# Source connection
################################################################################

output "connection_name" {
  description = "Name of the Glue JDBC connection to the source SQL Server."
  value       = try(aws_glue_connection.source[0].name, null)
}

output "connection_arn" {
  description = "ARN of the Glue JDBC connection."
  value       = try(aws_glue_connection.source[0].arn, null)
}

################################################################################
# IAM role
################################################################################

output "iam_role_arn" {
  description = "ARN of the jobs' role."
  value       = try(aws_iam_role.this[0].arn, null)
}

output "iam_role_name" {
  description = "Name of the jobs' role."
  value       = try(aws_iam_role.this[0].name, null)
}

output "iam_role_permissions_policy" {
  description = "Inline permissions policy of the role (JSON)."
  value       = try(aws_iam_role_policy.this[0].policy, null)
}

output "iam_role_trust_policy" {
  description = "Trust policy of the role (JSON)."
  value       = try(aws_iam_role.this[0].assume_role_policy, null)
}

################################################################################
# Buckets and areas
################################################################################

output "raw_bucket_name" {
  description = "Name of the raw area bucket."
  value       = module.raw.bucket_id
}

output "transformed_bucket_name" {
  description = "Name of the transformed area bucket."
  value       = module.transformed.bucket_id
}

output "stats_bucket_name" {
  description = "Name of the stats bucket (stats area, scripts, Glue temporary directory)."
  value       = module.stats.bucket_id
}

output "bucket_arns" {
  description = "ARNs of the raw, transformed and stats buckets by area."
  value       = var.create ? local.bucket_arns : null
}

output "log_bucket_name" {
  description = "Name of the bucket receiving the three buckets' access logs."
  value       = module.raw.log_bucket_id
}

output "raw_area" {
  description = "s3:// URL of the raw area (the jobs' --RAW_AREA), without a trailing '/'."
  value       = var.create ? local.areas.raw : null
}

output "transformed_area" {
  description = "s3:// URL of the transformed area (--TRANSFORMED_AREA), without a trailing '/'."
  value       = var.create ? local.areas.transformed : null
}

output "stats_area" {
  description = "s3:// URL of the stats area (--STATS_AREA), without a trailing '/'."
  value       = var.create ? local.areas.stats : null
}

output "raw_bucket_policy" {
  description = "The raw bucket's policy (JSON)."
  value       = module.raw.bucket_policy
}
