# Plan-level checks of the security settings and the wiring between the parts, with a mocked AWS provider.

mock_provider "aws" {
  # Mocked computed values (bucket IDs, the key ARN) already in plan (Terraform >= 1.11), so the
  # wiring between the parts can be asserted without an apply.
  override_during = plan

  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_region" {
    defaults = { name = "us-east-1" }
  }
  # Fixed ARNs of the key and the role, so the wiring assertions can compare them.
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/sales-sqlserver-rds-backup-restore" }
  }
  mock_resource "aws_kms_key" {
    defaults = {
      arn    = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
      key_id = "1234abcd-12ab-34cd-56ef-1234567890ab"
    }
  }
}

variables {
  name                 = "sales-sqlserver"
  controller_role_arns = ["arn:aws:iam::123456789012:role/dbshift-controller"]
}

run "buckets_encrypted_as_the_procedure_needs" {
  command = plan

  assert {
    condition     = module.backups.bucket_sse_algorithm == "AES256"
    error_message = "The backup/tlog bucket must use SSE-S3: AWS does not support tlog copies into SSE-KMS buckets."
  }

  assert {
    condition     = module.certificates.bucket_sse_algorithm == "aws:kms"
    error_message = "The certificate bucket must use SSE-KMS."
  }

  assert {
    condition     = output.kms_key_arn == "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    error_message = "kms_key_arn must be the created key."
  }

  assert {
    condition = anytrue([for s in jsondecode(module.certificates.bucket_policy).Statement : try(
      s.Effect == "Deny" && s.Action == "s3:PutObject"
      && s.Condition.StringNotEquals["s3:x-amz-server-side-encryption-aws-kms-key-id"] == output.kms_key_arn,
      false,
    )])
    error_message = "The certificate bucket must deny uploads naming another KMS key."
  }

  assert {
    condition = !anytrue([for s in jsondecode(module.backups.bucket_policy).Statement :
      can(s.Condition.StringNotEquals["s3:x-amz-server-side-encryption-aws-kms-key-id"])
    ])
    error_message = "No KMS key condition on the SSE-S3 backup bucket."
  }

  assert {
    condition = alltrue([for policy in [module.backups.bucket_policy, module.certificates.bucket_policy] :
      anytrue([for s in jsondecode(policy).Statement : s.Effect == "Deny" && try(s.Condition.Bool["aws:SecureTransport"], "") == "false"])
    ])
    error_message = "Both buckets must deny requests without TLS."
  }

  assert {
    condition     = output.backup_bucket_name == "sales-sqlserver-backups-123456789012" && output.certificate_bucket_name == "sales-sqlserver-tde-certs-123456789012"
    error_message = "Bucket names must default to <name>-backups-<account> and <name>-tde-certs-<account>."
  }
}

run "tlog_copies_allowed_only_under_the_tlog_prefix" {
  command = plan

  assert {
    condition = anytrue([for s in jsondecode(module.backups.bucket_policy).Statement : try(
      s.Effect == "Allow" && s.Principal.Service == "backups.rds.amazonaws.com"
      && s.Resource == "arn:aws:s3:::sales-sqlserver-backups-123456789012/tlogs/*"
      && s.Condition.StringEquals["s3:x-amz-acl"] == "bucket-owner-full-control"
      && s.Condition.ArnEquals["aws:SourceArn"] == ["arn:aws:rds:us-east-1:123456789012:db:*"],
      false,
    )])
    error_message = "RDS must be allowed to copy tlogs into <backup bucket>/tlogs/ (any instance of the account when none is listed)."
  }

  assert {
    condition     = !anytrue([for s in jsondecode(module.certificates.bucket_policy).Statement : s.Effect == "Allow"])
    error_message = "The certificate bucket policy must allow nothing."
  }

  assert {
    condition = (
      output.tlog_s3_prefix_url == "s3://sales-sqlserver-backups-123456789012/tlogs/"
      && output.backup_s3_prefix_url == "s3://sales-sqlserver-backups-123456789012/backups/"
      && output.certificate_s3_prefix_url == "s3://sales-sqlserver-tde-certs-123456789012/certificates/"
      && output.tlog_copy_target_s3_arn == "arn:aws:s3:::sales-sqlserver-backups-123456789012/tlogs"
    )
    error_message = "The s3:// URLs and the rds_tlog_copy_setup ARN must name the buckets and prefixes."
  }
}

run "listed_instances_only" {
  command = plan

  variables {
    db_instance_arns = ["arn:aws:rds:us-east-1:123456789012:db:sales"]
  }

  assert {
    condition = anytrue([for s in jsondecode(module.backups.bucket_policy).Statement : try(
      s.Principal.Service == "backups.rds.amazonaws.com" && s.Condition.ArnEquals["aws:SourceArn"] == ["arn:aws:rds:us-east-1:123456789012:db:sales"],
      false,
    )])
    error_message = "Tlog copies must be limited to the listed instances."
  }

  assert {
    condition = alltrue([for s in jsondecode(module.rds_backup_restore.iam_role_trust_policy).Statement : try(
      contains(s.Condition.ArnLike["aws:SourceArn"], "arn:aws:rds:us-east-1:123456789012:db:sales")
      && !contains(s.Condition.ArnLike["aws:SourceArn"], "arn:aws:rds:us-east-1:123456789012:db:*"),
      false,
    )])
    error_message = "The role trust must be limited to the listed instances."
  }
}

run "role_reaches_both_buckets_and_the_key" {
  command = plan

  assert {
    condition = anytrue([for s in jsondecode(module.rds_backup_restore.iam_role_permissions_policy).Statement :
      s.Sid == "BucketAccess" && toset(s.Resource) == toset(["arn:aws:s3:::sales-sqlserver-backups-123456789012", "arn:aws:s3:::sales-sqlserver-tde-certs-123456789012"])
    ])
    error_message = "The RDS role must reach both buckets."
  }

  assert {
    condition = anytrue([for s in jsondecode(module.rds_backup_restore.iam_role_permissions_policy).Statement :
      s.Sid == "ObjectAccess" && toset(s.Resource) == toset(["arn:aws:s3:::sales-sqlserver-backups-123456789012/*", "arn:aws:s3:::sales-sqlserver-tde-certs-123456789012/*"])
    ])
    error_message = "The RDS role must read and write objects in both buckets."
  }

  assert {
    condition = anytrue([for s in jsondecode(module.rds_backup_restore.iam_role_permissions_policy).Statement :
      s.Sid == "KeyAccess" && s.Resource == [output.kms_key_arn]
    ])
    error_message = "The RDS role must use the created key."
  }

  assert {
    condition     = module.rds_backup_restore.option_group_options["SQLSERVER_BACKUP_RESTORE"]["IAM_ROLE_ARN"] == output.rds_backup_restore_role_arn
    error_message = "SQLSERVER_BACKUP_RESTORE must carry the created role."
  }

  assert {
    condition     = output.option_group_tde_enabled == true && output.option_group_name == "sales-sqlserver"
    error_message = "The option group must be <name> and include TRANSPARENT_DATA_ENCRYPTION."
  }
}

run "key_policy_rds_role_uses_controller_decrypts" {
  command = plan

  assert {
    condition = anytrue([for s in jsondecode(output.kms_key_policy).Statement : try(
      s.Sid == "KeyUsage" && s.Principal.AWS == [output.rds_backup_restore_role_arn],
      false,
    )])
    error_message = "The RDS role must be the key's user."
  }

  assert {
    condition = anytrue([for s in jsondecode(output.kms_key_policy).Statement : try(
      s.Sid == "KeyDecryptOnly" && s.Principal.AWS == ["arn:aws:iam::123456789012:role/dbshift-controller"]
      && toset(s.Action) == toset(["kms:Decrypt", "kms:DescribeKey"]),
      false,
    )])
    error_message = "The controller roles must be allowed to Decrypt, and nothing more."
  }
}

run "access_logs_of_both_buckets_in_one_log_bucket" {
  command = plan

  assert {
    condition     = module.backups.log_bucket_id == "sales-sqlserver-backups-123456789012-access-logs" && module.certificates.log_bucket_id == module.backups.log_bucket_id
    error_message = "Both buckets must log to the one created log bucket."
  }

  assert {
    condition     = module.certificates.log_target_prefix == "sales-sqlserver-tde-certs-123456789012/"
    error_message = "The certificate bucket must log under <certificate bucket>/."
  }

  assert {
    condition = anytrue([for s in jsondecode(module.backups.log_bucket_policy).Statement : try(
      s.Principal.Service == "logging.s3.amazonaws.com"
      && s.Condition.ArnLike["aws:SourceArn"] == "arn:aws:s3:::sales-sqlserver-tde-certs-123456789012"
      && s.Resource == "arn:aws:s3:::sales-sqlserver-backups-123456789012-access-logs/sales-sqlserver-tde-certs-123456789012/*",
      false,
    )])
    error_message = "The log bucket must accept the certificate bucket's logs under its own prefix."
  }
}

run "existing_key" {
  command = plan

  variables {
    create_kms_key = false
    kms_key_arn    = "arn:aws:kms:us-east-1:123456789012:key/abcd1234-0000-1111-2222-333344445555"
  }

  assert {
    condition     = output.kms_key_policy == null && output.kms_key_arn == var.kms_key_arn
    error_message = "create_kms_key = false must create no key and use kms_key_arn."
  }

  assert {
    condition = anytrue([for s in jsondecode(module.certificates.bucket_policy).Statement : try(
      s.Condition.StringNotEquals["s3:x-amz-server-side-encryption-aws-kms-key-id"] == var.kms_key_arn,
      false,
    )])
    error_message = "The certificate bucket must be encrypted with the given key."
  }
}

run "existing_key_missing" {
  command = plan

  variables {
    create_kms_key = false
  }

  expect_failures = [output.kms_key_arn]
}

run "overlapping_prefixes_rejected" {
  command = plan

  variables {
    backup_prefix = "fall-forward/"
    tlog_prefix   = "fall-forward/tlogs/"
  }

  expect_failures = [output.backup_s3_prefix_url]
}

run "prefix_without_trailing_slash_rejected" {
  command = plan

  variables {
    tlog_prefix = "tlogs"
  }

  expect_failures = [var.tlog_prefix]
}

run "create_false_creates_nothing" {
  command = plan

  variables {
    create = false
  }

  assert {
    condition     = output.backup_bucket_name == null && output.certificate_bucket_name == null && output.kms_key_arn == null && output.rds_backup_restore_role_arn == null && output.option_group_name == null
    error_message = "create = false must create nothing."
  }
}
