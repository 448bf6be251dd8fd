provider "aws" {
  region = "eu-west-1"
}

terraform {
  required_version = ">= 1.7"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }
  }
}

module "kms_key" {
  source = "../../../kms_key"

  alias_name  = "netperf-migration"
  description = "dbshift data migration netperf: parameters, credentials, data areas"
}

module "glue_migration" {
  source = "../../"

  name        = "netperf"
  kms_key_arn = module.kms_key.key_arn

  migration_parameter_name       = "/dbshift/netperf/migration"
  server_mappings_parameter_name = "/dbshift/netperf/server-mappings"
  source_secret_arn              = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:dbshift/netperf/source-credentials-AbCdEf"
  target_secret_arn              = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:dbshift/netperf/target-dsn-AbCdEf" # its value: the target DSN

  source_jdbc_url    = "jdbc:sqlserver://sql1.example.internal:1433;databaseName=NetPerf01"
  subnet_id          = "subnet-0123456789abcdef0"
  security_group_ids = ["sg-0123456789abcdef0"]
  availability_zone  = "eu-west-1a"

  # A wheel built with `pip wheel . --no-deps -w dist` from the repository root.
  dbshift_wheel             = "${path.root}/dist/dbshift-0.1.0-py3-none-any.whl"
  additional_python_modules = []

  job_overrides = {
    export = { number_of_workers = 10, max_concurrent_runs = 2 }
    load   = { worker_type = "G.2X", number_of_workers = 4 }
  }

  tags = { Environment = "example" }
}

output "job_names" {
  description = "Glue jobs by stage."
  value       = module.glue_migration.job_names
}
