# The source in eu-west-1, the DR target in eu-central-1: the module gets the target's provider.

provider "aws" {
  alias  = "source"
  region = "eu-west-1"
}

provider "aws" {
  alias  = "target"
  region = "eu-central-1"
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

data "aws_region" "source" {
  provider = aws.source
}

data "aws_caller_identity" "current" {
  provider = aws.target
}

locals {
  account_id = data.aws_caller_identity.current.account_id
}

module "dr_target" {
  source = "../../"

  providers = {
    aws = aws.target
  }

  name          = "sales-db"
  source_region = data.aws_region.source.name
  engine        = "postgres"

  vpc_id                     = "vpc-0123456789abcdef0"
  subnet_ids                 = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
  allowed_cidr_blocks        = ["10.20.0.0/16"]
  allowed_security_group_ids = ["sg-0123456789abcdef0"]
  egress_cidr_blocks         = ["10.20.255.0/24"]

  kms_key_administrators = ["arn:aws:iam::${local.account_id}:role/dba-admin"]
  kms_key_users          = ["arn:aws:iam::${local.account_id}:role/dbshift-dr-runbook"]

  create_redshift_snapshot_copy_grant = true

  route53_zone_id         = "Z0123456789ABCDEFGHIJ"
  route53_record_name     = "db.sales.example.internal"
  route53_record_endpoint = "sales.abc123.eu-central-1.rds.amazonaws.com"

  dump_expiration_days = 30

  tags = { Environment = "example" }
}

output "kms_key_arn" {
  description = "--kms-key-id of the cross-Region snapshot copy."
  value       = module.dr_target.kms_key_arn
}

output "db_subnet_group_name" {
  description = "--db-subnet-group-name of the restore."
  value       = module.dr_target.db_subnet_group_name
}

output "bucket_name" {
  description = "Where the native dump is streamed to."
  value       = module.dr_target.bucket_name
}
