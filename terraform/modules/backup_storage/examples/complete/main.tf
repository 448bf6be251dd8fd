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
  source = "../../../kms_key"

  alias_name = "sales-sqlserver-backups"
}

# Native backups and TDE certificates: SSE-KMS with the key above.
module "backups" {
  source = "../../"

  bucket      = "sales-sqlserver-backups-${data.aws_caller_identity.current.account_id}"
  kms_key_arn = module.kms_key.key_arn

  lifecycle_rules = [{
    id                                 = "expire-noncurrent"
    noncurrent_version_expiration_days = 30
  }]

  tags = { Environment = "example" }
}

# Transaction log copies: AWS does not support copying tlogs into SSE-KMS buckets, so this
# bucket uses SSE-S3; the files themselves are KMS-encrypted by RDS (@kms_key_arn).
module "tlog_copies" {
  source = "../../"

  bucket        = "sales-sqlserver-tlogs-${data.aws_caller_identity.current.account_id}"
  sse_algorithm = "AES256"

  rds_tlog_copy_source_arns = ["arn:aws:rds:eu-west-1:${data.aws_caller_identity.current.account_id}:db:sales"]
  rds_tlog_copy_prefix      = "tlogs/"

  lifecycle_rules = [{
    id              = "expire-tlogs"
    prefix          = "tlogs/"
    expiration_days = 35
  }]

  tags = { Environment = "example" }
}

output "backup_bucket_arn" {
  description = "ARN of the backup bucket."
  value       = module.backups.bucket_arn
}
