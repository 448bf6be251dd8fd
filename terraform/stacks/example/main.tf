# A production-shaped fall-forward estate: the same modules as stacks/local, against real AWS.

provider "aws" {
  region = var.region

  default_tags {
    tags = merge(var.tags, { Project = "dbshift", Workload = var.name })
  }
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  account_id      = data.aws_caller_identity.current.account_id
  db_instance_arn = "arn:${data.aws_partition.current.partition}:rds:${var.region}:${local.account_id}:db:${var.db_instance_identifier}"
}

module "kms_key" {
  source = "../../modules/kms_key"

  alias_name         = "${var.name}-backups"
  multi_region       = true # replicas decrypt cross-Region copies in the DR Region
  key_administrators = var.key_administrators
  key_users          = concat([module.rds_backup_restore.iam_role_arn], var.key_users)
}

# Full backups and TDE certificate files.
module "backups" {
  source = "../../modules/backup_storage"

  bucket      = "${var.name}-backups-${local.account_id}"
  kms_key_arn = module.kms_key.key_arn

  lifecycle_rules = [{
    id                                 = "expire-noncurrent"
    noncurrent_version_expiration_days = 30
  }]
}

# Transaction log copies (rds_tlog_copy_setup). AWS does not support tlog copies into SSE-KMS
# buckets: SSE-S3 here, and RDS encrypts every file with the key passed as @kms_key_arn.
module "tlog_copies" {
  source = "../../modules/backup_storage"

  bucket        = "${var.name}-tlogs-${local.account_id}"
  sse_algorithm = "AES256"

  rds_tlog_copy_source_arns = [local.db_instance_arn]
  rds_tlog_copy_prefix      = "tlogs/"

  lifecycle_rules = [{
    id              = "expire-tlogs"
    prefix          = "tlogs/"
    expiration_days = var.tlog_retention_days
  }]
}

module "rds_backup_restore" {
  source = "../../modules/rds_backup_restore"

  name                 = var.name
  engine_name          = var.engine_name
  major_engine_version = var.major_engine_version
  bucket_arns          = [module.backups.bucket_arn, module.tlog_copies.bucket_arn]
  kms_key_arns         = [module.kms_key.key_arn]
  db_instance_arns     = [local.db_instance_arn]
}
