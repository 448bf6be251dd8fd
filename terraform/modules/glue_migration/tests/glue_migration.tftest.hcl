# Plan-level checks of the jobs, the connection, the role's reach and the buckets, with a mocked AWS provider.
# The scripts come from tests/fixtures (stand-ins): the module only uploads them.

mock_provider "aws" {
  override_during = plan

  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_region" {
    defaults = { name = "us-east-1" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/netperf-glue-migration" }
  }
  mock_resource "aws_kms_key" {
    defaults = { arn = "arn:aws:kms:us-east-1:123456789012:key/0000aaaa-1111-2222-3333-444455556666" }
  }
}

variables {
  name                           = "netperf"
  scripts_dir                    = "tests/fixtures"
  migration_parameter_name       = "/dbshift/netperf/migration"
  server_mappings_parameter_name = "/dbshift/netperf/server-mappings"
  source_secret_arn              = "arn:aws:secretsmanager:us-east-1:123456789012:secret:dbshift/netperf/source-credentials-AbCdEf"
  target_secret_arn              = "arn:aws:secretsmanager:us-east-1:123456789012:secret:dbshift/netperf/target-dsn-GhIjKl"
  kms_key_arn                    = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  source_jdbc_url                = "jdbc:sqlserver://sql1.example.internal:1433;databaseName=NetPerf01"
  subnet_id                      = "subnet-0123456789abcdef0"
  security_group_ids             = ["sg-0123456789abcdef0"]
  availability_zone              = "us-east-1a"
}

run "three_glue_5_jobs_with_their_scripts" {
  command = plan

  assert {
    condition     = toset(keys(aws_glue_job.this)) == toset(["export", "transform", "load"])
    error_message = "There must be an export, a transform and a load job."
  }

  assert {
    condition = alltrue([for stage, job in aws_glue_job.this :
      job.glue_version == "5.0" && job.worker_type == "G.1X" && job.number_of_workers == 2
      && one(job.command).name == "glueetl" && one(job.command).python_version == "3"
      && one(job.command).script_location == "s3://netperf-stats-123456789012/glue/scripts/${stage}_job.py"
    ])
    error_message = "Each job must be Glue 5.0 glueetl, G.1X x 2 by default, running <stats bucket>/glue/scripts/<stage>_job.py."
  }

  assert {
    condition = alltrue([for stage, o in aws_s3_object.scripts :
      o.source_hash == filemd5("tests/fixtures/${stage}_job.py") && o.kms_key_id == var.kms_key_arn && o.server_side_encryption == "aws:kms"
    ])
    error_message = "Each script must be uploaded with its MD5 as source_hash (re-upload on change), SSE-KMS with the key."
  }

  assert {
    condition     = alltrue([for job in aws_glue_job.this : job.security_configuration == "netperf" && job.role_arn == "arn:aws:iam::123456789012:role/netperf-glue-migration"])
    error_message = "Every job must run with the security configuration and the module's role."
  }
}

run "default_arguments_name_the_configuration_and_areas" {
  command = plan

  assert {
    condition = alltrue([for stage, job in aws_glue_job.this :
      job.default_arguments["--MIGRATION_PARAMETER"] == "/dbshift/netperf/migration"
      && job.default_arguments["--SERVER_MAPPINGS_PARAMETER"] == "/dbshift/netperf/server-mappings"
      && job.default_arguments["--SOURCE_SECRET"] == var.source_secret_arn
      && job.default_arguments["--TARGET_DSN_SECRET"] == var.target_secret_arn
      && job.default_arguments["--SOURCE_CONNECTION"] == "netperf-source-sqlserver"
      && job.default_arguments["--RAW_AREA"] == "s3://netperf-raw-123456789012"
      && job.default_arguments["--TRANSFORMED_AREA"] == "s3://netperf-transformed-123456789012"
      && job.default_arguments["--STATS_AREA"] == "s3://netperf-stats-123456789012/stats"
      && job.default_arguments["--STAGE"] == stage
      && job.default_arguments["--additional-python-modules"] == "dbshift"
      && job.default_arguments["--job-bookmark-option"] == "job-bookmark-disable"
      && job.default_arguments["--TempDir"] == "s3://netperf-stats-123456789012/glue/temp/"
    ])
    error_message = "Every job's default arguments must name both parameters, both secrets (source login, target DSN), the connection, the three areas, its stage and dbshift."
  }

  assert {
    condition     = !anytrue([for job in aws_glue_job.this : anytrue([for k, v in job.default_arguments : can(regex("(?i)password", k)) || can(regex("^postgres(ql)?://", v))])])
    error_message = "No job argument may carry a password or a DSN."
  }
}

run "target_secret_required" {
  command = plan

  variables {
    target_secret_arn = "postgresql://dbshift:secret@aurora.example.internal:5432/netperf"
  }

  expect_failures = [var.target_secret_arn]
}

run "jdbc_connection_takes_the_login_from_the_secret" {
  command = plan

  assert {
    condition = (
      aws_glue_connection.source[0].connection_type == "JDBC"
      && nonsensitive(aws_glue_connection.source[0].connection_properties["JDBC_CONNECTION_URL"]) == var.source_jdbc_url
      && nonsensitive(aws_glue_connection.source[0].connection_properties["SECRET_ID"]) == var.source_secret_arn
      && nonsensitive(aws_glue_connection.source[0].connection_properties["JDBC_ENFORCE_SSL"]) == "true"
      && !contains(keys(nonsensitive(aws_glue_connection.source[0].connection_properties)), "PASSWORD")
    )
    error_message = "The connection must be JDBC to the given URL, TLS enforced, with the login from SECRET_ID and no PASSWORD property."
  }

  assert {
    condition = (
      one(aws_glue_connection.source[0].physical_connection_requirements).subnet_id == "subnet-0123456789abcdef0"
      && one(aws_glue_connection.source[0].physical_connection_requirements).security_group_id_list == toset(["sg-0123456789abcdef0"])
      && one(aws_glue_connection.source[0].physical_connection_requirements).availability_zone == "us-east-1a"
    )
    error_message = "The connection must place the jobs in the given subnet and security groups."
  }

  assert {
    condition     = alltrue([for job in aws_glue_job.this : job.connections == tolist(["netperf-source-sqlserver"])])
    error_message = "Every job must use the source connection."
  }
}

run "role_least_privilege" {
  command = plan

  assert {
    condition = anytrue([for s in jsondecode(aws_iam_role_policy.this[0].policy).Statement :
      s.Sid == "ReadParameters" && toset(s.Action) == toset(["ssm:GetParameter", "ssm:GetParameters"]) && toset(s.Resource) == toset([
        "arn:aws:ssm:us-east-1:123456789012:parameter/dbshift/netperf/migration",
        "arn:aws:ssm:us-east-1:123456789012:parameter/dbshift/netperf/server-mappings",
    ])])
    error_message = "The role must read exactly the two parameters."
  }

  assert {
    condition = anytrue([for s in jsondecode(aws_iam_role_policy.this[0].policy).Statement :
      s.Sid == "ReadSecrets" && s.Resource == [var.source_secret_arn, var.target_secret_arn] && toset(s.Action) == toset(["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"])
    ])
    error_message = "The role must read exactly the source login and target DSN secrets."
  }

  assert {
    condition = anytrue([for s in jsondecode(aws_iam_role_policy.this[0].policy).Statement :
      s.Sid == "UseKeys" && s.Resource == [var.kms_key_arn]
    ])
    error_message = "The role must use exactly the given key."
  }

  assert {
    condition = anytrue([for s in jsondecode(aws_iam_role_policy.this[0].policy).Statement :
      s.Sid == "ReadWriteAreas" && toset(s.Resource) == toset([
        "arn:aws:s3:::netperf-raw-123456789012/*",
        "arn:aws:s3:::netperf-transformed-123456789012/*",
        "arn:aws:s3:::netperf-stats-123456789012/stats/*",
        "arn:aws:s3:::netperf-stats-123456789012/glue/temp/*",
    ])])
    error_message = "The role must write only the three areas and the temporary directory."
  }

  assert {
    condition = !anytrue([for s in jsondecode(aws_iam_role_policy.this[0].policy).Statement :
      contains(s.Action, "s3:PutObject") && anytrue([for r in s.Resource : strcontains(r, "glue/scripts")])
    ])
    error_message = "The jobs must not be able to overwrite their scripts."
  }

  assert {
    condition = alltrue([for s in jsondecode(aws_iam_role_policy.this[0].policy).Statement :
      !contains(s.Resource, "*") || alltrue([for a in s.Action : startswith(a, "ec2:Describe") || a == "cloudwatch:PutMetricData"])
    ])
    error_message = "Only unscopable Describe* calls and namespaced metrics may have Resource \"*\"."
  }

  assert {
    condition = anytrue([for s in jsondecode(aws_iam_role.this[0].assume_role_policy).Statement :
      s.Principal.Service == "glue.amazonaws.com" && s.Condition.StringEquals["aws:SourceAccount"] == "123456789012"
    ])
    error_message = "Only Glue of this account may assume the role."
  }
}

run "buckets_encrypted_with_the_key_and_tls_only" {
  command = plan

  assert {
    condition = alltrue([for m in [module.raw, module.transformed, module.stats] :
      m.bucket_sse_algorithm == "aws:kms" && anytrue([for s in jsondecode(m.bucket_policy).Statement :
        s.Effect == "Deny" && try(s.Condition.Bool["aws:SecureTransport"], "") == "false"
      ])
    ])
    error_message = "The raw, transformed and stats buckets must be SSE-KMS and deny requests without TLS."
  }

  assert {
    condition     = output.raw_bucket_name == "netperf-raw-123456789012" && output.log_bucket_name == "netperf-raw-123456789012-access-logs" && module.stats.log_bucket_id == output.log_bucket_name
    error_message = "The buckets must default to <name>-<area>-<account> and log into one log bucket."
  }
}

run "security_configuration_encrypts_everything" {
  command = plan

  assert {
    condition = (
      one(one(aws_glue_security_configuration.this[0].encryption_configuration).s3_encryption).s3_encryption_mode == "SSE-KMS"
      && one(one(aws_glue_security_configuration.this[0].encryption_configuration).s3_encryption).kms_key_arn == var.kms_key_arn
      && one(one(aws_glue_security_configuration.this[0].encryption_configuration).job_bookmarks_encryption).job_bookmarks_encryption_mode == "CSE-KMS"
      && one(one(aws_glue_security_configuration.this[0].encryption_configuration).cloudwatch_encryption).kms_key_arn == module.logs_kms_key.key_arn
    )
    error_message = "S3, bookmarks and CloudWatch Logs must be KMS-encrypted."
  }

  assert {
    condition = anytrue([for s in jsondecode(module.logs_kms_key.key_policy).Statement : try(
      s.Principal.Service == "logs.us-east-1.amazonaws.com"
      && s.Condition.ArnLike["kms:EncryptionContext:aws:logs:arn"] == "arn:aws:logs:us-east-1:123456789012:log-group:/aws-glue/*",
      false,
    )])
    error_message = "The logs key must let CloudWatch Logs use it for Glue's log groups only."
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
        Principal = { Service = "logs.us-east-1.amazonaws.com" }
        Action    = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
        Resource  = "*"
        Condition = { ArnLike = { "kms:EncryptionContext:aws:logs:arn" = "arn:aws:logs:us-east-1:123456789012:log-group:/aws-glue/*" } }
      },
    ]
    error_message = "The logs key policy must be the account root plus CloudWatch Logs for the security configuration's log groups, nothing else."
  }

  assert {
    condition     = module.logs_kms_key.key_rotation_period_in_days == 365 && module.logs_kms_key.alias_name == null
    error_message = "The logs key must rotate yearly and, as before, have no alias."
  }

  assert {
    condition     = output.cloudwatch_logs_kms_key_arn == module.logs_kms_key.key_arn && module.logs_kms_key.key_arn != null
    error_message = "The output must be the created logs key's ARN."
  }
}

run "given_logs_key_creates_none" {
  command = plan

  variables {
    create_cloudwatch_logs_kms_key = false
    cloudwatch_logs_kms_key_arn    = "arn:aws:kms:us-east-1:210987654321:key/9999aaaa-1111-2222-3333-444455556666"
  }

  assert {
    condition     = module.logs_kms_key.key_arn == null && one(one(aws_glue_security_configuration.this[0].encryption_configuration).cloudwatch_encryption).kms_key_arn == "arn:aws:kms:us-east-1:210987654321:key/9999aaaa-1111-2222-3333-444455556666" && output.cloudwatch_logs_kms_key_arn == var.cloudwatch_logs_kms_key_arn
    error_message = "With a given key, no logs key is created and the security configuration uses the given one."
  }
}

run "overrides_wheel_and_target_secret" {
  command = plan

  variables {
    dbshift_wheel             = "tests/fixtures/dbshift-0.1.0-py3-none-any.whl"
    additional_python_modules = ["pyarrow==17.0.0"]
    target_secret_arn         = "arn:aws:secretsmanager:us-east-1:123456789012:secret:dbshift/netperf/target-XyZ123"
    job_overrides             = { export = { number_of_workers = 10, worker_type = "G.2X", max_concurrent_runs = 4 } }
  }

  assert {
    condition     = aws_glue_job.this["export"].number_of_workers == 10 && aws_glue_job.this["export"].worker_type == "G.2X" && one(aws_glue_job.this["export"].execution_property).max_concurrent_runs == 4 && aws_glue_job.this["load"].number_of_workers == 2
    error_message = "job_overrides must apply to its job only."
  }

  assert {
    condition     = aws_glue_job.this["load"].default_arguments["--additional-python-modules"] == "s3://netperf-stats-123456789012/glue/wheels/dbshift-0.1.0-py3-none-any.whl,pyarrow==17.0.0"
    error_message = "The uploaded wheel must come first in --additional-python-modules."
  }

  assert {
    condition = aws_glue_job.this["load"].default_arguments["--TARGET_DSN_SECRET"] == var.target_secret_arn && anytrue([for s in jsondecode(aws_iam_role_policy.this[0].policy).Statement :
      s.Sid == "ReadSecrets" && toset(s.Resource) == toset([var.source_secret_arn, var.target_secret_arn])
    ])
    error_message = "The target secret must be passed and readable."
  }
}

run "connection_needs_a_url" {
  command = plan

  variables {
    source_jdbc_url = null
  }

  expect_failures = [aws_glue_connection.source]
}

run "no_credentials_in_connection_properties" {
  command = plan

  variables {
    source_connection_properties = { PASSWORD = "x" }
  }

  expect_failures = [var.source_connection_properties]
}

run "stats_prefix_outside_scripts" {
  command = plan

  variables {
    stats_prefix = "glue/stats"
  }

  expect_failures = [var.stats_prefix]
}

run "create_false_creates_nothing" {
  command = plan

  variables {
    create = false
  }

  assert {
    condition     = length(aws_glue_job.this) == 0 && output.connection_name == null && output.iam_role_arn == null && output.raw_bucket_name == null && length(aws_s3_object.scripts) == 0
    error_message = "create = false must create nothing."
  }
}
