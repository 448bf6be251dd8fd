################################################################################
# Key
################################################################################

output "key_arn" {
  description = "ARN of the KMS key."
  value       = try(aws_kms_key.this[0].arn, null)
}

output "key_id" {
  description = "ID of the KMS key."
  value       = try(aws_kms_key.this[0].key_id, null)
}

output "key_policy" {
  description = "The key policy document (JSON)."
  value       = try(aws_kms_key.this[0].policy, null)
}

output "key_rotation_period_in_days" {
  description = "Days between automatic rotations of the key material."
  value       = try(aws_kms_key.this[0].rotation_period_in_days, null)
}

################################################################################
# Alias
################################################################################

output "alias_arn" {
  description = "ARN of the alias."
  value       = try(aws_kms_alias.this[0].arn, null)
}

output "alias_name" {
  description = "Name of the alias, including the `alias/` prefix."
  value       = try(aws_kms_alias.this[0].name, null)
}
