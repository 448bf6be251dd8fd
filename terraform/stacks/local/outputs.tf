output "backup_bucket_name" {
  description = "Name of the backup bucket (native backups, tlog copies, TDE certificates)."
  value       = module.backup_storage.bucket_id
}

output "backup_bucket_arn" {
  description = "ARN of the backup bucket."
  value       = module.backup_storage.bucket_arn
}

output "log_bucket_name" {
  description = "Name of the bucket receiving the backup bucket's access logs."
  value       = module.backup_storage.log_bucket_id
}

output "kms_key_arn" {
  description = "ARN of the KMS key encrypting the backups."
  value       = module.kms_key.key_arn
}

output "kms_key_alias" {
  description = "Alias of the KMS key, including `alias/`."
  value       = module.kms_key.alias_name
}

output "rds_backup_restore_role_arn" {
  description = "ARN of the role in the SQLSERVER_BACKUP_RESTORE option."
  value       = module.rds_backup_restore.iam_role_arn
}

output "option_group_name" {
  description = "Option group to attach to the emulated RDS SQL Server instance."
  value       = module.rds_backup_restore.option_group_name
}
