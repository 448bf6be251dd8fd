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

module "kms_key" {
  source = "../../"

  alias_name              = "sales-sqlserver-backups"
  deletion_window_in_days = 30
  rotation_period_in_days = 365

  key_administrators = ["arn:aws:iam::${data.aws_caller_identity.current.account_id}:role/dba-admin"]
  key_users          = ["arn:aws:iam::${data.aws_caller_identity.current.account_id}:role/sales-sqlserver-rds-backup-restore"]

  tags = { Environment = "example" }
}

output "key_arn" {
  description = "ARN of the key."
  value       = module.kms_key.key_arn
}
