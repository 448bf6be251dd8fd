# A production-shaped fall-forward estate: the fall_forward module, as in stacks/local, against real AWS.

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

# Backups and tlog copies (SSE-S3: AWS does not support tlog copies into SSE-KMS buckets; RDS
# encrypts each tlog with the key), TDE certificates (SSE-KMS), the key, role and option group.
module "fall_forward" {
  source = "../../modules/fall_forward"

  name                 = var.name
  engine_name          = var.engine_name
  major_engine_version = var.major_engine_version
  db_instance_arns     = [local.db_instance_arn]

  kms_key_multi_region   = true # replicas decrypt cross-Region copies in the DR Region
  kms_key_administrators = var.key_administrators
  kms_key_users          = var.key_users
  controller_role_arns   = var.controller_role_arns

  tlog_expiration_days               = var.tlog_retention_days
  noncurrent_version_expiration_days = 30
}
