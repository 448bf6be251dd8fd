provider "aws" {
  region = "eu-west-1"
}

terraform {
  required_version = ">= 1.7"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }
  }
}

data "aws_caller_identity" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
}

module "fall_forward" {
  source = "../../"

  name                 = "sales-sqlserver"
  engine_name          = "sqlserver-ee"
  major_engine_version = "16.00"

  db_instance_arns = ["arn:aws:rds:eu-west-1:${local.account_id}:db:sales"]

  kms_key_multi_region   = true
  kms_key_administrators = ["arn:aws:iam::${local.account_id}:role/dba-admin"]
  controller_role_arns = [
    "arn:aws:iam::${local.account_id}:role/dbshift-controller",
    "arn:aws:iam::${local.account_id}:role/sales-fall-forward-ec2",
  ]

  tlog_expiration_days               = 35
  noncurrent_version_expiration_days = 30

  tags = { Environment = "example" }
}

output "tlog_copy_target_s3_arn" {
  description = "@target_s3_arn for rds_tlog_copy_setup."
  value       = module.fall_forward.tlog_copy_target_s3_arn
}

output "certificate_s3_prefix_url" {
  description = "Where rds_backup_tde_certificate writes the certificates."
  value       = module.fall_forward.certificate_s3_prefix_url
}

output "kms_key_arn" {
  description = "Key for the RDS procedures' KMS parameters."
  value       = module.fall_forward.kms_key_arn
}
