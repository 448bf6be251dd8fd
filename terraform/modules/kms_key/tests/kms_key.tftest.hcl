# Plan-level checks of the key settings and key policy, with a mocked AWS provider.

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
}

variables {
  alias_name = "sales-backups"
}

run "secure_defaults" {
  command = plan

  assert {
    condition     = aws_kms_key.this[0].enable_key_rotation == true && aws_kms_key.this[0].rotation_period_in_days == 365
    error_message = "Key rotation must be on, yearly by default."
  }

  assert {
    condition     = aws_kms_key.this[0].customer_master_key_spec == "SYMMETRIC_DEFAULT" && aws_kms_key.this[0].key_usage == "ENCRYPT_DECRYPT"
    error_message = "RDS native backups need a symmetric encryption key."
  }

  assert {
    condition     = aws_kms_key.this[0].deletion_window_in_days == 30
    error_message = "The deletion window must default to the maximum, 30 days."
  }

  assert {
    condition     = aws_kms_alias.this[0].name == "alias/sales-backups"
    error_message = "The alias must be alias/<alias_name>."
  }

  assert {
    condition = anytrue([for s in jsondecode(aws_kms_key.this[0].policy).Statement : try(
      s.Sid == "Default" && s.Principal.AWS == "arn:aws:iam::123456789012:root" && s.Action == "kms:*",
      false,
    )])
    error_message = "The default policy must delegate to IAM in the key's account."
  }

  assert {
    condition     = length(jsondecode(aws_kms_key.this[0].policy).Statement) == 1
    error_message = "Without administrators or users, only the default statement."
  }
}

run "administrators_and_users" {
  command = plan

  variables {
    key_administrators = ["arn:aws:iam::123456789012:role/dba-admin"]
    key_users          = ["arn:aws:iam::123456789012:role/sales-rds-backup-restore"]
  }

  assert {
    condition = anytrue([for s in jsondecode(aws_kms_key.this[0].policy).Statement : try(
      s.Sid == "KeyAdministration" && s.Principal.AWS == ["arn:aws:iam::123456789012:role/dba-admin"]
      && contains(s.Action, "kms:ScheduleKeyDeletion") && !contains(s.Action, "kms:Decrypt"),
      false,
    )])
    error_message = "Administrators must manage the key without being able to decrypt."
  }

  assert {
    condition = anytrue([for s in jsondecode(aws_kms_key.this[0].policy).Statement : try(
      s.Sid == "KeyUsage" && s.Principal.AWS == ["arn:aws:iam::123456789012:role/sales-rds-backup-restore"]
      && toset(s.Action) == toset(["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*", "kms:DescribeKey", "kms:ReEncrypt*"]),
      false,
    )])
    error_message = "Users must get Encrypt, Decrypt, ReEncrypt*, GenerateDataKey*, DescribeKey and no management actions."
  }
}

run "decrypt_only_users" {
  command = plan

  variables {
    key_decrypt_users = ["arn:aws:iam::123456789012:role/dbshift-controller"]
  }

  assert {
    condition = anytrue([for s in jsondecode(aws_kms_key.this[0].policy).Statement : try(
      s.Sid == "KeyDecryptOnly" && s.Principal.AWS == ["arn:aws:iam::123456789012:role/dbshift-controller"]
      && toset(s.Action) == toset(["kms:Decrypt", "kms:DescribeKey"]),
      false,
    )])
    error_message = "Decrypt-only users must get Decrypt and DescribeKey, nothing else."
  }

  assert {
    condition     = !anytrue([for s in jsondecode(aws_kms_key.this[0].policy).Statement : try(s.Sid == "KeyUsage", false)])
    error_message = "No KeyUsage statement without key_users."
  }
}

run "service_principal_statement" {
  command = plan

  variables {
    key_statements = [{
      sid        = "CloudWatchLogs"
      actions    = ["kms:Encrypt*", "kms:Decrypt*", "kms:GenerateDataKey*"]
      principals = [{ type = "Service", identifiers = ["logs.eu-west-1.amazonaws.com"] }]
      conditions = [
        { test = "ArnLike", variable = "kms:EncryptionContext:aws:logs:arn", values = ["arn:aws:logs:eu-west-1:123456789012:log-group:/a/*"] },
        { test = "StringEquals", variable = "aws:SourceAccount", values = ["123456789012"] },
        { test = "ArnLike", variable = "aws:SourceArn", values = ["arn:aws:logs:eu-west-1:123456789012:*", "arn:aws:logs:eu-west-1:123456789012:log-group:/b"] },
      ]
    }]
  }

  # Written as aws_iam_policy_document writes it: one value a string, several a list, and the
  # conditions grouped by operator.
  assert {
    condition = jsondecode(aws_kms_key.this[0].policy).Statement[1] == {
      Sid       = "CloudWatchLogs"
      Effect    = "Allow"
      Principal = { Service = "logs.eu-west-1.amazonaws.com" }
      Action    = ["kms:Encrypt*", "kms:Decrypt*", "kms:GenerateDataKey*"]
      Resource  = "*"
      Condition = {
        ArnLike = {
          "kms:EncryptionContext:aws:logs:arn" = "arn:aws:logs:eu-west-1:123456789012:log-group:/a/*"
          "aws:SourceArn"                      = ["arn:aws:logs:eu-west-1:123456789012:*", "arn:aws:logs:eu-west-1:123456789012:log-group:/b"]
        }
        StringEquals = { "aws:SourceAccount" = "123456789012" }
      }
    }
    error_message = "A key_statements entry must become one policy statement with its principal, actions and grouped conditions."
  }

  assert {
    condition     = jsondecode(aws_kms_key.this[0].policy).Statement[0].Sid == "Default" && length(jsondecode(aws_kms_key.this[0].policy).Statement) == 2
    error_message = "Extra statements come after the module's own, which stay."
  }
}

run "statement_without_conditions_has_no_condition_key" {
  command = plan

  variables {
    enable_default_policy = false
    key_statements = [{
      sid        = "DenyOutsideAccount"
      effect     = "Deny"
      actions    = ["kms:Decrypt"]
      resources  = ["*"]
      principals = [{ type = "AWS", identifiers = ["arn:aws:iam::123456789012:role/a", "arn:aws:iam::123456789012:role/b"] }]
    }]
  }

  assert {
    condition = jsondecode(aws_kms_key.this[0].policy).Statement == [{
      Sid       = "DenyOutsideAccount"
      Effect    = "Deny"
      Principal = { AWS = ["arn:aws:iam::123456789012:role/a", "arn:aws:iam::123456789012:role/b"] }
      Action    = "kms:Decrypt"
      Resource  = "*"
    }]
    error_message = "Without conditions there must be no Condition key; effect and several principals pass through."
  }
}

run "key_statement_reusing_module_sid_rejected" {
  command = plan

  variables {
    key_statements = [{
      sid        = "KeyUsage"
      actions    = ["kms:Decrypt"]
      principals = [{ type = "Service", identifiers = ["logs.eu-west-1.amazonaws.com"] }]
    }]
  }

  expect_failures = [var.key_statements]
}

run "key_statement_without_principal_rejected" {
  command = plan

  variables {
    key_statements = [{
      sid        = "Nobody"
      actions    = ["kms:Decrypt"]
      principals = []
    }]
  }

  expect_failures = [var.key_statements]
}

run "non_arn_decrypt_user_rejected" {
  command = plan

  variables {
    key_decrypt_users = ["dbshift-controller"]
  }

  expect_failures = [var.key_decrypt_users]
}

run "no_default_policy_needs_administrators" {
  command = plan

  variables {
    enable_default_policy = false
  }

  expect_failures = [aws_kms_key.this]
}

run "deletion_window_out_of_range" {
  command = plan

  variables {
    deletion_window_in_days = 5
  }

  expect_failures = [var.deletion_window_in_days]
}

run "rotation_period_out_of_range" {
  command = plan

  variables {
    rotation_period_in_days = 30
  }

  expect_failures = [var.rotation_period_in_days]
}

run "reserved_alias_rejected" {
  command = plan

  variables {
    alias_name = "aws/rds"
  }

  expect_failures = [var.alias_name]
}

run "non_arn_principal_rejected" {
  command = plan

  variables {
    key_users = ["sales-rds-backup-restore"]
  }

  expect_failures = [var.key_users]
}

run "create_false_creates_nothing" {
  command = plan

  variables {
    create = false
  }

  assert {
    condition     = length(aws_kms_key.this) == 0 && length(aws_kms_alias.this) == 0
    error_message = "create = false must create nothing."
  }
}
