# Plan-level checks of the parameter documents, their encryption and the secret, with a mocked AWS provider.

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
  mock_resource "aws_secretsmanager_secret" {
    defaults = { arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:dbshift/netperf/source-credentials-AbCdEf" }
  }
}

variables {
  name               = "netperf"
  input_partition    = "2024-01-01"
  partition_col_date = "measured_at"
  source_filters = {
    cell_performance_data = "site_code <> 'TEST'"
    ue_statistics_data    = "ue_count > 0"
  }
  server_mappings = {
    src1 = "sql1.example.internal:1433"
    src2 = "sql2.example.internal:1433"
  }
  databases   = ["NetPerf01", "NetPerf02"]
  categories  = { cell_perf_stats = ["cell_performance_data", "ue_statistics_data"] }
  kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
}

run "migration_parameter_has_the_procedure_keys" {
  command = plan

  assert {
    condition     = aws_ssm_parameter.migration[0].name == "/dbshift/netperf/migration" && output.migration_parameter_arn == "arn:aws:ssm:us-east-1:123456789012:parameter/dbshift/netperf/migration"
    error_message = "The migration parameter must default to /dbshift/<name>/migration, with its ARN known at plan."
  }

  assert {
    condition = jsondecode(nonsensitive(aws_ssm_parameter.migration[0].value)) == {
      job_mode                            = "resume"
      log_level                           = "INFO"
      input_partition                     = "2024-01-01"
      partition_col_date                  = "measured_at"
      source_filter_cell_performance_data = "site_code <> 'TEST'"
      source_filter_ue_statistics_data    = "ue_count > 0"
    }
    error_message = "The migration parameter must hold job_mode, log_level, input_partition, partition_col_date and one source_filter_<table> per table, each with its own filter."
  }
}

run "server_mappings_parameter" {
  command = plan

  assert {
    condition = jsondecode(nonsensitive(aws_ssm_parameter.server_mappings[0].value)) == {
      server_mappings = { src1 = "sql1.example.internal:1433", src2 = "sql2.example.internal:1433" }
      databases       = ["NetPerf01", "NetPerf02"]
      categories      = { cell_perf_stats = ["cell_performance_data", "ue_statistics_data"] }
    }
    error_message = "The server mappings parameter must hold server_mappings, databases and categories."
  }

  assert {
    condition     = output.parameter_arns == tolist(["arn:aws:ssm:us-east-1:123456789012:parameter/dbshift/netperf/migration", "arn:aws:ssm:us-east-1:123456789012:parameter/dbshift/netperf/server-mappings"])
    error_message = "parameter_arns must list both parameters."
  }
}

run "secure_string_with_the_key" {
  command = plan

  assert {
    condition = alltrue([for p in [aws_ssm_parameter.migration[0], aws_ssm_parameter.server_mappings[0]] :
      p.type == "SecureString" && p.key_id == var.kms_key_arn
    ])
    error_message = "Both parameters must be SecureString encrypted with kms_key_arn by default."
  }

  assert {
    condition     = aws_secretsmanager_secret.this[0].kms_key_id == var.kms_key_arn && aws_secretsmanager_secret.this[0].name == "dbshift/netperf/source-credentials"
    error_message = "The secret must be dbshift/<name>/source-credentials, encrypted with kms_key_arn."
  }
}

run "plain_string_has_no_key" {
  command = plan

  variables {
    parameter_type = "String"
  }

  assert {
    condition     = aws_ssm_parameter.migration[0].type == "String" && aws_ssm_parameter.server_mappings[0].type == "String"
    error_message = "parameter_type = String must apply to both parameters."
  }
}

run "secret_value_left_to_the_user_by_default" {
  command = plan

  assert {
    condition     = length(aws_secretsmanager_secret_version.this) == 0 && output.secret_value_managed == false
    error_message = "Without credentials the secret must be created empty (its value put outside Terraform)."
  }

  assert {
    condition     = output.secret_arn == "arn:aws:secretsmanager:us-east-1:123456789012:secret:dbshift/netperf/source-credentials-AbCdEf"
    error_message = "secret_arn must be the created secret."
  }
}

run "secret_value_written_when_given" {
  command = plan

  variables {
    source_username = "dbshift_reader"
    source_password = "not-a-real-password"
  }

  assert {
    condition     = jsondecode(nonsensitive(aws_secretsmanager_secret_version.this[0].secret_string)) == { username = "dbshift_reader", password = "not-a-real-password" }
    error_message = "The secret value must be JSON with username and password (what Glue's SECRET_ID expects)."
  }

  assert {
    condition     = output.secret_value_managed == true
    error_message = "secret_value_managed must say Terraform wrote the value."
  }
}

run "username_without_password_rejected" {
  command = plan

  variables {
    source_username = "dbshift_reader"
  }

  expect_failures = [aws_secretsmanager_secret.this]
}

run "filter_for_an_unknown_table_rejected" {
  command = plan

  variables {
    source_filters = { cell_performance = "1 = 1" }
  }

  expect_failures = [aws_ssm_parameter.migration]
}

run "extra_settings_cannot_override_known_keys" {
  command = plan

  variables {
    extra_settings = { job_mode = "fresh" }
  }

  expect_failures = [var.extra_settings]
}

run "bad_server_mapping_rejected" {
  command = plan

  variables {
    server_mappings = { src1 = "sql1.example.internal" }
  }

  expect_failures = [var.server_mappings]
}

run "empty_category_rejected" {
  command = plan

  variables {
    categories = { cell_perf_stats = [] }
  }

  expect_failures = [var.categories]
}

run "existing_secret" {
  command = plan

  variables {
    create_secret     = false
    source_secret_arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:shared/sqlserver-reader-XyZ123"
  }

  assert {
    condition     = length(aws_secretsmanager_secret.this) == 0 && output.secret_arn == var.source_secret_arn
    error_message = "create_secret = false must create no secret and pass source_secret_arn through."
  }
}

run "create_false_creates_nothing" {
  command = plan

  variables {
    create = false
  }

  assert {
    condition     = output.migration_parameter_name == null && output.server_mappings_parameter_name == null && output.secret_arn == null && length(output.parameter_arns) == 0
    error_message = "create = false must create nothing."
  }
}
