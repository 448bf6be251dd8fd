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

module "rds_backup_restore" {
  source = "../../"

  name                 = "sales-sqlserver"
  engine_name          = "sqlserver-ee"
  major_engine_version = "16.00"

  bucket_arns      = ["arn:aws:s3:::sales-sqlserver-backups-${local.account_id}"]
  kms_key_arns     = ["arn:aws:kms:eu-west-1:${local.account_id}:key/1234abcd-12ab-34cd-56ef-1234567890ab"]
  db_instance_arns = ["arn:aws:rds:eu-west-1:${local.account_id}:db:sales"]

  tags = { Environment = "example" }
}

output "option_group_name" {
  description = "Attach this option group to the DB instance."
  value       = module.rds_backup_restore.option_group_name
}
