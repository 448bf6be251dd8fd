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

module "fall_forward" {
  source = "../../modules/fall_forward"

  name                 = "${var.name_prefix}-sqlserver"
  backup_bucket        = "${var.name_prefix}-backups-${data.aws_caller_identity.current.account_id}"
  certificate_bucket   = "${var.name_prefix}-tde-certs-${data.aws_caller_identity.current.account_id}"
  engine_name          = var.engine_name
  major_engine_version = var.major_engine_version
  enable_tde           = null # TDE where the chosen edition/version has it; the default 2019 SE does
  db_instance_arns     = var.db_instance_arns
  controller_role_arns = var.controller_role_arns

  kms_key_alias_name              = "${var.name_prefix}-backups"
  kms_key_deletion_window_in_days = 7
  force_destroy                   = true # an emulated estate is thrown away with its objects

  # No lifecycle configurations: an emulated estate lives for minutes, and the AWS provider
  # waits at least 30 s for each one to settle.
  log_retention_days = null

  tags = local.tags
}
