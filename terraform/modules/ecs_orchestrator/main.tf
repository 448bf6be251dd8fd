# The data migration's orchestrator on ECS Fargate: a cluster, the task definition running the
# dbshift image (`dbshift migrate`, configuration from SSM), its log group, task and execution roles.

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

  container_name = "orchestrator"
  log_group_name = "/dbshift/${var.name}/orchestrator"
  log_group_arn  = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${local.log_group_name}"

  create_cluster  = var.create && var.create_cluster
  cluster_arn     = local.create_cluster ? try(aws_ecs_cluster.this[0].arn, null) : var.cluster_arn
  create_logs_key = var.create && var.create_log_kms_key
  log_kms_key_arn = local.create_logs_key ? module.logs_kms_key.key_arn : var.log_kms_key_arn

  parameter_arns = [
    for name in [var.migration_parameter_name, var.server_mappings_parameter_name] :
    "arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter${name}"
  ]
  # The source login is not injected: `dbshift migrate` reads DBSHIFT_SOURCE_SECRET with the task role.
  # The target DSN is: config.py reads DBSHIFT_TARGET_DSN from the environment, and ECS resolves it
  # from Secrets Manager at start, so the task definition holds only the secret's ARN.
  all_secrets = merge(var.secrets, { DBSHIFT_TARGET_DSN = var.target_secret_arn })
  secret_arns = distinct([for arn in values(local.all_secrets) : arn if can(regex(":secretsmanager:", arn))])
  # The task role reads the source login and the further secrets itself; the DSN only ECS reads.
  task_secret_arns = distinct(concat([var.source_secret_arn], [for arn in values(var.secrets) : arn if can(regex(":secretsmanager:", arn))]))
  # Secrets given as SSM parameters (valueFrom also accepts those).
  secret_parameter_arns = distinct([for arn in values(local.all_secrets) : arn if can(regex(":ssm:", arn))])

  # s3://bucket[/prefix] -> the bucket ARN and the ARN pattern of the objects under the prefix. The
  # raw and transformed areas are always among them: the task writes both.
  area_urls        = distinct(concat([var.raw_area, var.transformed_area], var.s3_areas))
  area_parts       = [for url in local.area_urls : regex("^s3://([^/]+)(?:/(.*))?$", url)]
  area_bucket_arns = distinct([for p in local.area_parts : "arn:${local.partition}:s3:::${p[0]}"])
  area_object_arns = [for p in local.area_parts : p[1] == null ? "arn:${local.partition}:s3:::${p[0]}/*" : "arn:${local.partition}:s3:::${p[0]}/${p[1]}/*"]

  # An ECR image names its repository: account.dkr.ecr.region.amazonaws.com/repo[:tag|@digest].
  ecr_image = try(regex("^([0-9]{12})\\.dkr\\.ecr\\.([a-z0-9-]+)\\.amazonaws\\.com(?:\\.cn)?/([^:@]+)", var.image), null)
  ecr_repository_arns = length(var.ecr_repository_arns) > 0 ? var.ecr_repository_arns : (
    local.ecr_image == null ? [] : ["arn:${local.partition}:ecr:${local.ecr_image[1]}:${local.ecr_image[0]}:repository/${local.ecr_image[2]}"]
  )

  environment = merge(
    var.environment,
    {
      MIGRATION_PARAMETER       = var.migration_parameter_name
      SERVER_MAPPINGS_PARAMETER = var.server_mappings_parameter_name
      DBSHIFT_SOURCE_SECRET     = var.source_secret_arn
      DBSHIFT_RAW_AREA          = var.raw_area
      DBSHIFT_TRANSFORMED_AREA  = var.transformed_area
      AWS_REGION                = local.region
    },
  )
}

################################################################################
# Cluster
################################################################################

resource "aws_ecs_cluster" "this" {
  count = local.create_cluster ? 1 : 0

  name = var.name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }

  # ECS Exec sessions (if anyone opens one) are encrypted and logged to the same log group.
  configuration {
    execute_command_configuration {
      kms_key_id = local.log_kms_key_arn
      logging    = "OVERRIDE"

      log_configuration {
        cloud_watch_encryption_enabled = true
        cloud_watch_log_group_name     = aws_cloudwatch_log_group.this[0].name
      }
    }
  }

  tags = merge(var.tags, { Name = var.name })
}

################################################################################
# Log group and its key
################################################################################

# CloudWatch Logs encrypts with a key only if the key policy lets the logs service use it: a key of
# its own, whose extra statement limits the service to this log group.
module "logs_kms_key" {
  source = "../kms_key"

  create = local.create_logs_key

  description             = "dbshift migration ${var.name}: orchestrator logs in CloudWatch Logs"
  deletion_window_in_days = var.kms_key_deletion_window_in_days
  # No alias (the key never had one); alias_name still names the key in its Name tag.
  alias_name   = "${var.name}-orchestrator-logs"
  create_alias = false

  key_statements = [{
    sid        = "CloudWatchLogs"
    principals = [{ type = "Service", identifiers = ["logs.${local.region}.amazonaws.com"] }]
    actions    = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    conditions = [{ test = "ArnEquals", variable = "kms:EncryptionContext:aws:logs:arn", values = [local.log_group_arn] }]
  }]

  tags = var.tags
}

# The key was a resource of this module before kms_key took key_statements.
moved {
  from = aws_kms_key.logs
  to   = module.logs_kms_key.aws_kms_key.this
}

resource "aws_cloudwatch_log_group" "this" {
  count = var.create ? 1 : 0

  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = local.log_kms_key_arn

  tags = merge(var.tags, { Name = local.log_group_name })

  lifecycle {
    precondition {
      condition     = local.log_kms_key_arn != null
      error_message = "create_log_kms_key = false needs log_kms_key_arn (a key whose policy lets logs.<region>.amazonaws.com use it)."
    }
  }
}

################################################################################
# Task definition
################################################################################

locals {
  container_definitions = jsonencode([merge(
    {
      name      = local.container_name
      image     = var.image
      essential = true
      # The image's ENTRYPOINT is `dbshift migrate`; it reads both parameter names from here.
      environment = [for k in sort(keys(local.environment)) : { name = k, value = local.environment[k] }]
      secrets     = [for k in sort(keys(local.all_secrets)) : { name = k, valueFrom = local.all_secrets[k] }]
      # Read-only root file system; /tmp (Fargate ephemeral storage) is the only writable path.
      readonlyRootFilesystem = true
      mountPoints            = [{ sourceVolume = "tmp", containerPath = "/tmp", readOnly = false }]
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = local.log_group_name
          awslogs-region        = local.region
          awslogs-stream-prefix = local.container_name
        }
      }
    },
    var.command == null ? {} : { command = var.command },
  )])
}

resource "aws_ecs_task_definition" "this" {
  count = var.create ? 1 : 0

  family                   = "${var.name}-orchestrator"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = tostring(var.cpu)
  memory                   = tostring(var.memory)
  task_role_arn            = aws_iam_role.task[0].arn
  execution_role_arn       = aws_iam_role.execution[0].arn
  container_definitions    = local.container_definitions

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  ephemeral_storage {
    size_in_gib = var.ephemeral_storage_gib
  }

  volume {
    name = "tmp"
  }

  tags = merge(var.tags, { Name = "${var.name}-orchestrator" })
}

################################################################################
# Task role: what `dbshift migrate` does
################################################################################

locals {
  task_trust_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "EcsTasks"
      Effect    = "Allow"
      Principal = { Service = "ecs-tasks.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = {
        StringEquals = { "aws:SourceAccount" = local.account_id }
        ArnLike      = { "aws:SourceArn" = "arn:${local.partition}:ecs:${local.region}:${local.account_id}:*" }
      }
    }]
  })

  task_policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [
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
          Resource = local.task_secret_arns
        },
      ],
      length(var.kms_key_arns) == 0 ? [] : [{
        Sid      = "UseKeys"
        Effect   = "Allow"
        Action   = ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"]
        Resource = var.kms_key_arns
      }],
      [
        {
          Sid      = "ListAreaBuckets"
          Effect   = "Allow"
          Action   = ["s3:GetBucketLocation", "s3:ListBucket"]
          Resource = local.area_bucket_arns
        },
        {
          Sid      = "ReadWriteAreas"
          Effect   = "Allow"
          Action   = ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:PutObject"]
          Resource = local.area_object_arns
        },
      ],
      length(var.glue_job_arns) == 0 ? [] : [{
        Sid      = "RunGlueJobs"
        Effect   = "Allow"
        Action   = ["glue:BatchStopJobRun", "glue:GetJob", "glue:GetJobRun", "glue:GetJobRuns", "glue:StartJobRun"]
        Resource = var.glue_job_arns
      }],
    )
  })
}

resource "aws_iam_role" "task" {
  count = var.create ? 1 : 0

  name                 = "${var.name}-orchestrator-task"
  path                 = var.role_path
  description          = "dbshift migration ${var.name}: the orchestrator task (SSM parameters, secrets, S3 areas, Glue jobs)"
  assume_role_policy   = local.task_trust_policy
  permissions_boundary = var.role_permissions_boundary
  max_session_duration = 3600

  tags = merge(var.tags, { Name = "${var.name}-orchestrator-task" })
}

resource "aws_iam_role_policy" "task" {
  count = var.create ? 1 : 0

  name   = "orchestrator"
  role   = aws_iam_role.task[0].id
  policy = local.task_policy
}

################################################################################
# Execution role: what ECS does to start the task
################################################################################

locals {
  execution_policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [
        {
          Sid      = "WriteLogs"
          Effect   = "Allow"
          Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
          Resource = ["${local.log_group_arn}:*"]
        },
      ],
      length(local.secret_arns) == 0 ? [] : [{
        Sid      = "InjectSecrets"
        Effect   = "Allow"
        Action   = ["secretsmanager:GetSecretValue"]
        Resource = local.secret_arns
      }],
      length(local.secret_parameter_arns) == 0 ? [] : [{
        Sid      = "InjectParameters"
        Effect   = "Allow"
        Action   = ["ssm:GetParameters"]
        Resource = local.secret_parameter_arns
      }],
      length(var.kms_key_arns) == 0 ? [] : [{
        Sid      = "DecryptSecrets"
        Effect   = "Allow"
        Action   = ["kms:Decrypt"]
        Resource = var.kms_key_arns
      }],
      length(local.ecr_repository_arns) == 0 ? [] : [
        # GetAuthorizationToken has no resource to scope to.
        {
          Sid      = "EcrLogin"
          Effect   = "Allow"
          Action   = ["ecr:GetAuthorizationToken"]
          Resource = ["*"]
        },
        {
          Sid      = "PullImage"
          Effect   = "Allow"
          Action   = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
          Resource = local.ecr_repository_arns
        },
      ],
    )
  })
}

resource "aws_iam_role" "execution" {
  count = var.create ? 1 : 0

  name                 = "${var.name}-orchestrator-execution"
  path                 = var.role_path
  description          = "dbshift migration ${var.name}: ECS task execution (image pull, logs, secret injection)"
  assume_role_policy   = local.task_trust_policy
  permissions_boundary = var.role_permissions_boundary
  max_session_duration = 3600

  tags = merge(var.tags, { Name = "${var.name}-orchestrator-execution" })
}

resource "aws_iam_role_policy" "execution" {
  count = var.create ? 1 : 0

  name   = "task-execution"
  role   = aws_iam_role.execution[0].id
  policy = local.execution_policy
}
