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

module "ecs_orchestrator" {
  source = "../../"

  name  = "netperf"
  image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/dbshift-orchestrator:0.1.0"

  migration_parameter_name       = "/dbshift/netperf/migration"
  server_mappings_parameter_name = "/dbshift/netperf/server-mappings"
  source_secret_arn              = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:dbshift/netperf/source-credentials-AbCdEf"
  # Its value is the target DSN, put outside Terraform; ECS injects it as DBSHIFT_TARGET_DSN.
  target_secret_arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:dbshift/netperf/target-dsn-AbCdEf"
  kms_key_arns      = ["arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"]
  raw_area          = "s3://netperf-raw-123456789012"
  transformed_area  = "s3://netperf-transformed-123456789012"
  s3_areas          = ["s3://netperf-stats-123456789012/stats"]

  cpu    = 2048
  memory = 8192

  tags = { Environment = "example" }
}

output "task_definition_arn" {
  description = "Task definition to run (aws ecs run-task --launch-type FARGATE)."
  value       = module.ecs_orchestrator.task_definition_arn
}
