# The AWS Glue side of the data migration: the export, transform and load jobs (PySpark), the JDBC
# connection to the source SQL Servers, the jobs' role, their scripts in S3, and the raw,
# transformed and stats buckets.

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
  # "none" keeps the default bucket names valid when create = false (nothing is created then).
  account_id = try(data.aws_caller_identity.current[0].account_id, "none")
  region     = try(data.aws_region.current[0].name, "")

  raw_bucket         = coalesce(var.raw_bucket, "${var.name}-raw-${local.account_id}")
  transformed_bucket = coalesce(var.transformed_bucket, "${var.name}-transformed-${local.account_id}")
  stats_bucket       = coalesce(var.stats_bucket, "${var.name}-stats-${local.account_id}")
  log_bucket         = "${local.raw_bucket}-access-logs"

  # ARNs and URLs built from names: known at plan time for the role policy and the tftest files.
  bucket_arns = {
    raw         = "arn:${local.partition}:s3:::${local.raw_bucket}"
    transformed = "arn:${local.partition}:s3:::${local.transformed_bucket}"
    stats       = "arn:${local.partition}:s3:::${local.stats_bucket}"
  }
  area_suffix = var.area_prefix == "" ? "" : "/${var.area_prefix}"
  areas = {
    raw         = "s3://${local.raw_bucket}${local.area_suffix}"
    transformed = "s3://${local.transformed_bucket}${local.area_suffix}"
    stats       = "s3://${local.stats_bucket}/${var.stats_prefix}"
  }
  # What the jobs may write: the three areas and Glue's temporary directory; never the scripts.
  area_object_arns = [
    "${local.bucket_arns.raw}${local.area_suffix}/*",
    "${local.bucket_arns.transformed}${local.area_suffix}/*",
    "${local.bucket_arns.stats}/${var.stats_prefix}/*",
    "${local.bucket_arns.stats}/${local.temp_prefix}*",
  ]

  scripts_prefix = "glue/scripts/"
  temp_prefix    = "glue/temp/"
  wheels_prefix  = "glue/wheels/"
  scripts_dir    = coalesce(var.scripts_dir, "${path.module}/../../../src/dbshift/datamove/glue")

  job_scripts = {
    export    = "export_job.py"
    transform = "transform_job.py"
    load      = "load_job.py"
  }
  job_settings = {
    for job in keys(local.job_scripts) : job => {
      worker_type         = coalesce(try(var.job_overrides[job].worker_type, null), var.worker_type)
      number_of_workers   = coalesce(try(var.job_overrides[job].number_of_workers, null), var.number_of_workers)
      timeout             = coalesce(try(var.job_overrides[job].timeout, null), var.timeout)
      max_concurrent_runs = coalesce(try(var.job_overrides[job].max_concurrent_runs, null), var.max_concurrent_runs)
    }
  }

  wheel_key = var.dbshift_wheel == null ? null : "${local.wheels_prefix}${basename(var.dbshift_wheel)}"
  python_modules = concat(
    local.wheel_key == null ? [] : ["s3://${local.stats_bucket}/${local.wheel_key}"],
    var.additional_python_modules,
  )

  parameter_arns = [
    for name in [var.migration_parameter_name, var.server_mappings_parameter_name] :
    "arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter${name}"
  ]
  secret_arns  = [var.source_secret_arn, var.target_secret_arn]
  kms_key_arns = distinct(concat([var.kms_key_arn], var.additional_kms_key_arns))

  role_name         = coalesce(var.role_name, "${var.name}-glue-migration")
  connection_name   = "${var.name}-source-sqlserver"
  create_connection = var.create && var.create_connection

  create_logs_key   = var.create && var.create_security_configuration && var.create_cloudwatch_logs_kms_key
  logs_kms_key_arn  = local.create_logs_key ? module.logs_kms_key.key_arn : var.cloudwatch_logs_kms_key_arn
  security_config   = var.create && var.create_security_configuration ? var.name : null
  log_group_pattern = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws-glue/*"
}

################################################################################
# Buckets: raw, transformed, stats (backup_storage: SSE-KMS, versioning, TLS only)
################################################################################

# The raw bucket also creates the log bucket that receives all three buckets' access logs.
module "raw" {
  source = "../backup_storage"

  create = var.create

  bucket        = local.raw_bucket
  sse_algorithm = "aws:kms"
  kms_key_arn   = var.kms_key_arn
  force_destroy = var.force_destroy

  log_bucket                  = local.log_bucket
  log_retention_days          = var.log_retention_days
  log_delivery_source_buckets = [local.transformed_bucket, local.stats_bucket]

  lifecycle_rules = local.noncurrent_lifecycle_rules

  tags = var.tags
}

module "transformed" {
  source = "../backup_storage"

  create = var.create

  bucket        = local.transformed_bucket
  sse_algorithm = "aws:kms"
  kms_key_arn   = var.kms_key_arn
  force_destroy = var.force_destroy

  create_log_bucket     = false
  logging_target_bucket = module.raw.log_bucket_id

  lifecycle_rules = local.noncurrent_lifecycle_rules

  tags = var.tags
}

module "stats" {
  source = "../backup_storage"

  create = var.create

  bucket        = local.stats_bucket
  sse_algorithm = "aws:kms"
  kms_key_arn   = var.kms_key_arn
  force_destroy = var.force_destroy

  create_log_bucket     = false
  logging_target_bucket = module.raw.log_bucket_id

  lifecycle_rules = local.noncurrent_lifecycle_rules

  tags = var.tags
}

locals {
  noncurrent_lifecycle_rules = var.noncurrent_version_expiration_days == null ? [] : [{
    id                                 = "expire-noncurrent"
    noncurrent_version_expiration_days = var.noncurrent_version_expiration_days
  }]
}

################################################################################
# Scripts (and the optional dbshift wheel)
################################################################################

# source_hash, not etag: with SSE-KMS the ETag S3 returns is not the MD5 of the content, so an
# etag would show a change on every plan. source_hash lives in the state only and still makes a
# changed script upload again.
resource "aws_s3_object" "scripts" {
  for_each = var.create ? local.job_scripts : {}

  bucket                 = module.stats.bucket_id
  key                    = "${local.scripts_prefix}${each.value}"
  source                 = "${local.scripts_dir}/${each.value}"
  source_hash            = filemd5("${local.scripts_dir}/${each.value}")
  content_type           = "text/x-python"
  server_side_encryption = "aws:kms"
  kms_key_id             = var.kms_key_arn

  tags = var.tags

  # The bucket policy must be in place before the first write.
  depends_on = [module.stats]
}

resource "aws_s3_object" "wheel" {
  count = var.create && var.dbshift_wheel != null ? 1 : 0

  bucket                 = module.stats.bucket_id
  key                    = local.wheel_key
  source                 = var.dbshift_wheel
  source_hash            = filemd5(var.dbshift_wheel)
  content_type           = "application/zip"
  server_side_encryption = "aws:kms"
  kms_key_id             = var.kms_key_arn

  tags = var.tags

  depends_on = [module.stats]
}

################################################################################
# Source connection
################################################################################

# JDBC to one source SQL Server: it places the jobs in the VPC (subnet, security groups) and names
# the login by SECRET_ID, so no password is a connection property.
resource "aws_glue_connection" "source" {
  count = local.create_connection ? 1 : 0

  # Explicit: the provider otherwise takes the account from its own lookup, which a provider
  # configured with skip_requesting_account_id (the emulated estate) does not make.
  catalog_id      = local.account_id
  name            = local.connection_name
  description     = "dbshift migration ${var.name}: source SQL Server (login from Secrets Manager)"
  connection_type = "JDBC"

  connection_properties = merge(
    {
      JDBC_CONNECTION_URL = coalesce(var.source_jdbc_url, "jdbc:sqlserver://missing")
      JDBC_ENFORCE_SSL    = "true"
      SECRET_ID           = var.source_secret_arn
    },
    var.source_connection_properties,
  )

  dynamic "physical_connection_requirements" {
    for_each = var.subnet_id == null ? [] : [var.subnet_id]
    content {
      subnet_id              = physical_connection_requirements.value
      security_group_id_list = var.security_group_ids
      availability_zone      = var.availability_zone
    }
  }

  tags = merge(var.tags, { Name = local.connection_name })

  lifecycle {
    precondition {
      condition     = var.source_jdbc_url != null
      error_message = "create_connection = true needs source_jdbc_url, e.g. jdbc:sqlserver://sql1.example.internal:1433;databaseName=NetPerf01."
    }
    precondition {
      condition     = var.subnet_id == null || (length(var.security_group_ids) > 0 && var.availability_zone != null)
      error_message = "subnet_id needs security_group_ids and availability_zone too (Glue's physical connection requirements)."
    }
  }
}

################################################################################
# Security configuration and its CloudWatch Logs key
################################################################################

# CloudWatch Logs encrypts with a key only if the key policy lets the logs service use it: a key of
# its own, whose extra statement limits the service to Glue's log groups.
module "logs_kms_key" {
  source = "../kms_key"

  create = local.create_logs_key

  description             = "dbshift migration ${var.name}: Glue job logs in CloudWatch Logs"
  deletion_window_in_days = var.kms_key_deletion_window_in_days
  # No alias (the key never had one); alias_name still names the key in its Name tag.
  alias_name   = "${var.name}-glue-logs"
  create_alias = false

  key_statements = [{
    sid        = "CloudWatchLogs"
    principals = [{ type = "Service", identifiers = ["logs.${local.region}.amazonaws.com"] }]
    actions    = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    conditions = [{ test = "ArnLike", variable = "kms:EncryptionContext:aws:logs:arn", values = [local.log_group_pattern] }]
  }]

  tags = var.tags
}

# The key was a resource of this module before kms_key took key_statements.
moved {
  from = aws_kms_key.logs
  to   = module.logs_kms_key.aws_kms_key.this
}

resource "aws_glue_security_configuration" "this" {
  count = var.create && var.create_security_configuration ? 1 : 0

  name = var.name

  encryption_configuration {
    cloudwatch_encryption {
      cloudwatch_encryption_mode = "SSE-KMS"
      kms_key_arn                = local.logs_kms_key_arn
    }

    job_bookmarks_encryption {
      job_bookmarks_encryption_mode = "CSE-KMS"
      kms_key_arn                   = var.kms_key_arn
    }

    s3_encryption {
      s3_encryption_mode = "SSE-KMS"
      kms_key_arn        = var.kms_key_arn
    }
  }

  lifecycle {
    precondition {
      condition     = local.logs_kms_key_arn != null
      error_message = "create_cloudwatch_logs_kms_key = false needs cloudwatch_logs_kms_key_arn (a key whose policy lets logs.<region>.amazonaws.com use it)."
    }
  }
}

################################################################################
# IAM role
################################################################################

locals {
  trust_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "GlueJobs"
      Effect    = "Allow"
      Principal = { Service = "glue.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
    }]
  })

  network_interface_arn = "arn:${local.partition}:ec2:${local.region}:${local.account_id}:network-interface/*"

  permissions_policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [
        {
          Sid      = "ListBuckets"
          Effect   = "Allow"
          Action   = ["s3:GetBucketLocation", "s3:ListBucket"]
          Resource = values(local.bucket_arns)
        },
        {
          Sid      = "ReadWriteAreas"
          Effect   = "Allow"
          Action   = ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:PutObject"]
          Resource = local.area_object_arns
        },
        {
          Sid      = "ReadScripts"
          Effect   = "Allow"
          Action   = ["s3:GetObject"]
          Resource = ["${local.bucket_arns.stats}/${local.scripts_prefix}*", "${local.bucket_arns.stats}/${local.wheels_prefix}*"]
        },
        {
          Sid      = "ReadParameters"
          Effect   = "Allow"
          Action   = ["ssm:GetParameter", "ssm:GetParameters"]
          Resource = local.parameter_arns
        },
        {
          Sid      = "ReadSecrets"
          Effect   = "Allow"
          Action   = ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]
          Resource = local.secret_arns
        },
        {
          Sid      = "UseKeys"
          Effect   = "Allow"
          Action   = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"]
          Resource = local.kms_key_arns
        },
        {
          Sid      = "WriteLogs"
          Effect   = "Allow"
          Action   = ["logs:AssociateKmsKey", "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]
          Resource = [local.log_group_pattern, "${local.log_group_pattern}:*"]
        },
        {
          Sid       = "PutGlueMetrics"
          Effect    = "Allow"
          Action    = ["cloudwatch:PutMetricData"]
          Resource  = ["*"]
          Condition = { StringEquals = { "cloudwatch:namespace" = "Glue" } }
        },
      ],
      # Only with the connection (a for filter: the conditional's two tuples would differ in type).
      [for statement in [
        {
          Sid    = "ReadConnection"
          Effect = "Allow"
          Action = ["glue:GetConnection"]
          Resource = [
            "arn:${local.partition}:glue:${local.region}:${local.account_id}:catalog",
            "arn:${local.partition}:glue:${local.region}:${local.account_id}:connection/${local.connection_name}",
          ]
        },
        # Glue attaches network interfaces in the connection's subnet; Describe* cannot be scoped.
        {
          Sid = "DescribeNetwork"
          Action = [
            "ec2:DescribeNetworkInterfaces",
            "ec2:DescribeRouteTables",
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeSubnets",
            "ec2:DescribeVpcAttribute",
            "ec2:DescribeVpcEndpoints",
          ]
          Effect   = "Allow"
          Resource = ["*"]
        },
        {
          Sid      = "ManageNetworkInterfaces"
          Effect   = "Allow"
          Action   = ["ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface"]
          Resource = concat([local.network_interface_arn], var.subnet_id == null ? [] : ["arn:${local.partition}:ec2:${local.region}:${local.account_id}:subnet/${var.subnet_id}"], [for sg in var.security_group_ids : "arn:${local.partition}:ec2:${local.region}:${local.account_id}:security-group/${sg}"])
        },
        {
          Sid       = "TagNetworkInterfaces"
          Effect    = "Allow"
          Action    = ["ec2:CreateTags", "ec2:DeleteTags"]
          Resource  = [local.network_interface_arn]
          Condition = { "ForAllValues:StringEquals" = { "aws:TagKeys" = ["aws-glue-service-resource"] } }
        },
      ] : statement if local.create_connection],
    )
  })
}

resource "aws_iam_role" "this" {
  count = var.create ? 1 : 0

  name                 = local.role_name
  path                 = var.role_path
  description          = "Assumed by the dbshift migration ${var.name} Glue jobs (export, transform, load)"
  assume_role_policy   = local.trust_policy
  permissions_boundary = var.role_permissions_boundary
  max_session_duration = 3600

  tags = merge(var.tags, { Name = local.role_name })
}

resource "aws_iam_role_policy" "this" {
  count = var.create ? 1 : 0

  name   = "glue-migration"
  role   = aws_iam_role.this[0].id
  policy = local.permissions_policy
}

################################################################################
# Jobs
################################################################################

locals {
  # Arguments every job reads: where its configuration, credentials and data areas are. Glue passes
  # them as `--NAME value`; the scripts read them with getResolvedOptions.
  common_arguments = merge(
    {
      "--job-language"                     = "python"
      "--enable-metrics"                   = "true"
      "--enable-continuous-cloudwatch-log" = "true"
      "--enable-observability-metrics"     = "true"
      # Checkpoints live in the target database; Glue's own bookmarks would skip re-runs of a
      # chunk the checkpoints say is not done.
      "--job-bookmark-option"       = "job-bookmark-disable"
      "--TempDir"                   = "s3://${local.stats_bucket}/${local.temp_prefix}"
      "--additional-python-modules" = join(",", local.python_modules)
      "--MIGRATION_PARAMETER"       = var.migration_parameter_name
      "--SERVER_MAPPINGS_PARAMETER" = var.server_mappings_parameter_name
      "--SOURCE_SECRET"             = var.source_secret_arn
      "--TARGET_DSN_SECRET"         = var.target_secret_arn
      "--RAW_AREA"                  = local.areas.raw
      "--TRANSFORMED_AREA"          = local.areas.transformed
      "--STATS_AREA"                = local.areas.stats
    },
    var.python_modules_installer_option == null ? {} : { "--python-modules-installer-option" = var.python_modules_installer_option },
    local.create_connection ? { "--SOURCE_CONNECTION" = local.connection_name } : {},
  )
}

resource "aws_glue_job" "this" {
  for_each = var.create ? local.job_scripts : {}

  name              = "${var.name}-${each.key}"
  description       = "dbshift migration ${var.name}: ${each.key} stage"
  role_arn          = aws_iam_role.this[0].arn
  glue_version      = var.glue_version
  worker_type       = local.job_settings[each.key].worker_type
  number_of_workers = local.job_settings[each.key].number_of_workers
  timeout           = local.job_settings[each.key].timeout
  max_retries       = var.max_retries
  execution_class   = "STANDARD" # Glue's default, stated: Glue reports it back either way

  security_configuration = local.security_config
  connections            = concat(local.create_connection ? [aws_glue_connection.source[0].name] : [], var.additional_connections)

  command {
    name            = "glueetl"
    python_version  = "3"
    script_location = "s3://${local.stats_bucket}/${aws_s3_object.scripts[each.key].key}"
  }

  default_arguments = merge(local.common_arguments, { "--STAGE" = each.key }, var.default_arguments)

  execution_property {
    max_concurrent_runs = local.job_settings[each.key].max_concurrent_runs
  }

  tags = merge(var.tags, { Name = "${var.name}-${each.key}" })

  depends_on = [aws_iam_role_policy.this]
}
