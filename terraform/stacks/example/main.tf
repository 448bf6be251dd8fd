# A production-shaped fall-forward estate: the fall_forward module, as in stacks/local, against real AWS,
# and the cross-Region DR target of the same workload in dr_region.

# The source Region: the default provider (every module below except dr_target) and its alias.
provider "aws" {
  region = var.region

  default_tags {
    tags = merge(var.tags, { Project = "dbshift", Workload = var.name })
  }
}

provider "aws" {
  alias  = "source"
  region = var.region

  default_tags {
    tags = merge(var.tags, { Project = "dbshift", Workload = var.name })
  }
}

# The DR target Region: only dr_target uses it.
provider "aws" {
  alias  = "target"
  region = var.dr_region

  default_tags {
    tags = merge(var.tags, { Project = "dbshift", Workload = var.name, Role = "dr-target" })
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

################################################################################
# Data migration (SQL Server -> Aurora PostgreSQL): configuration, Glue jobs, ECS orchestrator
################################################################################

module "migration_kms_key" {
  source = "../../modules/kms_key"

  alias_name         = "${var.name}-migration"
  description        = "dbshift data migration (${var.name}): parameters, source credentials, data areas"
  key_administrators = var.key_administrators
}

# The source login's value is put outside Terraform (see modules/migration_config), so it never
# lands in the state.
module "migration_config" {
  source = "../../modules/migration_config"

  name        = var.name
  kms_key_arn = module.migration_kms_key.key_arn

  input_partition    = var.migration_input_partition
  partition_col_date = "measured_at"
  server_mappings    = var.migration_server_mappings
  databases          = var.migration_databases
  categories         = { cell_perf_stats = ["cell_performance_data", "ue_statistics_data"] }
}

module "glue_migration" {
  source = "../../modules/glue_migration"

  name        = var.name
  kms_key_arn = module.migration_kms_key.key_arn

  migration_parameter_name       = module.migration_config.migration_parameter_name
  server_mappings_parameter_name = module.migration_config.server_mappings_parameter_name
  source_secret_arn              = module.migration_config.secret_arn
  target_secret_arn              = var.migration_target_secret_arn

  source_jdbc_url    = "jdbc:sqlserver://${values(var.migration_server_mappings)[0]};databaseName=${var.migration_databases[0]}"
  subnet_id          = var.migration_subnet_id
  security_group_ids = var.migration_security_group_ids
  availability_zone  = var.migration_availability_zone
}

module "ecs_orchestrator" {
  source = "../../modules/ecs_orchestrator"

  name  = var.name
  image = var.orchestrator_image

  migration_parameter_name       = module.migration_config.migration_parameter_name
  server_mappings_parameter_name = module.migration_config.server_mappings_parameter_name
  source_secret_arn              = module.migration_config.secret_arn
  target_secret_arn              = var.migration_target_secret_arn
  kms_key_arns                   = [module.migration_kms_key.key_arn]
  raw_area                       = module.glue_migration.raw_area
  transformed_area               = module.glue_migration.transformed_area
  s3_areas                       = [module.glue_migration.stats_area]
  glue_job_arns                  = values(module.glue_migration.job_arns)
}

################################################################################
# Cross-Region DR target (dr_region)
################################################################################

data "aws_region" "source" {
  provider = aws.source
}

# Key, subnet group, security groups, dump bucket, Redshift copy grant and the CNAME the DR
# runbooks use in the target Region; source_region fails the plan if the providers get mixed up.
module "dr_target" {
  source = "../../modules/dr_target"

  providers = {
    aws = aws.target
  }

  name          = var.name
  source_region = data.aws_region.source.name
  engine        = var.dr_engine

  vpc_id                     = var.dr_vpc_id
  subnet_ids                 = var.dr_subnet_ids
  allowed_cidr_blocks        = var.dr_allowed_cidr_blocks
  allowed_security_group_ids = var.dr_allowed_security_group_ids
  egress_cidr_blocks         = var.dr_egress_cidr_blocks

  kms_key_administrators = var.key_administrators
  kms_key_users          = var.dr_key_users

  create_redshift_snapshot_copy_grant = var.dr_create_redshift_snapshot_copy_grant

  route53_zone_id         = var.dr_route53_zone_id
  route53_record_name     = var.dr_route53_record_name
  route53_record_endpoint = var.dr_route53_record_endpoint
}
