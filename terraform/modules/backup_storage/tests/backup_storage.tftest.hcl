# Plan-level checks of the security settings, with a mocked AWS provider (no credentials, no network).

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
}

variables {
  bucket      = "sales-backups"
  kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
}

run "secure_defaults" {
  command = plan

  assert {
    condition = alltrue([
      aws_s3_bucket_public_access_block.this[0].block_public_acls,
      aws_s3_bucket_public_access_block.this[0].block_public_policy,
      aws_s3_bucket_public_access_block.this[0].ignore_public_acls,
      aws_s3_bucket_public_access_block.this[0].restrict_public_buckets,
    ])
    error_message = "Every public access block setting must be true."
  }

  assert {
    condition     = one(one(aws_s3_bucket_server_side_encryption_configuration.this[0].rule).apply_server_side_encryption_by_default).sse_algorithm == "aws:kms"
    error_message = "Default encryption must be SSE-KMS."
  }

  assert {
    condition     = one(one(aws_s3_bucket_server_side_encryption_configuration.this[0].rule).apply_server_side_encryption_by_default).kms_master_key_id == var.kms_key_arn
    error_message = "Default encryption must use the given key."
  }

  assert {
    condition     = one(aws_s3_bucket_server_side_encryption_configuration.this[0].rule).bucket_key_enabled == true
    error_message = "The S3 Bucket Key must be on."
  }

  assert {
    condition     = one(aws_s3_bucket_versioning.this[0].versioning_configuration).status == "Enabled"
    error_message = "Versioning must be Enabled."
  }

  assert {
    condition     = one(aws_s3_bucket_ownership_controls.this[0].rule).object_ownership == "BucketOwnerPreferred"
    error_message = "Object ownership must be BucketOwnerPreferred (RDS tlog copies)."
  }

  assert {
    condition     = aws_s3_bucket.this[0].force_destroy == false
    error_message = "Backups must not be force-destroyed by default."
  }

  assert {
    condition     = aws_s3_bucket_logging.this[0].target_bucket == "sales-backups-access-logs" && aws_s3_bucket_logging.this[0].target_prefix == "sales-backups/"
    error_message = "Access logs must go to the created log bucket under <bucket>/."
  }

  assert {
    condition     = one(one(aws_s3_bucket_server_side_encryption_configuration.logs[0].rule).apply_server_side_encryption_by_default).sse_algorithm == "AES256"
    error_message = "The log bucket must use SSE-S3: server access logging cannot deliver to SSE-KMS buckets."
  }

  assert {
    condition     = one(aws_s3_bucket_ownership_controls.logs[0].rule).object_ownership == "BucketOwnerEnforced"
    error_message = "The log bucket must disable ACLs."
  }

  assert {
    condition     = length(aws_s3_bucket_lifecycle_configuration.logs) == 1 && length(aws_s3_bucket_lifecycle_configuration.this) == 0
    error_message = "Only the log bucket gets a lifecycle configuration by default."
  }
}

run "policy_denies_insecure_transport_old_tls_and_wrong_keys" {
  command = plan

  assert {
    condition = anytrue([for s in jsondecode(aws_s3_bucket_policy.this[0].policy).Statement :
      s.Effect == "Deny" && s.Principal == "*" && s.Action == "s3:*"
      && try(s.Condition.Bool["aws:SecureTransport"], "") == "false"
      && try(contains(s.Resource, "arn:aws:s3:::sales-backups/*"), false)
    ])
    error_message = "The policy must deny every request made without TLS."
  }

  assert {
    condition = anytrue([for s in jsondecode(aws_s3_bucket_policy.this[0].policy).Statement :
      s.Effect == "Deny" && try(s.Condition.NumericLessThan["s3:TlsVersion"], "") == "1.2"
    ])
    error_message = "The policy must deny TLS older than 1.2."
  }

  assert {
    condition = anytrue([for s in jsondecode(aws_s3_bucket_policy.this[0].policy).Statement :
      s.Effect == "Deny" && s.Action == "s3:PutObject"
      && try(s.Condition.StringNotEquals["s3:x-amz-server-side-encryption-aws-kms-key-id"], "") == var.kms_key_arn
      && try(s.Condition.Null["s3:x-amz-server-side-encryption-aws-kms-key-id"], "") == "false"
    ])
    error_message = "The policy must deny uploads that name another KMS key (and only those: RDS sends no SSE header)."
  }

  assert {
    condition     = !anytrue([for s in jsondecode(aws_s3_bucket_policy.this[0].policy).Statement : s.Effect == "Allow"])
    error_message = "No Allow statement without rds_tlog_copy_source_arns."
  }
}

run "rds_tlog_copies_allowed_for_listed_instances" {
  command = plan

  variables {
    sse_algorithm             = "AES256"
    kms_key_arn               = null
    rds_tlog_copy_source_arns = ["arn:aws:rds:us-east-1:123456789012:db:sales"]
    rds_tlog_copy_prefix      = "tlogs/"
  }

  assert {
    condition = anytrue([for s in jsondecode(aws_s3_bucket_policy.this[0].policy).Statement : try(
      s.Effect == "Allow" && s.Principal.Service == "backups.rds.amazonaws.com" && s.Action == "s3:PutObject"
      && s.Resource == "arn:aws:s3:::sales-backups/tlogs/*"
      && s.Condition.StringEquals["s3:x-amz-acl"] == "bucket-owner-full-control"
      && s.Condition.StringEquals["aws:SourceAccount"] == "123456789012"
      && s.Condition.ArnEquals["aws:SourceArn"] == ["arn:aws:rds:us-east-1:123456789012:db:sales"],
      false,
    )])
    error_message = "backups.rds.amazonaws.com must be allowed to write tlogs, only with bucket-owner-full-control, only for the listed instances."
  }

  assert {
    condition     = one(one(aws_s3_bucket_server_side_encryption_configuration.this[0].rule).apply_server_side_encryption_by_default).sse_algorithm == "AES256"
    error_message = "sse_algorithm AES256 must be honoured."
  }

  assert {
    condition = !anytrue([for s in jsondecode(aws_s3_bucket_policy.this[0].policy).Statement :
      can(s.Condition.StringNotEquals["s3:x-amz-server-side-encryption-aws-kms-key-id"])
    ])
    error_message = "No KMS key statement for an SSE-S3 bucket."
  }
}

run "external_log_target" {
  command = plan

  variables {
    create_log_bucket     = false
    logging_target_bucket = "central-access-logs"
    logging_target_prefix = "s3/sales-backups/"
  }

  assert {
    condition     = length(aws_s3_bucket.logs) == 0 && aws_s3_bucket_logging.this[0].target_bucket == "central-access-logs"
    error_message = "An existing log bucket must be used instead of creating one."
  }
}

run "log_bucket_shared_with_other_buckets" {
  command = plan

  variables {
    log_delivery_source_buckets = ["sales-tde-certs"]
  }

  assert {
    condition = anytrue([for s in jsondecode(aws_s3_bucket_policy.logs[0].policy).Statement : try(
      s.Effect == "Allow" && s.Principal.Service == "logging.s3.amazonaws.com"
      && s.Resource == "arn:aws:s3:::sales-backups-access-logs/sales-tde-certs/*"
      && s.Condition.ArnLike["aws:SourceArn"] == "arn:aws:s3:::sales-tde-certs"
      && s.Condition.StringEquals["aws:SourceAccount"] == "123456789012",
      false,
    )])
    error_message = "Another bucket may deliver access logs only under its own <bucket>/ prefix."
  }

  assert {
    condition = anytrue([for s in jsondecode(aws_s3_bucket_policy.logs[0].policy).Statement : try(
      s.Sid == "AllowS3ServerAccessLogDelivery"
      && s.Resource == "arn:aws:s3:::sales-backups-access-logs/sales-backups/*"
      && s.Condition.ArnLike["aws:SourceArn"] == "arn:aws:s3:::sales-backups",
      false,
    )])
    error_message = "The backup bucket's own delivery statement must stay as it is."
  }
}

run "lifecycle_rules_abort_multipart_uploads" {
  command = plan

  variables {
    lifecycle_rules = [{ id = "expire-old-tlogs", prefix = "tlogs/", expiration_days = 35 }]
  }

  assert {
    condition     = one(aws_s3_bucket_lifecycle_configuration.this[0].rule[0].abort_incomplete_multipart_upload).days_after_initiation == 7
    error_message = "Every lifecycle rule must abort incomplete multipart uploads."
  }

  assert {
    condition     = one(aws_s3_bucket_lifecycle_configuration.this[0].rule[0].expiration).days == 35
    error_message = "expiration_days must be applied."
  }
}

run "kms_key_required_for_sse_kms" {
  command = plan

  variables {
    kms_key_arn = null
  }

  expect_failures = [aws_s3_bucket.this]
}

run "key_alias_rejected" {
  command = plan

  variables {
    kms_key_arn = "alias/sales-backups"
  }

  expect_failures = [var.kms_key_arn]
}

run "invalid_bucket_name_rejected" {
  command = plan

  variables {
    bucket = "Sales_Backups"
  }

  expect_failures = [var.bucket]
}

run "create_false_creates_nothing" {
  command = plan

  variables {
    create = false
  }

  assert {
    condition     = length(aws_s3_bucket.this) == 0 && length(aws_s3_bucket.logs) == 0 && length(aws_s3_bucket_policy.this) == 0
    error_message = "create = false must create nothing."
  }
}
