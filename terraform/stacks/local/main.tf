# The emulated estate's AWS side: the same modules as production, pointed at the moto server.

provider "aws" {
  region     = var.region
  access_key = "testing"
  secret_key = "testing"

  # The emulator has no instance metadata, no real credentials and one fixed account.
  skip_credentials_validation = true
  skip_requesting_account_id  = false # Glue builds tag ARNs from the account the provider looks up (STS, emulated)
  skip_metadata_api_check     = true
  skip_region_validation      = true
  s3_use_path_style           = true

  endpoints {
    ecs            = var.aws_endpoint_url
    glue           = var.aws_endpoint_url
    iam            = var.aws_endpoint_url
    kms            = var.aws_endpoint_url
    logs           = var.aws_endpoint_url
    rds            = var.aws_endpoint_url
    s3             = var.aws_endpoint_url
    secretsmanager = var.aws_endpoint_url
    ssm            = var.aws_endpoint_url
    sts            = var.aws_endpoint_url
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

################################################################################
# Data migration (SQL Server -> Aurora PostgreSQL): configuration, Glue jobs, ECS orchestrator
################################################################################

# One key for the migration's parameters, secret and buckets.
module "migration_kms_key" {
  source = "../../modules/kms_key"

  alias_name              = "${var.name_prefix}-migration"
  description             = "dbshift data migration (${var.name_prefix}): parameters, source credentials, data areas"
  deletion_window_in_days = 7

  tags = local.tags
}

module "migration_config" {
  source = "../../modules/migration_config"

  name        = var.name_prefix
  kms_key_arn = module.migration_kms_key.key_arn

  job_mode           = "resume"
  input_partition    = var.migration_input_partition
  partition_col_date = "measured_at"
  source_filters     = var.migration_source_filters
  server_mappings    = var.migration_server_mappings
  databases          = var.migration_databases
  categories         = { cell_perf_stats = ["cell_performance_data", "ue_statistics_data"] }

  # The estate's emulated sources share one login; Terraform writes it only when the estate gives it.
  source_username = var.migration_source_username
  source_password = var.migration_source_password

  secret_recovery_window_in_days = 0 # an emulated estate is thrown away with its secret

  tags = local.tags
}

# The target PostgreSQL DSN (checkpoints, import, validation) for the Glue jobs and the orchestrator.
# Created without a value: the estate puts the DSN with PutSecretValue, so it never enters the state.
resource "aws_secretsmanager_secret" "migration_target_dsn" {
  #checkov:skip=CKV2_AWS_57:The DSN's password belongs to the target database, rotated by its owners; the emulated estate's is thrown away with it.
  name                    = "dbshift/${var.name_prefix}/target-dsn"
  description             = "dbshift data migration (${var.name_prefix}): target PostgreSQL DSN, the secret's whole value (Glue --TARGET_DSN_SECRET, ECS DBSHIFT_TARGET_DSN)"
  kms_key_id              = module.migration_kms_key.key_arn
  recovery_window_in_days = 0 # an emulated estate is thrown away with its secret

  tags = merge(local.tags, { Name = "dbshift/${var.name_prefix}/target-dsn" })
}

module "glue_migration" {
  source = "../../modules/glue_migration"

  name        = var.name_prefix
  kms_key_arn = module.migration_kms_key.key_arn
  scripts_dir = var.glue_scripts_dir

  migration_parameter_name       = module.migration_config.migration_parameter_name
  server_mappings_parameter_name = module.migration_config.server_mappings_parameter_name
  source_secret_arn              = module.migration_config.secret_arn
  target_secret_arn              = aws_secretsmanager_secret.migration_target_dsn.arn
  source_jdbc_url                = "jdbc:sqlserver://${values(var.migration_server_mappings)[0]};databaseName=${var.migration_databases[0]}"

  # moto 5.2 has no glue DeleteConnection/UpdateConnection and leaves ConnectionType out of
  # GetConnection, so the connection could be neither destroyed nor kept without drift (README).
  create_connection = var.glue_create_connection

  kms_key_deletion_window_in_days    = 7
  force_destroy                      = true
  log_retention_days                 = null # no lifecycle configurations (see fall_forward above)
  noncurrent_version_expiration_days = null

  tags = local.tags
}

module "ecs_orchestrator" {
  source = "../../modules/ecs_orchestrator"

  name  = var.name_prefix
  image = var.orchestrator_image

  migration_parameter_name       = module.migration_config.migration_parameter_name
  server_mappings_parameter_name = module.migration_config.server_mappings_parameter_name
  source_secret_arn              = module.migration_config.secret_arn
  target_secret_arn              = aws_secretsmanager_secret.migration_target_dsn.arn
  kms_key_arns                   = [module.migration_kms_key.key_arn]
  raw_area                       = module.glue_migration.raw_area
  transformed_area               = module.glue_migration.transformed_area
  s3_areas                       = [module.glue_migration.stats_area]
  glue_job_arns                  = values(module.glue_migration.job_arns)

  kms_key_deletion_window_in_days = 7

  tags = local.tags
}
