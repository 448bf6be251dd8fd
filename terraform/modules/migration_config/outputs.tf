################################################################################
# SSM parameters
################################################################################

output "migration_parameter_name" {
  description = "Name of the migration parameter: MIGRATION_PARAMETER of the orchestrator, `dbshift migrate --ssm-parameter`."
  value       = try(aws_ssm_parameter.migration[0].name, null)
}

output "migration_parameter_arn" {
  description = "ARN of the migration parameter."
  value       = var.create ? local.migration_parameter_arn : null
}

output "server_mappings_parameter_name" {
  description = "Name of the server mappings parameter: SERVER_MAPPINGS_PARAMETER of the orchestrator."
  value       = try(aws_ssm_parameter.server_mappings[0].name, null)
}

output "server_mappings_parameter_arn" {
  description = "ARN of the server mappings parameter."
  value       = var.create ? local.server_mappings_parameter_arn : null
}

output "parameter_arns" {
  description = "ARNs of both parameters, for the readers' ssm:GetParameter policies."
  value       = var.create ? [local.migration_parameter_arn, local.server_mappings_parameter_arn] : []
}

output "parameter_type" {
  description = "Type of both parameters (SecureString or String)."
  value       = var.create ? var.parameter_type : null
}

# The documents hold names, hosts and filters, never credentials, so they are not sensitive.
output "migration_document" {
  description = "The migration parameter's value, as an object (job_mode, log_level, input_partition, partition_col_date, source_filter_<table>...)."
  value       = var.create ? local.migration_document : null
}

output "server_mappings_document" {
  description = "The server mappings parameter's value, as an object (server_mappings, databases, categories)."
  value       = var.create ? local.server_mappings_document : null
}

################################################################################
# Source credentials secret
################################################################################

output "secret_arn" {
  description = "ARN of the secret with the source login (created or given): the Glue connection's SECRET_ID and the orchestrator's secret."
  value       = var.create ? local.secret_arn : null
}

output "secret_name" {
  description = "Name of the created secret."
  value       = try(aws_secretsmanager_secret.this[0].name, null)
}

output "secret_value_managed" {
  description = "Whether Terraform wrote the secret's value (true) or left it for you to put (false); the value itself is never an output."
  value       = local.write_credentials
}
