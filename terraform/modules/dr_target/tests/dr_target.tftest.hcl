# Plan-level checks of the DR target's security settings, with a mocked AWS provider.

mock_provider "aws" {
  # Mocked computed values (the key ARN, security group IDs) already in plan (Terraform >= 1.11),
  # so the wiring between the parts can be asserted without an apply.
  override_during = plan

  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_region" {
    defaults = { name = "eu-central-1" }
  }
  mock_resource "aws_kms_key" {
    defaults = {
      arn    = "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
      key_id = "1234abcd-12ab-34cd-56ef-1234567890ab"
    }
  }
  mock_resource "aws_security_group" {
    defaults = { id = "sg-0aaaaaaaaaaaaaaaa" }
  }
}

# Distinct IDs for the two groups, so the rules are seen to reference the right one.
override_resource {
  target          = aws_security_group.client
  override_during = plan
  values          = { id = "sg-0cccccccccccccccc" }
}

variables {
  name          = "sales-db"
  source_region = "eu-west-1"
  vpc_id        = "vpc-0123456789abcdef0"
  subnet_ids    = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
  engine        = "postgres"
}

run "key_rotated_and_encrypts_the_bucket" {
  command = plan

  assert {
    condition     = output.kms_key_rotation_period_in_days == 365
    error_message = "The target key must rotate (yearly by default)."
  }

  assert {
    condition     = output.kms_key_arn == "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab" && output.kms_key_alias_name == "alias/sales-db-dr"
    error_message = "kms_key_arn must be the created key, aliased alias/<name>-dr."
  }

  assert {
    condition     = output.bucket_sse_algorithm == "aws:kms"
    error_message = "The dump bucket must use SSE-KMS."
  }

  assert {
    condition = anytrue([for s in jsondecode(output.bucket_policy).Statement : try(
      s.Effect == "Deny" && s.Action == "s3:PutObject"
      && s.Condition.StringNotEquals["s3:x-amz-server-side-encryption-aws-kms-key-id"] == output.kms_key_arn,
      false,
    )])
    error_message = "The dump bucket must be encrypted with the target key and deny uploads naming another key."
  }

  assert {
    condition = anytrue([for s in jsondecode(output.bucket_policy).Statement : try(
      s.Effect == "Deny" && s.Principal == "*" && s.Action == "s3:*" && s.Condition.Bool["aws:SecureTransport"] == "false",
      false,
    )])
    error_message = "The dump bucket must deny requests without TLS."
  }

  assert {
    condition     = output.bucket_name == "sales-db-dr-123456789012" && output.bucket_arn == "arn:aws:s3:::sales-db-dr-123456789012"
    error_message = "The bucket name must default to <name>-dr-<account>."
  }

  assert {
    condition     = length(output.bucket_lifecycle_rules) > 0 && alltrue([for r in output.bucket_lifecycle_rules : r.abort_incomplete_multipart_upload_days == 1])
    error_message = "Every lifecycle rule must abort incomplete multipart uploads after 1 day (the native dump uploads in parts)."
  }

  assert {
    condition     = output.region == "eu-central-1"
    error_message = "region must be the provider's (target) Region."
  }
}

run "no_public_ingress_and_restricted_egress" {
  command = plan

  variables {
    allowed_cidr_blocks        = ["10.20.0.0/16"]
    allowed_security_group_ids = ["sg-0bbbbbbbbbbbbbbbb"]
  }

  assert {
    condition = alltrue([for r in concat(values(aws_vpc_security_group_ingress_rule.from_cidrs), values(aws_vpc_security_group_ingress_rule.from_security_groups), aws_vpc_security_group_ingress_rule.from_client) :
      r.from_port == 5432 && r.to_port == 5432 && r.ip_protocol == "tcp" && r.cidr_ipv4 != "0.0.0.0/0" && r.cidr_ipv6 == null
    ])
    error_message = "Ingress must be the PostgreSQL port only, never from 0.0.0.0/0 or IPv6."
  }

  assert {
    condition     = aws_vpc_security_group_ingress_rule.from_cidrs["10.20.0.0/16"].cidr_ipv4 == "10.20.0.0/16" && aws_vpc_security_group_ingress_rule.from_security_groups["sg-0bbbbbbbbbbbbbbbb"].referenced_security_group_id == "sg-0bbbbbbbbbbbbbbbb"
    error_message = "The listed CIDR blocks and security groups must be admitted."
  }

  assert {
    condition     = length(aws_vpc_security_group_egress_rule.db_https) == 0 && length(aws_security_group.db[0].egress) == 0
    error_message = "The database security group must have no egress unless egress_cidr_blocks are given."
  }

  assert {
    condition     = aws_vpc_security_group_egress_rule.client_to_db[0].from_port == 5432 && aws_vpc_security_group_egress_rule.client_to_db[0].referenced_security_group_id == output.db_security_group_id
    error_message = "The client security group may only reach the database port of the database security group."
  }

  assert {
    condition     = aws_vpc_security_group_ingress_rule.from_client[0].referenced_security_group_id == output.client_security_group_id && output.client_security_group_id != output.db_security_group_id
    error_message = "The database must admit the client security group."
  }

  assert {
    condition     = length(output.security_group_ids) == 1 && output.security_group_ids[0] == output.db_security_group_id && output.db_port == 5432
    error_message = "security_group_ids must be the database security group."
  }
}

run "engine_sets_the_port" {
  command = plan

  variables {
    engine              = "sqlserver-se"
    allowed_cidr_blocks = ["10.20.0.0/16"]
    egress_cidr_blocks  = ["10.20.128.0/24"]
  }

  assert {
    condition     = aws_vpc_security_group_ingress_rule.from_cidrs["10.20.0.0/16"].from_port == 1433 && output.db_port == 1433
    error_message = "SQL Server must be reached on 1433."
  }

  assert {
    condition     = aws_vpc_security_group_egress_rule.db_https["10.20.128.0/24"].from_port == 443 && aws_vpc_security_group_egress_rule.db_https["10.20.128.0/24"].to_port == 443
    error_message = "Database egress must be HTTPS to the listed ranges only."
  }
}

run "public_cidr_rejected" {
  command = plan

  variables {
    allowed_cidr_blocks = ["0.0.0.0/0"]
  }

  expect_failures = [var.allowed_cidr_blocks]
}

run "subnet_group_and_optional_parts" {
  command = plan

  assert {
    condition     = output.db_subnet_group_name == "sales-db-dr" && toset(aws_db_subnet_group.this[0].subnet_ids) == toset(var.subnet_ids)
    error_message = "The DB subnet group must be <name>-dr with the given subnets."
  }

  assert {
    condition     = output.redshift_snapshot_copy_grant_name == null && output.route53_record_fqdn == null && length(aws_route53_record.this) == 0
    error_message = "The grant and the record are optional and off by default."
  }
}

run "redshift_grant_uses_the_target_key" {
  command = plan

  variables {
    create_redshift_snapshot_copy_grant = true
  }

  assert {
    condition     = aws_redshift_snapshot_copy_grant.this[0].kms_key_id == output.kms_key_arn && output.redshift_snapshot_copy_grant_name == "sales-db-dr"
    error_message = "The snapshot copy grant must be <name>-dr for the target key."
  }
}

run "route53_cname_ttl_60" {
  command = plan

  variables {
    route53_zone_id         = "Z0123456789ABCDEFGHIJ"
    route53_record_name     = "db.sales.example.internal"
    route53_record_endpoint = "sales.abc123.eu-central-1.rds.amazonaws.com"
  }

  assert {
    condition = (
      aws_route53_record.this[0].type == "CNAME" && aws_route53_record.this[0].ttl == 60
      && aws_route53_record.this[0].records == toset(["sales.abc123.eu-central-1.rds.amazonaws.com"])
      && aws_route53_record.this[0].zone_id == "Z0123456789ABCDEFGHIJ"
    )
    error_message = "The record must be a CNAME with TTL 60 to the target endpoint."
  }
}

run "route53_record_needs_name_and_endpoint" {
  command = plan

  variables {
    route53_zone_id = "Z0123456789ABCDEFGHIJ"
  }

  expect_failures = [aws_route53_record.this]
}

run "provider_in_the_source_region_refused" {
  command = plan

  variables {
    source_region = "eu-central-1"
  }

  expect_failures = [output.region]
}

run "single_subnet_refused" {
  command = plan

  variables {
    subnet_ids = ["subnet-0123456789abcdef0"]
  }

  expect_failures = [aws_db_subnet_group.this]
}
