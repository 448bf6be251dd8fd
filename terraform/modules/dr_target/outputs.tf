################################################################################
# Region
################################################################################

output "region" {
  description = "The target Region (the provider's Region) everything here was created in."
  value       = var.create ? local.region : null

  precondition {
    condition     = var.source_region == null || !var.create || local.region != var.source_region
    error_message = "The provider passed to dr_target is in source_region: pass the target Region's provider (providers = { aws = aws.target })."
  }
}

################################################################################
# KMS key
################################################################################

output "kms_key_arn" {
  description = "ARN of the target-Region key: --kms-key-id of copy-db-snapshot/copy-db-cluster-snapshot and restores, SSE-KMS key of the dump bucket."
  value       = module.kms_key.key_arn
}

output "kms_key_id" {
  description = "ID of the target-Region key."
  value       = module.kms_key.key_id
}

output "kms_key_alias_name" {
  description = "Alias of the target-Region key, including `alias/`."
  value       = module.kms_key.alias_name
}

output "kms_key_policy" {
  description = "Policy of the target-Region key (JSON)."
  value       = module.kms_key.key_policy
}

output "kms_key_rotation_period_in_days" {
  description = "Days between automatic rotations of the key material (kms_key always enables rotation)."
  value       = module.kms_key.key_rotation_period_in_days
}

################################################################################
# Network
################################################################################

output "db_subnet_group_name" {
  description = "DB subnet group for restores in the target Region (--db-subnet-group-name)."
  value       = try(aws_db_subnet_group.this[0].name, null)
}

output "db_security_group_id" {
  description = "Security group for the restored database (--vpc-security-group-ids)."
  value       = try(aws_security_group.db[0].id, null)
}

output "client_security_group_id" {
  description = "Security group for the applications: its members may reach the database port."
  value       = try(aws_security_group.client[0].id, null)
}

output "security_group_ids" {
  description = "Security groups to attach to the restored database."
  value       = compact([try(aws_security_group.db[0].id, "")])
}

output "db_port" {
  description = "Port the database security group opens."
  value       = local.port
}

################################################################################
# Bucket for dumps and exports
################################################################################

output "bucket_name" {
  description = "Bucket for native dumps and exports in the target Region (SSE-KMS with the target key, TLS only)."
  value       = module.dumps.bucket_id
}

output "bucket_arn" {
  description = "ARN of the dump bucket."
  value       = var.create ? local.bucket_arn : null
}

output "bucket_policy" {
  description = "Policy of the dump bucket (JSON)."
  value       = module.dumps.bucket_policy
}

output "bucket_sse_algorithm" {
  description = "Default encryption of the dump bucket (`aws:kms`)."
  value       = module.dumps.bucket_sse_algorithm
}

output "bucket_lifecycle_rules" {
  description = "Lifecycle rules of the dump bucket; every one aborts incomplete multipart uploads after 1 day."
  value       = var.create ? local.lifecycle_rules : []
}

output "log_bucket_name" {
  description = "Bucket receiving the dump bucket's server access logs."
  value       = module.dumps.log_bucket_id
}

################################################################################
# Redshift
################################################################################

output "redshift_snapshot_copy_grant_name" {
  description = "Snapshot copy grant for `enable-snapshot-copy --snapshot-copy-grant-name`, or null."
  value       = try(aws_redshift_snapshot_copy_grant.this[0].snapshot_copy_grant_name, null)
}

################################################################################
# Route 53
################################################################################

output "route53_record_fqdn" {
  description = "FQDN of the CNAME applications connect to, or null."
  value       = try(aws_route53_record.this[0].fqdn, null)
}
