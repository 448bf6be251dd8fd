################################################################################
# IAM role
################################################################################

output "iam_role_arn" {
  description = "ARN of the role RDS assumes for native backup and restore (created or given)."
  value       = local.role_arn
}

output "iam_role_name" {
  description = "Name of the created role."
  value       = try(aws_iam_role.this[0].name, null)
}

output "iam_role_unique_id" {
  description = "Stable unique ID of the created role."
  value       = try(aws_iam_role.this[0].unique_id, null)
}

################################################################################
# Option group
################################################################################

output "option_group_arn" {
  description = "ARN of the option group."
  value       = try(aws_db_option_group.this[0].arn, null)
}

output "option_group_name" {
  description = "Name of the option group; pass it as option_group_name of the DB instance."
  value       = try(aws_db_option_group.this[0].name, null)
}

output "option_group_tde_enabled" {
  description = "Whether the option group includes TRANSPARENT_DATA_ENCRYPTION."
  value       = local.create_option_group ? local.tde_enabled : null
}
