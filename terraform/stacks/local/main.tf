# The emulated estate's AWS side: the same modules as production, pointed at the moto server.

provider "aws" {
  region     = var.region
  access_key = "testing"
  secret_key = "testing"

  # The emulator has no instance metadata, no real credentials and one fixed account.
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  s3_use_path_style           = true

  endpoints {
    iam = var.aws_endpoint_url
    kms = var.aws_endpoint_url
    rds = var.aws_endpoint_url
    s3  = var.aws_endpoint_url
    sts = var.aws_endpoint_url
  }
}

data "aws_caller_identity" "current" {}

locals {
  tags = {
    Project = "dbshift"
    Stack   = "local"
  }
}

module "kms_key" {
  source = "../../modules/kms_key"

  alias_name              = "${var.name_prefix}-backups"
  description             = "dbshift local estate: backups, tlog copies and TDE certificate passwords"
  deletion_window_in_days = 7
  key_users               = [module.rds_backup_restore.iam_role_arn]

  tags = local.tags
}

module "backup_storage" {
  source = "../../modules/backup_storage"

  bucket        = "${var.name_prefix}-backups-${data.aws_caller_identity.current.account_id}"
  kms_key_arn   = module.kms_key.key_arn
  force_destroy = true # an emulated estate is thrown away with its objects

  # No lifecycle configurations: an emulated estate lives for minutes, and the AWS provider
  # waits at least 30 s for each one to settle.
  log_retention_days = null

  tags = local.tags
}

module "rds_backup_restore" {
  source = "../../modules/rds_backup_restore"

  name                 = "${var.name_prefix}-sqlserver"
  engine_name          = var.engine_name
  major_engine_version = var.major_engine_version
  bucket_arns          = [module.backup_storage.bucket_arn]
  kms_key_arns         = [module.kms_key.key_arn]

  tags = local.tags
}
