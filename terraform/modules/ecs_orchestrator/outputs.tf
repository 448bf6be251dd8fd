################################################################################
# Cluster
################################################################################

output "cluster_arn" {
  description = "ARN of the ECS cluster (created or given): RunTask's cluster."
  value       = var.create ? local.cluster_arn : null
}

output "cluster_name" {
  description = "Name of the created ECS cluster."
  value       = try(aws_ecs_cluster.this[0].name, null)
}

################################################################################
# Task definition
################################################################################

output "task_definition_arn" {
  description = "ARN (with revision) of the orchestrator's task definition."
  value       = try(aws_ecs_task_definition.this[0].arn, null)
}

output "task_definition_family" {
  description = "Family of the task definition (RunTask takes it without a revision: the latest)."
  value       = try(aws_ecs_task_definition.this[0].family, null)
}

output "container_name" {
  description = "Name of the orchestrator container, for RunTask overrides."
  value       = var.create ? local.container_name : null
}

output "container_environment" {
  description = "Environment of the container (parameter names, the source secret's ARN, the raw and transformed areas; no secret values)."
  value       = var.create ? local.environment : null
}

output "container_secrets" {
  description = "Variables ECS injects from Secrets Manager or SSM at start, name to ARN (DBSHIFT_TARGET_DSN and `secrets`); ARNs only."
  value       = var.create ? local.all_secrets : null
}

output "container_definitions" {
  description = "The task definition's container definitions (JSON)."
  value       = var.create ? local.container_definitions : null
}

################################################################################
# Logs
################################################################################

output "log_group_name" {
  description = "Name of the orchestrator's CloudWatch log group."
  value       = try(aws_cloudwatch_log_group.this[0].name, null)
}

output "log_kms_key_arn" {
  description = "ARN of the KMS key encrypting the log group (created or given)."
  value       = var.create ? local.log_kms_key_arn : null
}

################################################################################
# IAM roles
################################################################################

output "task_role_arn" {
  description = "ARN of the task role."
  value       = try(aws_iam_role.task[0].arn, null)
}

output "task_role_policy" {
  description = "Inline policy of the task role (JSON)."
  value       = try(aws_iam_role_policy.task[0].policy, null)
}

output "execution_role_arn" {
  description = "ARN of the task execution role."
  value       = try(aws_iam_role.execution[0].arn, null)
}

output "execution_role_policy" {
  description = "Inline policy of the execution role (JSON)."
  value       = try(aws_iam_role_policy.execution[0].policy, null)
}
