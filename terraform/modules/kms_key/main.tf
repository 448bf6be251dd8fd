data "aws_partition" "current" {
  count = var.create ? 1 : 0
}

data "aws_caller_identity" "current" {
  count = var.create ? 1 : 0
}

locals {
  partition  = try(data.aws_partition.current[0].partition, "aws")
  account_id = try(data.aws_caller_identity.current[0].account_id, "")

  # Key management without cryptographic use: administrators cannot read backups.
  admin_actions = [
    "kms:CancelKeyDeletion",
    "kms:Create*",
    "kms:Delete*",
    "kms:Describe*",
    "kms:Disable*",
    "kms:Enable*",
    "kms:Get*",
    "kms:List*",
    "kms:Put*",
    "kms:Revoke*",
    "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:Update*",
  ]

  user_actions = [
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey*",
    "kms:ReEncrypt*",
  ]

  decrypt_actions = ["kms:Decrypt", "kms:DescribeKey"]

  # key_statements written the way aws_iam_policy_document writes them: a single value as a string,
  # several as a list, Condition only when there is one. jsondecode(... ? jsonencode(a) : jsonencode(b))
  # because a conditional cannot return a string on one side and a list on the other.
  custom_statements = [
    for s in var.key_statements : merge(
      {
        Sid       = s.sid
        Effect    = s.effect
        Principal = { for p in s.principals : p.type => jsondecode(length(p.identifiers) == 1 ? jsonencode(p.identifiers[0]) : jsonencode(p.identifiers)) }
        Action    = jsondecode(length(s.actions) == 1 ? jsonencode(s.actions[0]) : jsonencode(s.actions))
        Resource  = jsondecode(length(s.resources) == 1 ? jsonencode(s.resources[0]) : jsonencode(s.resources))
      },
      {
        for key, condition in {
          Condition = {
            for test in distinct([for c in s.conditions : c.test]) : test => {
              for c in s.conditions : c.variable => jsondecode(length(c.values) == 1 ? jsonencode(c.values[0]) : jsonencode(c.values)) if c.test == test
            }
          }
        } : key => condition if length(s.conditions) > 0
      },
    )
  ]

  # jsonencode rather than aws_iam_policy_document: the policy stays plain Terraform, so the
  # tftest files can assert on it with a mocked provider.
  policy_statements = concat(
    var.enable_default_policy ? [{
      Sid       = "Default"
      Effect    = "Allow"
      Principal = { AWS = "arn:${local.partition}:iam::${local.account_id}:root" }
      Action    = "kms:*"
      Resource  = "*"
    }] : [],
    length(var.key_administrators) > 0 ? [{
      Sid       = "KeyAdministration"
      Effect    = "Allow"
      Principal = { AWS = var.key_administrators }
      Action    = local.admin_actions
      Resource  = "*"
    }] : [],
    length(var.key_users) > 0 ? [{
      Sid       = "KeyUsage"
      Effect    = "Allow"
      Principal = { AWS = var.key_users }
      Action    = local.user_actions
      Resource  = "*"
    }] : [],
    # Readers of what others encrypted (a runbook controller decrypting tlog data keys and TDE
    # certificate passwords) get Decrypt only: they never need to produce ciphertext.
    length(var.key_decrypt_users) > 0 ? [{
      Sid       = "KeyDecryptOnly"
      Effect    = "Allow"
      Principal = { AWS = var.key_decrypt_users }
      Action    = local.decrypt_actions
      Resource  = "*"
    }] : [],
    local.custom_statements,
  )

  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = local.policy_statements
  })
}

################################################################################
# Key
################################################################################

resource "aws_kms_key" "this" {
  count = var.create ? 1 : 0

  description              = var.description
  key_usage                = "ENCRYPT_DECRYPT"
  customer_master_key_spec = "SYMMETRIC_DEFAULT"
  is_enabled               = true
  enable_key_rotation      = true
  rotation_period_in_days  = var.rotation_period_in_days
  deletion_window_in_days  = var.deletion_window_in_days
  multi_region             = var.multi_region
  policy                   = local.policy

  tags = merge(var.tags, { Name = coalesce(var.alias_name, "dbshift") })

  lifecycle {
    precondition {
      condition     = length(local.policy_statements) > 0
      error_message = "The key policy would be empty and lock everyone out: set enable_default_policy = true or list key_administrators."
    }
  }
}

################################################################################
# Alias
################################################################################

resource "aws_kms_alias" "this" {
  count = var.create && var.create_alias && var.alias_name != null ? 1 : 0

  name          = "alias/${var.alias_name}"
  target_key_id = aws_kms_key.this[0].key_id
}
