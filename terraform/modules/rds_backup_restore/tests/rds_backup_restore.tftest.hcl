# Plan-level checks of the role trust, its permissions and the option group, with a mocked AWS provider.

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_region" {
    defaults = { name = "us-east-1" }
  }
}

variables {
  name         = "sales-sqlserver"
  bucket_arns  = ["arn:aws:s3:::sales-backups"]
  kms_key_arns = ["arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"]
}

run "role_trusted_by_rds_only" {
  command = plan

  assert {
    condition     = aws_iam_role.this[0].name == "sales-sqlserver-rds-backup-restore"
    error_message = "The role name must default to <name>-rds-backup-restore."
  }

  assert {
    condition = alltrue([for s in jsondecode(aws_iam_role.this[0].assume_role_policy).Statement :
      s.Effect == "Allow" && s.Principal == { Service = "rds.amazonaws.com" } && s.Action == "sts:AssumeRole"
    ])
    error_message = "Only rds.amazonaws.com may assume the role."
  }

  assert {
    condition = alltrue([for s in jsondecode(aws_iam_role.this[0].assume_role_policy).Statement :
      s.Condition.StringEquals["aws:SourceAccount"] == "123456789012"
      && contains(s.Condition.ArnLike["aws:SourceArn"], "arn:aws:rds:us-east-1:123456789012:og:sales-sqlserver")
      && contains(s.Condition.ArnLike["aws:SourceArn"], "arn:aws:rds:us-east-1:123456789012:db:*")
    ])
    error_message = "The trust must be limited to this account, this option group and its DB instances (confused deputy)."
  }
}

run "permissions_match_aws_documentation" {
  command = plan

  assert {
    condition = anytrue([for s in jsondecode(aws_iam_role_policy.this[0].policy).Statement :
      s.Sid == "BucketAccess" && toset(s.Action) == toset(["s3:ListBucket", "s3:GetBucketLocation"])
      && s.Resource == ["arn:aws:s3:::sales-backups"]
    ])
    error_message = "Bucket-level actions must be ListBucket and GetBucketLocation on the bucket."
  }

  assert {
    condition = anytrue([for s in jsondecode(aws_iam_role_policy.this[0].policy).Statement :
      s.Sid == "ObjectAccess"
      && toset(s.Action) == toset(["s3:GetObjectAttributes", "s3:GetObject", "s3:PutObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"])
      && s.Resource == ["arn:aws:s3:::sales-backups/*"]
    ])
    error_message = "Object-level actions must be the five AWS documents, on the bucket's objects."
  }

  assert {
    condition = anytrue([for s in jsondecode(aws_iam_role_policy.this[0].policy).Statement :
      s.Sid == "KeyAccess" && toset(s.Action) == toset(["kms:DescribeKey", "kms:GenerateDataKey", "kms:Encrypt", "kms:Decrypt"])
      && toset(s.Resource) == toset(var.kms_key_arns)
    ])
    error_message = "KMS actions must be DescribeKey, GenerateDataKey, Encrypt, Decrypt on the given keys."
  }
}

run "option_group_backup_restore_and_tde" {
  command = plan

  variables {
    create_role = false
    role_arn    = "arn:aws:iam::123456789012:role/existing-backup-role"
  }

  assert {
    condition     = aws_db_option_group.this[0].engine_name == "sqlserver-se" && aws_db_option_group.this[0].major_engine_version == "15.00"
    error_message = "Defaults must be SQL Server 2019 Standard Edition."
  }

  assert {
    condition = anytrue([for o in aws_db_option_group.this[0].option :
      o.option_name == "SQLSERVER_BACKUP_RESTORE"
      && anytrue([for st in o.option_settings : st.name == "IAM_ROLE_ARN" && st.value == "arn:aws:iam::123456789012:role/existing-backup-role"])
    ])
    error_message = "SQLSERVER_BACKUP_RESTORE must carry IAM_ROLE_ARN = the role."
  }

  assert {
    condition     = contains([for o in aws_db_option_group.this[0].option : o.option_name], "TRANSPARENT_DATA_ENCRYPTION")
    error_message = "Standard Edition 2019 supports TDE: the option must be there."
  }

  assert {
    condition     = length(aws_iam_role.this) == 0
    error_message = "create_role = false must not create a role."
  }
}

run "no_tde_on_standard_before_2019" {
  command = plan

  variables {
    major_engine_version = "14.00"
  }

  assert {
    condition     = !contains([for o in aws_db_option_group.this[0].option : o.option_name], "TRANSPARENT_DATA_ENCRYPTION")
    error_message = "Standard Edition 2017 has no TDE on RDS: the option must be left out."
  }

  assert {
    condition     = contains([for o in aws_db_option_group.this[0].option : o.option_name], "SQLSERVER_BACKUP_RESTORE")
    error_message = "SQLSERVER_BACKUP_RESTORE must be there on every version."
  }
}

run "tde_on_enterprise_2016" {
  command = plan

  variables {
    engine_name          = "sqlserver-ee"
    major_engine_version = "13.00"
  }

  assert {
    condition     = contains([for o in aws_db_option_group.this[0].option : o.option_name], "TRANSPARENT_DATA_ENCRYPTION")
    error_message = "Enterprise Edition supports TDE on every version."
  }
}

run "tde_required_where_unsupported" {
  command = plan

  variables {
    major_engine_version = "14.00"
    enable_tde           = true
  }

  expect_failures = [aws_db_option_group.this]
}

run "no_bucket_rejected" {
  command = plan

  variables {
    bucket_arns = []
  }

  expect_failures = [aws_iam_role_policy.this]
}

run "no_role_rejected" {
  command = plan

  variables {
    create_role = false
  }

  expect_failures = [aws_db_option_group.this]
}

run "unsupported_edition_rejected" {
  command = plan

  variables {
    engine_name = "sqlserver-web"
  }

  expect_failures = [var.engine_name]
}

run "upper_case_name_rejected" {
  command = plan

  variables {
    name = "Sales"
  }

  expect_failures = [var.name]
}

run "create_false_creates_nothing" {
  command = plan

  variables {
    create = false
  }

  assert {
    condition     = length(aws_iam_role.this) == 0 && length(aws_db_option_group.this) == 0
    error_message = "create = false must create nothing."
  }
}
