output "backup_bucket_name" {
  description = "Name of the backup bucket (native backups and tlog copies; SSE-S3)."
  value       = module.fall_forward.backup_bucket_name
}

output "backup_bucket_arn" {
  description = "ARN of the backup bucket."
  value       = module.fall_forward.backup_bucket_arn
}

output "backup_s3_prefix_url" {
  description = "s3:// URL of the native full backups prefix, ending in '/'."
  value       = module.fall_forward.backup_s3_prefix_url
}

output "tlog_s3_prefix_url" {
  description = "s3:// URL of the transaction log copies prefix, ending in '/'."
  value       = module.fall_forward.tlog_s3_prefix_url
}

output "tlog_copy_target_s3_arn" {
  description = "@target_s3_arn for rds_tlog_copy_setup."
  value       = module.fall_forward.tlog_copy_target_s3_arn
}

output "certificate_bucket_name" {
  description = "Name of the TDE certificate bucket (SSE-KMS with the key)."
  value       = module.fall_forward.certificate_bucket_name
}

output "certificate_bucket_arn" {
  description = "ARN of the TDE certificate bucket."
  value       = module.fall_forward.certificate_bucket_arn
}

output "certificate_s3_prefix_url" {
  description = "s3:// URL of the TDE certificates prefix, ending in '/'."
  value       = module.fall_forward.certificate_s3_prefix_url
}

output "log_bucket_name" {
  description = "Name of the bucket receiving both buckets' access logs."
  value       = module.fall_forward.log_bucket_name
}

output "kms_key_arn" {
  description = "ARN of the KMS key for the RDS procedures (backups, tlog copies, TDE certificate passwords)."
  value       = module.fall_forward.kms_key_arn
}

output "kms_key_alias" {
  description = "Alias of the KMS key, including `alias/`."
  value       = module.fall_forward.kms_key_alias_name
}

output "rds_backup_restore_role_arn" {
  description = "ARN of the role in the SQLSERVER_BACKUP_RESTORE option."
  value       = module.fall_forward.rds_backup_restore_role_arn
}

output "option_group_name" {
  description = "Option group to attach to the emulated RDS SQL Server instance."
  value       = module.fall_forward.option_group_name
}
