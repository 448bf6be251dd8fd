# The landing zone of a cross-Region DR runbook in the target Region: the key snapshots are
# re-encrypted with, where restored databases are placed, who may reach them, where dumps and
# exports land, the Redshift copy grant and the name applications connect to. Call it with the
# target Region's provider (`providers = { aws = aws.target }`).

data "aws_partition" "current" {
  count = var.create ? 1 : 0
}

data "aws_caller_identity" "current" {
  count = var.create ? 1 : 0
}

data "aws_region" "current" {
  count = var.create ? 1 : 0
}

locals {
  partition = try(data.aws_partition.current[0].partition, "aws")
  # "none" keeps the default bucket name valid when create = false (nothing is created then).
  account_id = try(data.aws_caller_identity.current[0].account_id, "none")
  region     = try(data.aws_region.current[0].name, "")

  bucket     = coalesce(var.bucket, "${var.name}-dr-${local.account_id}")
  bucket_arn = "arn:${local.partition}:s3:::${local.bucket}"

  engine_ports = {
    postgres          = 5432
    aurora-postgresql = 5432
    mysql             = 3306
    mariadb           = 3306
    aurora-mysql      = 3306
    sqlserver-ee      = 1433
    sqlserver-se      = 1433
    sqlserver-ex      = 1433
    sqlserver-web     = 1433
    oracle-ee         = 1521
    oracle-se2        = 1521
    redshift          = 5439
    redis             = 6379
    valkey            = 6379
    memcached         = 11211
  }
  port = coalesce(var.port, local.engine_ports[var.engine])

  create_record = var.create && var.route53_zone_id != null

  # Every rule aborts incomplete multipart uploads after a day: the native dump streams to S3 as a
  # multipart upload, and an interrupted one would otherwise keep its parts (and their cost) forever.
  lifecycle_rules = concat(
    [{
      id                                     = "abort-incomplete-multipart-uploads"
      abort_incomplete_multipart_upload_days = 1
      noncurrent_version_expiration_days     = var.noncurrent_version_expiration_days
    }],
    var.dump_expiration_days == null ? [] : [{
      id                                     = "expire-dumps"
      abort_incomplete_multipart_upload_days = 1
      expiration_days                        = var.dump_expiration_days
    }],
  )
}

################################################################################
# KMS key
################################################################################

# Cross-Region snapshot copies (RDS, Aurora), restores and the dump bucket are encrypted with this
# key: a KMS key is Regional, so the source key can never be used here.
module "kms_key" {
  source = "../kms_key"

  create = var.create

  alias_name              = coalesce(var.kms_key_alias_name, "${var.name}-dr")
  description             = "dbshift DR target (${var.name}): cross-Region snapshot copies, restored databases, dumps and exports"
  deletion_window_in_days = var.kms_key_deletion_window_in_days
  key_administrators      = var.kms_key_administrators
  key_users               = var.kms_key_users
  key_statements          = var.kms_key_statements

  tags = var.tags
}

################################################################################
# DB subnet group
################################################################################

resource "aws_db_subnet_group" "this" {
  count = var.create && var.create_db_subnet_group ? 1 : 0

  name        = "${var.name}-dr"
  description = "dbshift DR target (${var.name}): subnets of restored databases"
  subnet_ids  = var.subnet_ids

  tags = merge(var.tags, { Name = "${var.name}-dr" })

  lifecycle {
    precondition {
      condition     = length(var.subnet_ids) >= 2
      error_message = "subnet_ids needs at least two private subnets in different Availability Zones of the target Region (RDS requires two AZs), or set create_db_subnet_group = false."
    }
  }
}

################################################################################
# Security groups
################################################################################

# Attached by the runbook to the restored instance/cluster (VpcSecurityGroupIds), which is created
# outside Terraform.
resource "aws_security_group" "db" {
  #checkov:skip=CKV2_AWS_5:Attached by the DR runbook to the database it restores (VpcSecurityGroupIds); that database is not managed by Terraform.
  count = var.create ? 1 : 0

  name        = "${var.name}-dr-db"
  description = "dbshift DR target (${var.name}): the database, reachable on port ${local.port} from listed sources only"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${var.name}-dr-db" })

  lifecycle {
    create_before_destroy = true
  }
}

# For the applications (and the runbook's verify step): membership is what the database admits,
# so no CIDR has to be widened during a cutover.
resource "aws_security_group" "client" {
  #checkov:skip=CKV2_AWS_5:Attached to the application's instances or tasks in the target Region, which this module does not manage.
  count = var.create ? 1 : 0

  name        = "${var.name}-dr-db-client"
  description = "dbshift DR target (${var.name}): clients allowed to reach the database on port ${local.port}"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${var.name}-dr-db-client" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "from_client" {
  count = var.create ? 1 : 0

  security_group_id            = aws_security_group.db[0].id
  description                  = "Database port from the client security group"
  ip_protocol                  = "tcp"
  from_port                    = local.port
  to_port                      = local.port
  referenced_security_group_id = aws_security_group.client[0].id

  tags = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "from_security_groups" {
  for_each = var.create ? toset(var.allowed_security_group_ids) : toset([])

  security_group_id            = aws_security_group.db[0].id
  description                  = "Database port from ${each.value}"
  ip_protocol                  = "tcp"
  from_port                    = local.port
  to_port                      = local.port
  referenced_security_group_id = each.value

  tags = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "from_cidrs" {
  for_each = var.create ? toset(var.allowed_cidr_blocks) : toset([])

  security_group_id = aws_security_group.db[0].id
  description       = "Database port from ${each.value}"
  ip_protocol       = "tcp"
  from_port         = local.port
  to_port           = local.port
  cidr_ipv4         = each.value

  tags = var.tags
}

# Terraform removes the default allow-all egress of a new security group; the database gets HTTPS
# to the listed ranges only (VPC endpoints for S3/KMS), nothing when none are listed.
resource "aws_vpc_security_group_egress_rule" "db_https" {
  for_each = var.create ? toset(var.egress_cidr_blocks) : toset([])

  security_group_id = aws_security_group.db[0].id
  description       = "HTTPS to ${each.value} (VPC endpoints)"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = each.value

  tags = var.tags
}

resource "aws_vpc_security_group_egress_rule" "client_to_db" {
  count = var.create ? 1 : 0

  security_group_id            = aws_security_group.client[0].id
  description                  = "Database port to the database security group"
  ip_protocol                  = "tcp"
  from_port                    = local.port
  to_port                      = local.port
  referenced_security_group_id = aws_security_group.db[0].id

  tags = var.tags
}

################################################################################
# Bucket for dumps and exports
################################################################################

# SSE-KMS with the target key; TLS-only policy; public access blocked; versioning; access logs.
# Nothing RDS copies as a service lands here, so SSE-KMS is possible (unlike tlog copies).
module "dumps" {
  source = "../backup_storage"

  create = var.create

  bucket        = local.bucket
  sse_algorithm = "aws:kms"
  kms_key_arn   = module.kms_key.key_arn
  force_destroy = var.force_destroy

  lifecycle_rules = local.lifecycle_rules

  tags = var.tags
}

################################################################################
# Redshift snapshot copy grant
################################################################################

# Redshift copies snapshots of KMS-encrypted clusters into this Region only through a grant on a
# key here (EnableSnapshotCopy ... --snapshot-copy-grant-name).
resource "aws_redshift_snapshot_copy_grant" "this" {
  count = var.create && var.create_redshift_snapshot_copy_grant ? 1 : 0

  snapshot_copy_grant_name = "${var.name}-dr"
  kms_key_id               = module.kms_key.key_arn

  tags = var.tags
}

################################################################################
# Route 53 record
################################################################################

# TTL 60, as the guide asks: clients pick up the cutover within a minute.
resource "aws_route53_record" "this" {
  count = local.create_record ? 1 : 0

  zone_id = var.route53_zone_id
  name    = var.route53_record_name
  type    = "CNAME"
  ttl     = 60
  records = [var.route53_record_endpoint]

  lifecycle {
    precondition {
      condition     = var.route53_record_name != null && var.route53_record_endpoint != null
      error_message = "route53_zone_id needs route53_record_name and route53_record_endpoint (the target database's host name), or leave route53_zone_id null."
    }
  }
}
