output "backup_bucket_name" {
  description = "Bucket for native full backups and transaction log copies (SSE-S3)."
  value       = module.fall_forward.backup_bucket_name
}

output "backup_s3_prefix_url" {
  description = "s3:// URL of the native full backups prefix."
  value       = module.fall_forward.backup_s3_prefix_url
}

output "tlog_s3_prefix_url" {
  description = "s3:// URL of the transaction log copies prefix."
  value       = module.fall_forward.tlog_s3_prefix_url
}

output "tlog_copy_target_s3_arn" {
  description = "@target_s3_arn for rds_tlog_copy_setup."
  value       = module.fall_forward.tlog_copy_target_s3_arn
}

output "certificate_bucket_name" {
  description = "Bucket for TDE certificate files (SSE-KMS)."
  value       = module.fall_forward.certificate_bucket_name
}

output "certificate_s3_prefix_url" {
  description = "s3:// URL of the TDE certificates prefix."
  value       = module.fall_forward.certificate_s3_prefix_url
}

output "kms_key_arn" {
  description = "Key for @kms_master_key_arn / @kms_key_arn / @kms_password_key_arn."
  value       = module.fall_forward.kms_key_arn
}

output "rds_backup_restore_role_arn" {
  description = "Role in the SQLSERVER_BACKUP_RESTORE option."
  value       = module.fall_forward.rds_backup_restore_role_arn
}

output "option_group_name" {
  description = "Option group to attach to the RDS SQL Server instance."
  value       = module.fall_forward.option_group_name
}

output "migration_parameter_name" {
  description = "SSM migration parameter (MIGRATION_PARAMETER)."
  value       = module.migration_config.migration_parameter_name
}

output "migration_secret_arn" {
  description = "Secret to put the source login into (aws secretsmanager put-secret-value)."
  value       = module.migration_config.secret_arn
}

output "glue_job_names" {
  description = "Glue jobs of the data migration by stage."
  value       = module.glue_migration.job_names
}

output "ecs_task_definition_arn" {
  description = "Task definition of the data migration's orchestrator."
  value       = module.ecs_orchestrator.task_definition_arn
}

output "dr_kms_key_arn" {
  description = "Target-Region key for cross-Region snapshot copies and restores (--kms-key-id)."
  value       = module.dr_target.kms_key_arn
}

output "dr_db_subnet_group_name" {
  description = "DB subnet group for restores in dr_region."
  value       = module.dr_target.db_subnet_group_name
}

output "dr_security_group_ids" {
  description = "Security groups for the restored database in dr_region."
  value       = module.dr_target.security_group_ids
}

output "dr_bucket_name" {
  description = "Bucket in dr_region for native dumps and exports (SSE-KMS, TLS only)."
  value       = module.dr_target.bucket_name
}

output "dr_redshift_snapshot_copy_grant_name" {
  description = "Redshift snapshot copy grant in dr_region, or null."
  value       = module.dr_target.redshift_snapshot_copy_grant_name
}

output "dr_route53_record_fqdn" {
  description = "FQDN of the database CNAME, or null."
  value       = module.dr_target.route53_record_fqdn
}
