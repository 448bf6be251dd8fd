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
  description = "dbshift data migration netperf: parameters and source credentials"
}

module "migration_config" {
  source = "../../"

  name        = "netperf"
  kms_key_arn = module.kms_key.key_arn

  job_mode           = "resume"
  input_partition    = "2024-01-01"
  partition_col_date = "measured_at"
  source_filters = {
    cell_performance_data = "site_code <> 'TEST'"
  }

  server_mappings = {
    src1 = "sql1.example.internal:1433"
    src2 = "sql2.example.internal:1433"
  }
  databases  = ["NetPerf01", "NetPerf02"]
  categories = { cell_perf_stats = ["cell_performance_data", "ue_statistics_data"] }

  # No source_username/source_password: put the login with
  # aws secretsmanager put-secret-value --secret-id <secret_arn> --secret-string '{"username":"...","password":"..."}'

  tags = { Environment = "example" }
}

output "migration_parameter_name" {
  description = "MIGRATION_PARAMETER of the orchestrator."
  value       = module.migration_config.migration_parameter_name
}

output "secret_arn" {
  description = "Secret to put the source login into."
  value       = module.migration_config.secret_arn
}
