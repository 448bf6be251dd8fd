data "aws_partition" "current" {
  count = var.create ? 1 : 0
}

data "aws_caller_identity" "current" {
  count = var.create ? 1 : 0
}

data "aws_region" "current" {
  count = var.create ? 1 : 0
}

locals {
  partition  = try(data.aws_partition.current[0].partition, "aws")
  account_id = try(data.aws_caller_identity.current[0].account_id, "")
  region     = try(data.aws_region.current[0].name, "")

  create_role         = var.create && var.create_role
  create_option_group = var.create && var.create_option_group

  role_name         = coalesce(var.role_name, "${var.name}-rds-backup-restore")
  option_group_name = var.name
  option_group_arn  = "arn:${local.partition}:rds:${local.region}:${local.account_id}:og:${local.option_group_name}"
  role_arn          = local.create_role ? try(aws_iam_role.this[0].arn, null) : var.role_arn

  # RDS supports TDE on Enterprise Edition, and on Standard Edition from SQL Server 2019 (15.00).
  tde_supported = var.engine_name == "sqlserver-ee" || tonumber(split(".", var.major_engine_version)[0]) >= 15
  tde_enabled   = var.enable_tde == null ? local.tde_supported : var.enable_tde
}

################################################################################
# IAM role for native backup and restore
################################################################################

locals {
  # The trust AWS documents for native backup and restore: the RDS service, limited with
  # aws:SourceArn to this option group and the DB instances (confused-deputy protection).
  trust_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "RdsNativeBackupRestore"
      Effect    = "Allow"
      Principal = { Service = "rds.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = {
        StringEquals = { "aws:SourceAccount" = local.account_id }
        ArnLike = {
          "aws:SourceArn" = concat(
            [local.option_group_arn],
            length(var.db_instance_arns) > 0 ? var.db_instance_arns : ["arn:${local.partition}:rds:${local.region}:${local.account_id}:db:*"],
          )
        }
      }
    }]
  })

  # Exactly the actions in AWS's "permissions policy for native backup and restore with
  # encryption support"; KMS only when keys are given.
  permissions_policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [
        {
          Sid      = "BucketAccess"
          Effect   = "Allow"
          Action   = ["s3:GetBucketLocation", "s3:ListBucket"]
          Resource = var.bucket_arns
        },
        {
          Sid    = "ObjectAccess"
          Effect = "Allow"
          Action = [
            "s3:AbortMultipartUpload",
            "s3:GetObject",
            "s3:GetObjectAttributes",
            "s3:ListMultipartUploadParts",
            "s3:PutObject",
          ]
          Resource = [for arn in var.bucket_arns : "${arn}/*"]
        },
      ],
      length(var.kms_key_arns) > 0 ? [{
        Sid      = "KeyAccess"
        Effect   = "Allow"
        Action   = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"]
        Resource = var.kms_key_arns
      }] : [],
    )
  })
}

resource "aws_iam_role" "this" {
  count = local.create_role ? 1 : 0

  name                 = local.role_name
  path                 = var.role_path
  description          = "Assumed by RDS for SQL Server native backup and restore (SQLSERVER_BACKUP_RESTORE in ${local.option_group_name})"
  assume_role_policy   = local.trust_policy
  permissions_boundary = var.role_permissions_boundary
  max_session_duration = 3600

  tags = merge(var.tags, { Name = local.role_name })
}

# A separate inline policy, not inside the role: the KMS key policy can then name the role
# while this policy names the key and the bucket, without a dependency cycle. (For the same
# reason the role itself must not reference bucket_arns or kms_key_arns.)
resource "aws_iam_role_policy" "this" {
  count = local.create_role ? 1 : 0

  name   = "native-backup-restore"
  role   = aws_iam_role.this[0].id
  policy = local.permissions_policy

  lifecycle {
    precondition {
      condition     = length(var.bucket_arns) > 0
      error_message = "bucket_arns is empty: give the ARN of at least one backup bucket the role may use."
    }
  }
}

################################################################################
# Option group
################################################################################

resource "aws_db_option_group" "this" {
  count = local.create_option_group ? 1 : 0

  name                     = local.option_group_name
  option_group_description = coalesce(var.option_group_description, "dbshift: native backup and restore for ${var.engine_name} ${var.major_engine_version}")
  engine_name              = var.engine_name
  major_engine_version     = var.major_engine_version

  option {
    option_name = "SQLSERVER_BACKUP_RESTORE"

    option_settings {
      name  = "IAM_ROLE_ARN"
      value = local.role_arn
    }
  }

  # TDE cannot be removed from an option group while a DB instance uses it (AWS makes it
  # permanent and persistent), so turning enable_tde off later needs a new option group.
  dynamic "option" {
    for_each = local.tde_enabled ? ["TRANSPARENT_DATA_ENCRYPTION"] : []
    content {
      option_name = option.value
    }
  }

  tags = merge(var.tags, { Name = local.option_group_name })

  lifecycle {
    precondition {
      condition     = local.role_arn != null
      error_message = "No role for SQLSERVER_BACKUP_RESTORE: keep create_role = true or pass role_arn."
    }
    precondition {
      condition     = !local.tde_enabled || local.tde_supported
      error_message = "enable_tde = true, but RDS offers TDE only on sqlserver-ee, or on sqlserver-se from 15.00 (SQL Server 2019): change engine_name/major_engine_version or set enable_tde = null."
    }
  }

  depends_on = [aws_iam_role_policy.this]
}
