################################################################################
# Toggles
################################################################################

variable "create" {
  description = "Whether to create any resources in this module."
  type        = bool
  default     = true
}

variable "create_cluster" {
  description = "Whether to create the ECS cluster. When false, pass cluster_arn of an existing one."
  type        = bool
  default     = true
}

variable "create_log_kms_key" {
  description = "Whether to create a KMS key for the log group (its policy lets CloudWatch Logs use it for this log group only). When false, pass log_kms_key_arn."
  type        = bool
  default     = true
}

################################################################################
# Naming
################################################################################

variable "name" {
  description = "Name of the migration, e.g. `netperf`: prefix of the cluster, task family, log group and roles."
  type        = string

  validation {
    condition     = can(regex("^[a-z](-?[a-z0-9])*$", var.name)) && length(var.name) <= 32
    error_message = "name must start with a lower-case letter, contain only lower-case letters, digits and single hyphens, not end with a hyphen, and be at most 32 characters."
  }
}

variable "cluster_arn" {
  description = "ARN of an existing ECS cluster, used when create_cluster is false."
  type        = string
  default     = null
}

################################################################################
# Task
################################################################################

variable "image" {
  description = "Orchestrator image (docker/orchestrator/Dockerfile), e.g. `123456789012.dkr.ecr.eu-west-1.amazonaws.com/dbshift:0.1.0`."
  type        = string

  validation {
    condition     = length(var.image) > 0 && !endswith(var.image, ":latest")
    error_message = "image must name a tag or digest other than :latest, so a task runs the image that was reviewed."
  }
}

variable "ecr_repository_arns" {
  description = "ECR repositories the execution role may pull from. Empty: derived from image when it is an ECR image; none otherwise."
  type        = list(string)
  default     = []
}

variable "command" {
  description = "Arguments replacing the image's CMD (`--stage all`), e.g. `[\"--stage\", \"validate\"]`; null keeps the image's."
  type        = list(string)
  default     = null
}

variable "cpu" {
  description = "Task CPU units (Fargate: 256, 512, 1024, 2048, 4096, 8192, 16384)."
  type        = number
  default     = 1024

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096, 8192, 16384], var.cpu)
    error_message = "cpu must be one of the Fargate sizes: 256, 512, 1024, 2048, 4096, 8192, 16384."
  }
}

variable "memory" {
  description = "Task memory in MiB (must fit the cpu size on Fargate)."
  type        = number
  default     = 4096
}

variable "cpu_architecture" {
  description = "CPU architecture of the image: X86_64 or ARM64."
  type        = string
  default     = "X86_64"

  validation {
    condition     = contains(["X86_64", "ARM64"], var.cpu_architecture)
    error_message = "cpu_architecture must be X86_64 or ARM64."
  }
}

variable "ephemeral_storage_gib" {
  description = "Fargate ephemeral storage in GiB (21-200), mounted at /tmp for local spill files."
  type        = number
  default     = 21

  validation {
    condition     = var.ephemeral_storage_gib >= 21 && var.ephemeral_storage_gib <= 200
    error_message = "ephemeral_storage_gib must be between 21 and 200."
  }
}

variable "environment" {
  description = "Further environment variables of the container (not secrets: use `secrets`)."
  type        = map(string)
  default     = {}

  validation {
    condition     = length(setintersection(keys(var.environment), ["MIGRATION_PARAMETER", "SERVER_MAPPINGS_PARAMETER", "DBSHIFT_SOURCE_SECRET", "DBSHIFT_RAW_AREA", "DBSHIFT_TRANSFORMED_AREA"])) == 0
    error_message = "environment must not set MIGRATION_PARAMETER, SERVER_MAPPINGS_PARAMETER, DBSHIFT_SOURCE_SECRET, DBSHIFT_RAW_AREA or DBSHIFT_TRANSFORMED_AREA: they come from their own variables."
  }

  # A plaintext DSN or password here would sit in the task definition and the Terraform state.
  validation {
    condition     = length(setintersection(keys(var.environment), ["DBSHIFT_TARGET_DSN", "DBSHIFT_SOURCE_PASSWORD"])) == 0
    error_message = "environment must not set DBSHIFT_TARGET_DSN or DBSHIFT_SOURCE_PASSWORD (plaintext secrets): pass target_secret_arn / source_secret_arn instead."
  }
}

################################################################################
# Configuration the task reads (migration_config outputs)
################################################################################

variable "migration_parameter_name" {
  description = "Name of the SSM migration parameter: the container's MIGRATION_PARAMETER."
  type        = string

  validation {
    condition     = startswith(var.migration_parameter_name, "/")
    error_message = "migration_parameter_name must be a hierarchical SSM name starting with '/'."
  }
}

variable "server_mappings_parameter_name" {
  description = "Name of the SSM server mappings parameter: the container's SERVER_MAPPINGS_PARAMETER."
  type        = string

  validation {
    condition     = startswith(var.server_mappings_parameter_name, "/")
    error_message = "server_mappings_parameter_name must be a hierarchical SSM name starting with '/'."
  }
}

variable "source_secret_arn" {
  description = "ARN of the secret with the source login (JSON username and password): named by DBSHIFT_SOURCE_SECRET, which `dbshift migrate` reads with the task role."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$", var.source_secret_arn))
    error_message = "source_secret_arn must be a Secrets Manager secret ARN."
  }
}

variable "target_secret_arn" {
  description = "ARN of the Secrets Manager secret whose value is the target PostgreSQL DSN (checkpoints, import, validation): injected by ECS as DBSHIFT_TARGET_DSN, so neither the task definition nor the state holds the DSN."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$", var.target_secret_arn))
    error_message = "target_secret_arn must be a Secrets Manager secret ARN (its value: the target DSN, e.g. postgresql://user:password@host:5432/db)."
  }
}

variable "secrets" {
  description = "Further secrets injected as environment variables: name to Secrets Manager secret ARN (or SSM parameter ARN). DBSHIFT_TARGET_DSN comes from target_secret_arn."
  type        = map(string)
  default     = {}

  validation {
    condition     = !contains(keys(var.secrets), "DBSHIFT_TARGET_DSN")
    error_message = "secrets must not set DBSHIFT_TARGET_DSN: pass the DSN's secret as target_secret_arn."
  }
}

variable "raw_area" {
  description = "s3:// URL of the raw area (glue_migration's raw_area), without a trailing '/': the container's DBSHIFT_RAW_AREA; the task role may read and write under it."
  type        = string

  validation {
    condition     = can(regex("^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*[^/])?$", var.raw_area))
    error_message = "raw_area must be an s3://bucket or s3://bucket/prefix URL without a trailing '/' (the task has no lasting local disk)."
  }
}

variable "transformed_area" {
  description = "s3:// URL of the transformed area (glue_migration's transformed_area), without a trailing '/': the container's DBSHIFT_TRANSFORMED_AREA; the task role may read and write under it."
  type        = string

  validation {
    condition     = can(regex("^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*[^/])?$", var.transformed_area))
    error_message = "transformed_area must be an s3://bucket or s3://bucket/prefix URL without a trailing '/' (the task has no lasting local disk)."
  }
}

variable "kms_key_arns" {
  description = "KMS keys encrypting the parameters, the secrets and the S3 areas: the task role may decrypt and generate data keys with them; the execution role may decrypt."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.kms_key_arns : can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-zA-Z0-9-]+$", arn))])
    error_message = "kms_key_arns must be KMS key ARNs."
  }
}

variable "s3_areas" {
  description = "s3:// URLs of further data areas the task reads and writes besides raw_area and transformed_area, e.g. the stats area `s3://netperf-stats-123456789012/stats`."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for url in var.s3_areas : can(regex("^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*[^/])?$", url))])
    error_message = "s3_areas must be s3://bucket or s3://bucket/prefix URLs without a trailing '/'."
  }
}

variable "glue_job_arns" {
  description = "Glue jobs the orchestrator may start and watch (glue_migration's job_arns), when it runs the stages in Glue."
  type        = list(string)
  default     = []
}

################################################################################
# Logs
################################################################################

variable "log_retention_days" {
  description = "Days CloudWatch Logs keeps the orchestrator's logs."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a CloudWatch Logs retention value, e.g. 30, 90, 365, 731."
  }
}

variable "log_kms_key_arn" {
  description = "ARN of an existing KMS key for the log group (its policy must allow logs.<region>.amazonaws.com), used when create_log_kms_key is false."
  type        = string
  default     = null
}

variable "kms_key_deletion_window_in_days" {
  description = "Deletion window of the created log key, in days (7-30)."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_key_deletion_window_in_days >= 7 && var.kms_key_deletion_window_in_days <= 30
    error_message = "kms_key_deletion_window_in_days must be between 7 and 30."
  }
}

################################################################################
# IAM roles
################################################################################

variable "role_path" {
  description = "Path of the task and execution roles."
  type        = string
  default     = "/"
}

variable "role_permissions_boundary" {
  description = "ARN of a managed policy used as both roles' permissions boundary."
  type        = string
  default     = null
}

################################################################################
# Tags
################################################################################

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
