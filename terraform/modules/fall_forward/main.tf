# What the fall-forward runbook needs on the AWS side of an RDS for SQL Server source: two buckets,
# a customer managed key, the native backup/restore role and the option group, wired together.

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
  partition = try(data.aws_partition.current[0].partition, "aws")
  # "none" keeps the default bucket names valid when create = false (nothing is created then).
  account_id = try(data.aws_caller_identity.current[0].account_id, "none")
  region     = try(data.aws_region.current[0].name, "")

  backup_bucket      = coalesce(var.backup_bucket, "${var.name}-backups-${local.account_id}")
  certificate_bucket = coalesce(var.certificate_bucket, "${var.name}-tde-certs-${local.account_id}")
  log_bucket         = coalesce(var.log_bucket, "${local.backup_bucket}-access-logs")

  # ARNs built from names, not read back from the buckets: known at plan time, so the role policy
  # and the tftest assertions see final values.
  backup_bucket_arn      = "arn:${local.partition}:s3:::${local.backup_bucket}"
  certificate_bucket_arn = "arn:${local.partition}:s3:::${local.certificate_bucket}"

  kms_key_arn = var.create_kms_key ? module.kms_key.key_arn : var.kms_key_arn

  # The DB instances that may copy tlogs into the backup bucket: the same set the role trusts.
  tlog_source_arns = length(var.db_instance_arns) > 0 ? var.db_instance_arns : (
    var.create ? ["arn:${local.partition}:rds:${local.region}:${local.account_id}:db:*"] : []
  )

  tlog_lifecycle_rules = var.tlog_expiration_days == null ? [] : [{
    id              = "expire-tlogs"
    prefix          = var.tlog_prefix
    expiration_days = var.tlog_expiration_days
  }]
  noncurrent_lifecycle_rules = var.noncurrent_version_expiration_days == null ? [] : [{
    id                                 = "expire-noncurrent"
    noncurrent_version_expiration_days = var.noncurrent_version_expiration_days
  }]
}

################################################################################
# KMS key
################################################################################

# The key RDS encrypts with: native backups (@kms_master_key_arn), each copied tlog (@kms_key_arn),
# the TDE certificate's private key password (@kms_password_key_arn), and the certificate bucket
# (SSE-KMS). The runbook's controller only ever decrypts.
module "kms_key" {
  source = "../kms_key"

  create = var.create && var.create_kms_key

  alias_name              = coalesce(var.kms_key_alias_name, var.name)
  description             = "dbshift fall forward (${var.name}): native backups, tlog copies, TDE certificate passwords"
  deletion_window_in_days = var.kms_key_deletion_window_in_days
  multi_region            = var.kms_key_multi_region
  key_administrators      = var.kms_key_administrators
  key_users               = concat(compact([module.rds_backup_restore.iam_role_arn]), var.kms_key_users)
  key_decrypt_users       = var.controller_role_arns

  tags = var.tags
}

################################################################################
# Bucket 1: native backups and transaction log copies
################################################################################

# SSE-S3, not SSE-KMS: AWS does not support transaction log copies into SSE-KMS buckets. RDS
# encrypts every copied tlog (and every native backup given @kms_master_key_arn) with the key
# above before writing it, so the objects are still KMS-protected.
module "backups" {
  source = "../backup_storage"

  create = var.create

  bucket        = local.backup_bucket
  sse_algorithm = "AES256"
  force_destroy = var.force_destroy

  rds_tlog_copy_source_arns = local.tlog_source_arns
  rds_tlog_copy_prefix      = var.tlog_prefix

  log_bucket                  = local.log_bucket
  log_retention_days          = var.log_retention_days
  log_delivery_source_buckets = [local.certificate_bucket]

  lifecycle_rules = concat(local.tlog_lifecycle_rules, local.noncurrent_lifecycle_rules)

  tags = var.tags
}

################################################################################
# Bucket 2: TDE certificates
################################################################################

# rds_backup_tde_certificate writes the .cer and the .pvk (whose password is KMS-encrypted in
# the object's metadata); nothing else lands here, so SSE-KMS with our key is possible.
module "certificates" {
  source = "../backup_storage"

  # Without a key the plan stops at the kms_key_arn output's precondition, which names the fix.
  create = var.create && (var.create_kms_key || var.kms_key_arn != null)

  bucket        = local.certificate_bucket
  sse_algorithm = "aws:kms"
  kms_key_arn   = local.kms_key_arn
  force_destroy = var.force_destroy

  # Access logs go to the backup bucket's log bucket, under `<certificate bucket>/`.
  create_log_bucket     = false
  logging_target_bucket = module.backups.log_bucket_id

  lifecycle_rules = local.noncurrent_lifecycle_rules

  tags = var.tags
}

################################################################################
# Native backup/restore role and option group
################################################################################

module "rds_backup_restore" {
  source = "../rds_backup_restore"

  create = var.create

  name                      = var.name
  role_name                 = var.role_name
  role_path                 = var.role_path
  role_permissions_boundary = var.role_permissions_boundary
  bucket_arns               = var.create ? [local.backup_bucket_arn, local.certificate_bucket_arn] : []
  kms_key_arns              = compact([local.kms_key_arn])
  db_instance_arns          = var.db_instance_arns

  engine_name          = var.engine_name
  major_engine_version = var.major_engine_version
  enable_tde           = var.enable_tde

  tags = var.tags
}
