output "backup_bucket_name" {
  description = "Bucket for native full backups and TDE certificate files."
  value       = module.backups.bucket_id
}

output "tlog_bucket_name" {
  description = "Bucket to pass to rds_tlog_copy_setup (as arn:aws:s3:::<name>/tlogs/)."
  value       = module.tlog_copies.bucket_id
}

output "kms_key_arn" {
  description = "Key for @kms_master_key_arn / @kms_key_arn and the certificate password envelope."
  value       = module.kms_key.key_arn
}

output "rds_backup_restore_role_arn" {
  description = "Role in the SQLSERVER_BACKUP_RESTORE option."
  value       = module.rds_backup_restore.iam_role_arn
}

output "option_group_name" {
  description = "Option group to attach to the RDS SQL Server instance."
  value       = module.rds_backup_restore.option_group_name
}
