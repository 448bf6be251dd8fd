# Plan-level checks of the task definition, the log group and both roles, with a mocked AWS provider.

mock_provider "aws" {
  override_during = plan

  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_region" {
    defaults = { name = "eu-west-1" }
  }
  mock_resource "aws_kms_key" {
    defaults = { arn = "arn:aws:kms:eu-west-1:123456789012:key/0000aaaa-1111-2222-3333-444455556666" }
  }
}

variables {
  name                           = "netperf"
  image                          = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/dbshift:0.1.0"
  migration_parameter_name       = "/dbshift/netperf/migration"
  server_mappings_parameter_name = "/dbshift/netperf/server-mappings"
  source_secret_arn              = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:dbshift/netperf/source-credentials-AbCdEf"
  kms_key_arns                   = ["arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"]
  target_secret_arn              = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:dbshift/netperf/target-dsn-GhIjKl"
  raw_area                       = "s3://netperf-raw-123456789012"
  transformed_area               = "s3://netperf-transformed-123456789012/netperf"
  s3_areas                       = ["s3://netperf-raw-123456789012", "s3://netperf-stats-123456789012/stats"]
  glue_job_arns                  = ["arn:aws:glue:eu-west-1:123456789012:job/netperf-export"]
}

run "fargate_task_with_the_parameter_names" {
  command = plan

  assert {
    condition = (
      aws_ecs_task_definition.this[0].requires_compatibilities == toset(["FARGATE"])
      && aws_ecs_task_definition.this[0].network_mode == "awsvpc"
      && aws_ecs_task_definition.this[0].family == "netperf-orchestrator"
    )
    error_message = "The orchestrator must be a Fargate (awsvpc) task definition named <name>-orchestrator."
  }

  assert {
    condition = (
      { for e in jsondecode(aws_ecs_task_definition.this[0].container_definitions)[0].environment : e.name => e.value }["MIGRATION_PARAMETER"] == "/dbshift/netperf/migration"
      && { for e in jsondecode(aws_ecs_task_definition.this[0].container_definitions)[0].environment : e.name => e.value }["SERVER_MAPPINGS_PARAMETER"] == "/dbshift/netperf/server-mappings"
    )
    error_message = "The container must get MIGRATION_PARAMETER and SERVER_MAPPINGS_PARAMETER."
  }

  assert {
    condition = (
      { for e in jsondecode(aws_ecs_task_definition.this[0].container_definitions)[0].environment : e.name => e.value }["DBSHIFT_SOURCE_SECRET"] == var.source_secret_arn
      && jsondecode(aws_ecs_task_definition.this[0].container_definitions)[0].secrets == [{ name = "DBSHIFT_TARGET_DSN", valueFrom = var.target_secret_arn }]
    )
    error_message = "The source login must be named by its secret's ARN (DBSHIFT_SOURCE_SECRET), never passed as a value; the target DSN must be the only injected secret (DBSHIFT_TARGET_DSN from target_secret_arn)."
  }

  assert {
    condition = (
      { for e in jsondecode(aws_ecs_task_definition.this[0].container_definitions)[0].environment : e.name => e.value }["DBSHIFT_RAW_AREA"] == "s3://netperf-raw-123456789012"
      && { for e in jsondecode(aws_ecs_task_definition.this[0].container_definitions)[0].environment : e.name => e.value }["DBSHIFT_TRANSFORMED_AREA"] == "s3://netperf-transformed-123456789012/netperf"
      && !contains([for e in jsondecode(aws_ecs_task_definition.this[0].container_definitions)[0].environment : e.name], "DBSHIFT_TARGET_DSN")
    )
    error_message = "The container must get DBSHIFT_RAW_AREA and DBSHIFT_TRANSFORMED_AREA, and no plaintext DBSHIFT_TARGET_DSN."
  }

  assert {
    condition = (
      jsondecode(aws_ecs_task_definition.this[0].container_definitions)[0].readonlyRootFilesystem == true
      && jsondecode(aws_ecs_task_definition.this[0].container_definitions)[0].image == var.image
      && !can(jsondecode(aws_ecs_task_definition.this[0].container_definitions)[0].command)
    )
    error_message = "The container must run the image's entrypoint and CMD on a read-only root file system."
  }

  assert {
    condition     = jsondecode(aws_ecs_task_definition.this[0].container_definitions)[0].logConfiguration.options["awslogs-group"] == aws_cloudwatch_log_group.this[0].name
    error_message = "The container must log to the module's log group."
  }
}

run "log_group_encrypted_and_retained" {
  command = plan

  assert {
    condition     = aws_cloudwatch_log_group.this[0].retention_in_days == 365 && aws_cloudwatch_log_group.this[0].kms_key_id == module.logs_kms_key.key_arn
    error_message = "The log group must keep logs a year and be encrypted with the logs key."
  }

  assert {
    condition = anytrue([for s in jsondecode(module.logs_kms_key.key_policy).Statement : try(
      s.Principal.Service == "logs.eu-west-1.amazonaws.com"
      && s.Condition.ArnEquals["kms:EncryptionContext:aws:logs:arn"] == "arn:aws:logs:eu-west-1:123456789012:log-group:/dbshift/netperf/orchestrator",
      false,
    )])
    error_message = "The logs key must let CloudWatch Logs use it for this log group only."
  }

  assert {
    condition     = one([for s in aws_ecs_cluster.this[0].setting : s.value if s.name == "containerInsights"]) == "enabled"
    error_message = "Container Insights must be on."
  }
}

run "logs_key_from_the_shared_module" {
  command = plan

  # The whole policy, so the move to kms_key (key_statements) is known to keep it as it was.
  assert {
    condition = jsondecode(module.logs_kms_key.key_policy).Statement == [
      {
        Sid       = "Default"
        Effect    = "Allow"
        Principal = { AWS = "arn:aws:iam::123456789012:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "CloudWatchLogs"
        Effect    = "Allow"
        Principal = { Service = "logs.eu-west-1.amazonaws.com" }
        Action    = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
        Resource  = "*"
        Condition = { ArnEquals = { "kms:EncryptionContext:aws:logs:arn" = "arn:aws:logs:eu-west-1:123456789012:log-group:/dbshift/netperf/orchestrator" } }
      },
    ]
    error_message = "The logs key policy must be the account root plus CloudWatch Logs for the log group's log groups, nothing else."
  }

  assert {
    condition     = module.logs_kms_key.key_rotation_period_in_days == 365 && module.logs_kms_key.alias_name == null
    error_message = "The logs key must rotate yearly and, as before, have no alias."
  }

  assert {
    condition     = output.log_kms_key_arn == module.logs_kms_key.key_arn && module.logs_kms_key.key_arn != null
    error_message = "The output must be the created logs key's ARN."
  }
}

run "given_logs_key_creates_none" {
  command = plan

  variables {
    create_log_kms_key = false
    log_kms_key_arn    = "arn:aws:kms:eu-west-1:210987654321:key/9999aaaa-1111-2222-3333-444455556666"
  }

  assert {
    condition     = module.logs_kms_key.key_arn == null && aws_cloudwatch_log_group.this[0].kms_key_id == "arn:aws:kms:eu-west-1:210987654321:key/9999aaaa-1111-2222-3333-444455556666" && output.log_kms_key_arn == var.log_kms_key_arn
    error_message = "With a given key, no logs key is created and the log group uses the given one."
  }
}

run "task_role_least_privilege" {
  command = plan

  assert {
    condition = anytrue([for s in jsondecode(aws_iam_role_policy.task[0].policy).Statement :
      s.Sid == "ReadParameters" && toset(s.Resource) == toset([
        "arn:aws:ssm:eu-west-1:123456789012:parameter/dbshift/netperf/migration",
        "arn:aws:ssm:eu-west-1:123456789012:parameter/dbshift/netperf/server-mappings",
    ])])
    error_message = "The task role must read exactly the two parameters."
  }

  assert {
    condition = anytrue([for s in jsondecode(aws_iam_role_policy.task[0].policy).Statement :
      s.Sid == "ReadWriteAreas" && toset(s.Resource) == toset(["arn:aws:s3:::netperf-raw-123456789012/*", "arn:aws:s3:::netperf-transformed-123456789012/netperf/*", "arn:aws:s3:::netperf-stats-123456789012/stats/*"])
    ])
    error_message = "The task role must reach the objects of the given areas only."
  }

  assert {
    condition = anytrue([for s in jsondecode(aws_iam_role_policy.task[0].policy).Statement :
      s.Sid == "ListAreaBuckets" && toset(s.Resource) == toset(["arn:aws:s3:::netperf-raw-123456789012", "arn:aws:s3:::netperf-transformed-123456789012", "arn:aws:s3:::netperf-stats-123456789012"])
    ])
    error_message = "The task role must list the areas' buckets."
  }

  assert {
    condition = anytrue([for s in jsondecode(aws_iam_role_policy.task[0].policy).Statement :
      s.Sid == "ReadSecrets" && s.Resource == [var.source_secret_arn]
      ]) && anytrue([for s in jsondecode(aws_iam_role_policy.task[0].policy).Statement :
      s.Sid == "UseKeys" && tolist(s.Resource) == var.kms_key_arns
      ]) && anytrue([for s in jsondecode(aws_iam_role_policy.task[0].policy).Statement :
      s.Sid == "RunGlueJobs" && tolist(s.Resource) == var.glue_job_arns
    ])
    error_message = "The task role must read the secret, use the keys and run the given Glue jobs."
  }

  assert {
    condition     = !strcontains(aws_iam_role_policy.task[0].policy, "\"*\"")
    error_message = "The task role must have no wildcard resource."
  }
}

run "execution_role_pulls_logs_and_injects" {
  command = plan

  assert {
    condition = anytrue([for s in jsondecode(aws_iam_role_policy.execution[0].policy).Statement :
      s.Sid == "PullImage" && s.Resource == ["arn:aws:ecr:eu-west-1:123456789012:repository/dbshift"]
    ])
    error_message = "The execution role must pull from the image's ECR repository only."
  }

  assert {
    condition = anytrue([for s in jsondecode(aws_iam_role_policy.execution[0].policy).Statement :
      s.Sid == "WriteLogs" && s.Resource == ["arn:aws:logs:eu-west-1:123456789012:log-group:/dbshift/netperf/orchestrator:*"]
      ]) && anytrue([for s in jsondecode(aws_iam_role_policy.execution[0].policy).Statement :
      s.Sid == "InjectSecrets" && s.Resource == [var.target_secret_arn]
    ])
    error_message = "The execution role must write to the log group and read exactly the injected target DSN secret (the task role reads the source login)."
  }

  assert {
    condition = !anytrue([for s in jsondecode(aws_iam_role_policy.execution[0].policy).Statement :
      anytrue([for a in s.Action : startswith(a, "s3:") || startswith(a, "ssm:GetParameter") || startswith(a, "glue:")])
    ])
    error_message = "The execution role must not reach the data or the configuration: that is the task role's."
  }

  assert {
    condition = alltrue([for role in [aws_iam_role.task[0], aws_iam_role.execution[0]] : anytrue([for s in jsondecode(role.assume_role_policy).Statement :
      s.Principal.Service == "ecs-tasks.amazonaws.com" && s.Condition.StringEquals["aws:SourceAccount"] == "123456789012"
    ])])
    error_message = "Only ECS tasks of this account may assume the roles."
  }
}

run "non_ecr_image_needs_no_ecr_permissions" {
  command = plan

  variables {
    image   = "ghcr.io/example/dbshift:0.1.0"
    command = ["--stage", "validate"]
  }

  assert {
    condition     = !strcontains(aws_iam_role_policy.execution[0].policy, "ecr:")
    error_message = "An image outside ECR must not grant ECR permissions."
  }

  assert {
    condition     = jsondecode(aws_ecs_task_definition.this[0].container_definitions)[0].command == ["--stage", "validate"]
    error_message = "command must replace the image's CMD."
  }
}

run "latest_tag_rejected" {
  command = plan

  variables {
    image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/dbshift:latest"
  }

  expect_failures = [var.image]
}

run "plaintext_dsn_rejected" {
  command = plan

  variables {
    environment = { DBSHIFT_TARGET_DSN = "postgresql://dbshift:secret@aurora.example.internal:5432/netperf" }
  }

  expect_failures = [var.environment]
}

run "areas_must_be_s3" {
  command = plan

  variables {
    raw_area = "/tmp/raw"
  }

  expect_failures = [var.raw_area]
}

run "parameter_names_cannot_be_overridden" {
  command = plan

  variables {
    environment = { MIGRATION_PARAMETER = "/other" }
  }

  expect_failures = [var.environment]
}

run "create_false_creates_nothing" {
  command = plan

  variables {
    create = false
  }

  assert {
    condition     = output.cluster_arn == null && output.task_definition_arn == null && output.log_group_name == null && output.task_role_arn == null && output.execution_role_arn == null
    error_message = "create = false must create nothing."
  }
}
