# The migration's configuration where the engine reads it: two SSM parameters (the shape of the
# procedure's Parameter Store entries) and a Secrets Manager secret for the source login.

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
  partition  = try(data.aws_partition.current[0].partition, "aws")
  account_id = try(data.aws_caller_identity.current[0].account_id, "")
  region     = try(data.aws_region.current[0].name, "")

  migration_parameter_name       = coalesce(var.migration_parameter_name, "/dbshift/${var.name}/migration")
  server_mappings_parameter_name = coalesce(var.server_mappings_parameter_name, "/dbshift/${var.name}/server-mappings")

  # ARNs built from names (hierarchical names already start with '/'), known at plan time so the
  # callers' IAM policies and the tftest assertions see final values.
  parameter_arn_prefix          = "arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter"
  migration_parameter_arn       = "${local.parameter_arn_prefix}${local.migration_parameter_name}"
  server_mappings_parameter_arn = "${local.parameter_arn_prefix}${local.server_mappings_parameter_name}"

  # One key per source table: a filter applies to its own table only (the procedure exported
  # one table with another table's filter).
  migration_document = merge(
    {
      job_mode           = var.job_mode
      log_level          = var.log_level
      input_partition    = var.input_partition
      partition_col_date = var.partition_col_date
    },
    { for table, filter in var.source_filters : "source_filter_${table}" => filter },
    var.extra_settings,
  )

  server_mappings_document = {
    server_mappings = var.server_mappings
    databases       = var.databases
    categories      = var.categories
  }

  secret_name   = coalesce(var.secret_name, "dbshift/${var.name}/source-credentials")
  create_secret = var.create && var.create_secret
  secret_arn    = local.create_secret ? try(aws_secretsmanager_secret.this[0].arn, null) : var.source_secret_arn
  # Whether a password was given is not itself secret (count and an output depend on it).
  password_given    = nonsensitive(var.source_password != null)
  write_credentials = local.create_secret && var.source_username != null && local.password_given
}

################################################################################
# SSM parameters
################################################################################

resource "aws_ssm_parameter" "migration" {
  count = var.create ? 1 : 0

  name        = local.migration_parameter_name
  description = "dbshift migration ${var.name}: job_mode, log_level, input_partition, partition_col_date, source_filter_<table>"
  type        = var.parameter_type
  tier        = var.parameter_tier
  key_id      = var.parameter_type == "SecureString" ? var.kms_key_arn : null
  value       = jsonencode(local.migration_document)
  data_type   = "text"

  tags = merge(var.tags, { Name = local.migration_parameter_name })

  lifecycle {
    precondition {
      condition     = length(setintersection([for t in keys(var.source_filters) : t], flatten(values(var.categories)))) == length(var.source_filters)
      error_message = "source_filters names a table that no category reads: every key must be one of the source tables in categories."
    }
  }
}

resource "aws_ssm_parameter" "server_mappings" {
  count = var.create ? 1 : 0

  name        = local.server_mappings_parameter_name
  description = "dbshift migration ${var.name}: server_mappings, databases, categories"
  type        = var.parameter_type
  tier        = var.parameter_tier
  key_id      = var.parameter_type == "SecureString" ? var.kms_key_arn : null
  value       = jsonencode(local.server_mappings_document)
  data_type   = "text"

  tags = merge(var.tags, { Name = local.server_mappings_parameter_name })
}

################################################################################
# Source credentials secret
################################################################################

# Rotation is not configured: the login belongs to the source estate, whose owners rotate it.
resource "aws_secretsmanager_secret" "this" {
  #checkov:skip=CKV2_AWS_57:The source login is owned and rotated by the source SQL Server estate; a rotation Lambda here would change a password this migration does not own.
  count = local.create_secret ? 1 : 0

  name                    = local.secret_name
  description             = "dbshift migration ${var.name}: source SQL Server login as JSON {\"username\", \"password\"} (the Glue connection's SECRET_ID)"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.secret_recovery_window_in_days

  tags = merge(var.tags, { Name = local.secret_name })

  lifecycle {
    precondition {
      condition     = (var.source_username == null) == !local.password_given
      error_message = "Give source_username and source_password together, or neither (then put the secret's value yourself)."
    }
  }
}

# Only when both values are given; otherwise the secret is created empty and its value is put
# outside Terraform, so the password never lands in the state.
resource "aws_secretsmanager_secret_version" "this" {
  count = local.write_credentials ? 1 : 0

  secret_id = aws_secretsmanager_secret.this[0].id
  secret_string = jsonencode({
    username = var.source_username
    password = var.source_password
  })
}
