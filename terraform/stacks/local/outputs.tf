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

################################################################################
# Data migration
################################################################################

output "migration_parameter_name" {
  description = "Name of the SSM migration parameter."
  value       = module.migration_config.migration_parameter_name
}

output "server_mappings_parameter_name" {
  description = "Name of the SSM server mappings parameter."
  value       = module.migration_config.server_mappings_parameter_name
}

output "migration_secret_arn" {
  description = "ARN of the secret with the source login."
  value       = module.migration_config.secret_arn
}

output "migration_target_secret_arn" {
  description = "ARN of the secret to put the target PostgreSQL DSN into (PutSecretValue; Terraform never holds the value)."
  value       = aws_secretsmanager_secret.migration_target_dsn.arn
}

output "migration_kms_key_arn" {
  description = "ARN of the migration's KMS key (parameters, secret, buckets)."
  value       = module.migration_kms_key.key_arn
}

output "glue_job_names" {
  description = "Names of the Glue jobs by stage."
  value       = module.glue_migration.job_names
}

output "glue_connection_name" {
  description = "Name of the Glue JDBC connection to the source."
  value       = module.glue_migration.connection_name
}

output "glue_role_arn" {
  description = "ARN of the Glue jobs' role."
  value       = module.glue_migration.iam_role_arn
}

output "glue_script_locations" {
  description = "s3:// URLs of the uploaded job scripts by stage."
  value       = module.glue_migration.script_locations
}

output "migration_areas" {
  description = "s3:// URLs of the raw, transformed and stats areas."
  value = {
    raw         = module.glue_migration.raw_area
    transformed = module.glue_migration.transformed_area
    stats       = module.glue_migration.stats_area
  }
}

output "migration_bucket_names" {
  description = "Names of the raw, transformed and stats buckets and their log bucket."
  value = {
    raw         = module.glue_migration.raw_bucket_name
    transformed = module.glue_migration.transformed_bucket_name
    stats       = module.glue_migration.stats_bucket_name
    logs        = module.glue_migration.log_bucket_name
  }
}

output "ecs_cluster_arn" {
  description = "ARN of the orchestrator's ECS cluster."
  value       = module.ecs_orchestrator.cluster_arn
}

output "ecs_task_definition_arn" {
  description = "ARN of the orchestrator's task definition."
  value       = module.ecs_orchestrator.task_definition_arn
}

output "ecs_log_group_name" {
  description = "Name of the orchestrator's log group."
  value       = module.ecs_orchestrator.log_group_name
}

output "ecs_task_role_arn" {
  description = "ARN of the orchestrator's task role."
  value       = module.ecs_orchestrator.task_role_arn
}

output "ecs_execution_role_arn" {
  description = "ARN of the orchestrator's execution role."
  value       = module.ecs_orchestrator.execution_role_arn
}
