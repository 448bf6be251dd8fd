data "aws_partition" "current" {
  count = var.create ? 1 : 0
}

data "aws_caller_identity" "current" {
  count = var.create ? 1 : 0
}

locals {
  partition  = try(data.aws_partition.current[0].partition, "aws")
  account_id = try(data.aws_caller_identity.current[0].account_id, "")

  # ARNs built from names, not read back from resources: known at plan time, so policies and
  # the tftest assertions see final values.
  bucket_arn = "arn:${local.partition}:s3:::${var.bucket}"

  create_log_bucket = var.create && var.create_log_bucket
  log_bucket        = coalesce(var.log_bucket, "${var.bucket}-access-logs")
  log_bucket_arn    = "arn:${local.partition}:s3:::${local.log_bucket}"
  log_target        = var.create_log_bucket ? local.log_bucket : var.logging_target_bucket
  log_prefix        = coalesce(var.logging_target_prefix, "${var.bucket}/")
  logging_enabled   = var.create && local.log_target != null

  tlog_resource = "${local.bucket_arn}/${var.rds_tlog_copy_prefix}*"
}

################################################################################
# Backup bucket
################################################################################

resource "aws_s3_bucket" "this" {
  count = var.create ? 1 : 0

  bucket        = var.bucket
  force_destroy = var.force_destroy

  tags = merge(var.tags, { Name = var.bucket })

  lifecycle {
    precondition {
      condition     = var.sse_algorithm != "aws:kms" || var.kms_key_arn != null
      error_message = "kms_key_arn is required when sse_algorithm is \"aws:kms\": pass the ARN of the key that encrypts the backups."
    }
    precondition {
      condition     = !(var.create_log_bucket && var.logging_target_bucket != null)
      error_message = "Set either create_log_bucket = true or logging_target_bucket, not both."
    }
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  count = var.create ? 1 : 0

  bucket = aws_s3_bucket.this[0].id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

# RDS copies transaction log backups with the bucket-owner-full-control ACL; AWS requires
# "Bucket owner preferred" so those objects become the bucket owner's.
resource "aws_s3_bucket_ownership_controls" "this" {
  count = var.create ? 1 : 0

  bucket = aws_s3_bucket.this[0].id

  rule {
    object_ownership = "BucketOwnerPreferred"
  }

  depends_on = [aws_s3_bucket_public_access_block.this]
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  count = var.create ? 1 : 0

  bucket = aws_s3_bucket.this[0].id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.sse_algorithm
      kms_master_key_id = var.sse_algorithm == "aws:kms" ? var.kms_key_arn : null
    }
    bucket_key_enabled = var.sse_algorithm == "aws:kms" ? var.bucket_key_enabled : null
  }
}

resource "aws_s3_bucket_versioning" "this" {
  count = var.create ? 1 : 0

  bucket = aws_s3_bucket.this[0].id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_logging" "this" {
  count = local.logging_enabled ? 1 : 0

  bucket        = aws_s3_bucket.this[0].id
  target_bucket = local.log_target
  target_prefix = local.log_prefix

  # The target is named, not referenced, so it is known at plan time; the created log bucket
  # must exist and accept deliveries first.
  depends_on = [aws_s3_bucket.logs, aws_s3_bucket_policy.logs]
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  count = var.create && length(var.lifecycle_rules) > 0 ? 1 : 0

  bucket = aws_s3_bucket.this[0].id

  dynamic "rule" {
    for_each = var.lifecycle_rules

    content {
      id     = rule.value.id
      status = rule.value.enabled ? "Enabled" : "Disabled"

      filter {
        prefix = rule.value.prefix
      }

      abort_incomplete_multipart_upload {
        days_after_initiation = rule.value.abort_incomplete_multipart_upload_days
      }

      dynamic "transition" {
        for_each = rule.value.transition_days == null ? [] : [rule.value.transition_days]
        content {
          days          = transition.value
          storage_class = rule.value.transition_storage_class
        }
      }

      dynamic "expiration" {
        for_each = rule.value.expiration_days == null ? [] : [rule.value.expiration_days]
        content {
          days = expiration.value
        }
      }

      dynamic "noncurrent_version_expiration" {
        for_each = rule.value.noncurrent_version_expiration_days == null ? [] : [rule.value.noncurrent_version_expiration_days]
        content {
          noncurrent_days = noncurrent_version_expiration.value
        }
      }
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

################################################################################
# Backup bucket policy
################################################################################

locals {
  policy_statements = concat(
    [
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [local.bucket_arn, "${local.bucket_arn}/*"]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
      {
        Sid       = "DenyOutdatedTls"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [local.bucket_arn, "${local.bucket_arn}/*"]
        Condition = { NumericLessThan = { "s3:TlsVersion" = "1.2" } }
      },
      # Uploads that name an encryption algorithm must name ours. RDS native backups
      # (rds_backup_database) and tlog copies send no SSE headers at all, so a policy that
      # *requires* the header would reject them; headerless uploads get the bucket default
      # (our key) instead, and only a wrong header is denied.
      {
        Sid       = "DenyIncorrectEncryptionHeader"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:PutObject"
        Resource  = "${local.bucket_arn}/*"
        Condition = {
          StringNotEquals = { "s3:x-amz-server-side-encryption" = var.sse_algorithm }
          Null            = { "s3:x-amz-server-side-encryption" = "false" }
        }
      },
    ],
    var.sse_algorithm == "aws:kms" ? [{
      Sid       = "DenyIncorrectKmsKeySse"
      Effect    = "Deny"
      Principal = "*"
      Action    = "s3:PutObject"
      Resource  = "${local.bucket_arn}/*"
      Condition = {
        StringNotEquals = { "s3:x-amz-server-side-encryption-aws-kms-key-id" = var.kms_key_arn }
        Null            = { "s3:x-amz-server-side-encryption-aws-kms-key-id" = "false" }
      }
    }] : [],
    # What AWS documents for "access to transaction log backups": the RDS backup service
    # writes with bucket-owner-full-control, only for the listed DB instances.
    length(var.rds_tlog_copy_source_arns) > 0 ? [{
      Sid       = "AllowRdsTransactionLogCopies"
      Effect    = "Allow"
      Principal = { Service = "backups.rds.amazonaws.com" }
      Action    = "s3:PutObject"
      Resource  = local.tlog_resource
      Condition = {
        StringEquals = {
          "s3:x-amz-acl"      = "bucket-owner-full-control"
          "aws:SourceAccount" = local.account_id
        }
        ArnEquals = { "aws:SourceArn" = var.rds_tlog_copy_source_arns }
      }
    }] : [],
  )

  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = local.policy_statements
  })
}

resource "aws_s3_bucket_policy" "this" {
  count = var.create && var.create_bucket_policy ? 1 : 0

  bucket = aws_s3_bucket.this[0].id
  policy = local.policy

  depends_on = [aws_s3_bucket_public_access_block.this, aws_s3_bucket_ownership_controls.this]
}

################################################################################
# Access log bucket
################################################################################

resource "aws_s3_bucket" "logs" {
  count = local.create_log_bucket ? 1 : 0

  bucket        = local.log_bucket
  force_destroy = var.force_destroy

  tags = merge(var.tags, { Name = local.log_bucket })
}

resource "aws_s3_bucket_public_access_block" "logs" {
  count = local.create_log_bucket ? 1 : 0

  bucket = aws_s3_bucket.logs[0].id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

# Log delivery is granted by bucket policy, so ACLs can be switched off entirely.
resource "aws_s3_bucket_ownership_controls" "logs" {
  count = local.create_log_bucket ? 1 : 0

  bucket = aws_s3_bucket.logs[0].id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }

  depends_on = [aws_s3_bucket_public_access_block.logs]
}

# S3 server access logging can only deliver to SSE-S3 target buckets, not SSE-KMS.
resource "aws_s3_bucket_server_side_encryption_configuration" "logs" {
  count = local.create_log_bucket ? 1 : 0

  bucket = aws_s3_bucket.logs[0].id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_versioning" "logs" {
  count = local.create_log_bucket ? 1 : 0

  bucket = aws_s3_bucket.logs[0].id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "logs" {
  count = local.create_log_bucket && var.log_retention_days != null ? 1 : 0

  bucket = aws_s3_bucket.logs[0].id

  rule {
    id     = "expire-access-logs"
    status = "Enabled"

    filter {
      prefix = ""
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }

    expiration {
      days = var.log_retention_days
    }

    noncurrent_version_expiration {
      noncurrent_days = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.logs]
}

locals {
  log_policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [{
        Sid       = "AllowS3ServerAccessLogDelivery"
        Effect    = "Allow"
        Principal = { Service = "logging.s3.amazonaws.com" }
        Action    = "s3:PutObject"
        Resource  = "${local.log_bucket_arn}/${local.log_prefix}*"
        Condition = {
          ArnLike      = { "aws:SourceArn" = local.bucket_arn }
          StringEquals = { "aws:SourceAccount" = local.account_id }
        }
      }],
      # Other buckets sharing this log bucket (e.g. a second bucket of the same workload), each
      # only under its own `<bucket>/` prefix.
      [for i, source in var.log_delivery_source_buckets : {
        Sid       = "AllowS3ServerAccessLogDeliveryFromSource${i}"
        Effect    = "Allow"
        Principal = { Service = "logging.s3.amazonaws.com" }
        Action    = "s3:PutObject"
        Resource  = "${local.log_bucket_arn}/${source}/*"
        Condition = {
          ArnLike      = { "aws:SourceArn" = "arn:${local.partition}:s3:::${source}" }
          StringEquals = { "aws:SourceAccount" = local.account_id }
        }
      }],
      [{
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [local.log_bucket_arn, "${local.log_bucket_arn}/*"]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
        },
        {
          Sid       = "DenyOutdatedTls"
          Effect    = "Deny"
          Principal = "*"
          Action    = "s3:*"
          Resource  = [local.log_bucket_arn, "${local.log_bucket_arn}/*"]
          Condition = { NumericLessThan = { "s3:TlsVersion" = "1.2" } }
      }],
    )
  })
}

resource "aws_s3_bucket_policy" "logs" {
  count = local.create_log_bucket ? 1 : 0

  bucket = aws_s3_bucket.logs[0].id
  policy = local.log_policy

  depends_on = [aws_s3_bucket_public_access_block.logs, aws_s3_bucket_ownership_controls.logs]
}
