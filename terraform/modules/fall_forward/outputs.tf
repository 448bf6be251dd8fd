################################################################################
# Bucket 1: native backups and transaction log copies
################################################################################

output "backup_bucket_name" {
  description = "Name of the bucket for native backups and transaction log copies (SSE-S3)."
  value       = module.backups.bucket_id
}

output "backup_bucket_arn" {
  description = "ARN of the backup bucket."
  value       = module.backups.bucket_arn
}

output "backup_bucket_sse_algorithm" {
  description = "Default encryption of the backup bucket: AES256 (tlog copies into SSE-KMS buckets are not supported)."
  value       = module.backups.bucket_sse_algorithm
}

output "backup_s3_prefix_url" {
  description = "s3:// URL of the native full backups prefix, ending in '/'."
  value       = var.create ? "s3://${local.backup_bucket}/${var.backup_prefix}" : null

  precondition {
    condition     = !startswith(var.tlog_prefix, var.backup_prefix) && !startswith(var.backup_prefix, var.tlog_prefix)
    error_message = "backup_prefix and tlog_prefix overlap: give them distinct folders (e.g. \"backups/\" and \"tlogs/\"), or a tlog lifecycle rule would expire backups and tlog listings would include them."
  }
}

output "tlog_s3_prefix_url" {
  description = "s3:// URL of the transaction log copies prefix, ending in '/'; RDS adds a `<db_id>.<family_guid>/` folder per database."
  value       = var.create ? "s3://${local.backup_bucket}/${var.tlog_prefix}" : null
}

output "tlog_copy_target_s3_arn" {
  description = "@target_s3_arn for msdb.dbo.rds_tlog_copy_setup (the tlog prefix as an S3 ARN, without the trailing '/')."
  value       = var.create ? "${local.backup_bucket_arn}/${trimsuffix(var.tlog_prefix, "/")}" : null
}

################################################################################
# Bucket 2: TDE certificates
################################################################################

output "certificate_bucket_name" {
  description = "Name of the bucket for TDE certificates (SSE-KMS with the key)."
  value       = module.certificates.bucket_id
}

output "certificate_bucket_arn" {
  description = "ARN of the certificate bucket."
  value       = module.certificates.bucket_arn
}

output "certificate_s3_prefix_url" {
  description = "s3:// URL of the TDE certificates prefix (.cer and .pvk), ending in '/'."
  value       = var.create ? "s3://${local.certificate_bucket}/${var.certificate_prefix}" : null
}

################################################################################
# Access logs
################################################################################

output "log_bucket_name" {
  description = "Name of the bucket receiving both buckets' server access logs."
  value       = module.backups.log_bucket_id
}

################################################################################
# KMS key
################################################################################

output "kms_key_arn" {
  description = "ARN of the KMS key: @kms_master_key_arn, @kms_key_arn and @kms_password_key_arn of the RDS procedures."
  value       = var.create ? local.kms_key_arn : null

  precondition {
    condition     = !var.create || var.create_kms_key || var.kms_key_arn != null
    error_message = "create_kms_key = false needs kms_key_arn: pass the ARN of the existing key RDS and the certificate bucket use."
  }
}

output "kms_key_id" {
  description = "ID of the created KMS key."
  value       = module.kms_key.key_id
}

output "kms_key_alias_name" {
  description = "Alias of the created key, including `alias/`."
  value       = module.kms_key.alias_name
}

output "kms_key_policy" {
  description = "Policy of the created key (JSON)."
  value       = module.kms_key.key_policy
}

################################################################################
# RDS native backup/restore
################################################################################

output "rds_backup_restore_role_arn" {
  description = "ARN of the role in the SQLSERVER_BACKUP_RESTORE option."
  value       = module.rds_backup_restore.iam_role_arn
}

output "rds_backup_restore_role_name" {
  description = "Name of the role in the SQLSERVER_BACKUP_RESTORE option."
  value       = module.rds_backup_restore.iam_role_name
}

output "option_group_name" {
  description = "Name of the option group (SQLSERVER_BACKUP_RESTORE, TRANSPARENT_DATA_ENCRYPTION); attach it to the DB instance."
  value       = module.rds_backup_restore.option_group_name
}

output "option_group_arn" {
  description = "ARN of the option group."
  value       = module.rds_backup_restore.option_group_arn
}

output "option_group_tde_enabled" {
  description = "Whether the option group includes TRANSPARENT_DATA_ENCRYPTION."
  value       = module.rds_backup_restore.option_group_tde_enabled
}
