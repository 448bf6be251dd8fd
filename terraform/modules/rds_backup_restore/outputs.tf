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

output "iam_role_trust_policy" {
  description = "Trust policy of the created role (JSON)."
  value       = try(aws_iam_role.this[0].assume_role_policy, null)
}

output "iam_role_permissions_policy" {
  description = "Inline permissions policy of the created role (JSON): the buckets and keys RDS may use."
  value       = try(aws_iam_role_policy.this[0].policy, null)
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

output "option_group_options" {
  description = "Options of the option group: option name to a map of its settings (name to value)."
  value       = try({ for o in aws_db_option_group.this[0].option : o.option_name => { for s in o.option_settings : s.name => s.value } }, null)
}
