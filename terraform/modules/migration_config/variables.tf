################################################################################
# Toggles
################################################################################

variable "create" {
  description = "Whether to create any resources in this module."
  type        = bool
  default     = true
}

variable "create_secret" {
  description = "Whether to create the Secrets Manager secret for the source SQL Server credentials. When false, pass source_secret_arn of an existing one."
  type        = bool
  default     = true
}

################################################################################
# Naming
################################################################################

variable "name" {
  description = "Name of the migration, e.g. `netperf`: part of the default parameter and secret names."
  type        = string

  validation {
    condition     = can(regex("^[a-z](-?[a-z0-9])*$", var.name)) && length(var.name) <= 40
    error_message = "name must start with a lower-case letter, contain only lower-case letters, digits and single hyphens, not end with a hyphen, and be at most 40 characters."
  }
}

variable "migration_parameter_name" {
  description = "Name of the migration parameter (job_mode, log_level, input_partition, partition_col_date, source_filter_<table>). Defaults to `/dbshift/<name>/migration`."
  type        = string
  default     = null

  validation {
    condition     = var.migration_parameter_name == null || can(regex("^/[a-zA-Z0-9_.-]+(/[a-zA-Z0-9_.-]+)*$", coalesce(var.migration_parameter_name, "/ok")))
    error_message = "migration_parameter_name must be a hierarchical SSM name starting with '/', of letters, digits, '_', '.', '-' and '/', e.g. /dbshift/netperf/migration."
  }
}

variable "server_mappings_parameter_name" {
  description = "Name of the server mappings parameter (server_mappings, databases, categories). Defaults to `/dbshift/<name>/server-mappings`."
  type        = string
  default     = null

  validation {
    condition     = var.server_mappings_parameter_name == null || can(regex("^/[a-zA-Z0-9_.-]+(/[a-zA-Z0-9_.-]+)*$", coalesce(var.server_mappings_parameter_name, "/ok")))
    error_message = "server_mappings_parameter_name must be a hierarchical SSM name starting with '/', of letters, digits, '_', '.', '-' and '/', e.g. /dbshift/netperf/server-mappings."
  }
}

################################################################################
# Migration parameter
################################################################################

variable "job_mode" {
  description = "`resume` continues from the checkpoints in the target; `fresh` resets them and truncates the stage tables."
  type        = string
  default     = "resume"

  validation {
    condition     = contains(["fresh", "resume"], var.job_mode)
    error_message = "job_mode must be \"fresh\" or \"resume\"."
  }
}

variable "log_level" {
  description = "Log level of the migration engine: DEBUG, INFO, WARNING or ERROR."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "log_level must be one of DEBUG, INFO, WARNING, ERROR."
  }
}

variable "input_partition" {
  description = "The partition (days) to migrate, written as given; the engine validates its form (e.g. `2024-01-01`)."
  type        = string

  validation {
    condition     = length(trimspace(var.input_partition)) > 0
    error_message = "input_partition must not be empty: give the days to migrate, e.g. 2024-01-01."
  }
}

variable "partition_col_date" {
  description = "Date/time column present in every source table that splits the data into days, e.g. `measured_at`."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z_][A-Za-z0-9_]*$", var.partition_col_date))
    error_message = "partition_col_date must be a column name: a letter or '_' followed by letters, digits or '_'."
  }
}

variable "source_filters" {
  description = "T-SQL predicates by source table, written as `source_filter_<table>` keys, e.g. `{ cell_performance_data = \"site_code <> 'TEST'\" }`. Each applies to its own table only."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for t in keys(var.source_filters) : can(regex("^[A-Za-z_][A-Za-z0-9_]*$", t))])
    error_message = "source_filters keys must be source table names (letters, digits, '_')."
  }
}

variable "extra_settings" {
  description = "Further keys of the migration parameter (e.g. chunking or parallelism settings the engine reads), merged last. Values are written as given."
  type        = any
  default     = {}

  validation {
    condition     = length(setintersection(keys(var.extra_settings), ["job_mode", "log_level", "input_partition", "partition_col_date"])) == 0
    error_message = "extra_settings must not repeat job_mode, log_level, input_partition or partition_col_date: set those variables instead."
  }
}

################################################################################
# Server mappings parameter
################################################################################

variable "server_mappings" {
  description = "Source SQL Servers by name: `host:port` each, e.g. `{ src1 = \"sql1.example.internal:1433\" }`."
  type        = map(string)

  validation {
    condition     = length(var.server_mappings) > 0
    error_message = "server_mappings must name at least one source server."
  }

  validation {
    condition     = alltrue([for hp in values(var.server_mappings) : can(regex("^[A-Za-z0-9.-]+:[0-9]{1,5}$", hp))])
    error_message = "server_mappings values must be host:port, e.g. sql1.example.internal:1433."
  }
}

variable "databases" {
  description = "Databases to migrate on every source server, e.g. `[\"NetPerf01\", \"NetPerf02\"]`."
  type        = list(string)

  validation {
    condition     = length(var.databases) > 0 && length(distinct(var.databases)) == length(var.databases)
    error_message = "databases must list at least one database, each once."
  }
}

variable "categories" {
  description = "Target tables with the source tables each is built from, e.g. `{ cell_perf_stats = [\"cell_performance_data\", \"ue_statistics_data\"] }`."
  type        = map(list(string))

  validation {
    condition     = length(var.categories) > 0 && alltrue([for tables in values(var.categories) : length(tables) > 0])
    error_message = "categories must name at least one target table, each with at least one source table."
  }
}

################################################################################
# Parameters: type and encryption
################################################################################

variable "parameter_type" {
  description = "Type of both parameters: `SecureString` (encrypted with kms_key_arn, or the account's aws/ssm key when null) or `String`."
  type        = string
  default     = "SecureString"

  validation {
    condition     = contains(["SecureString", "String"], var.parameter_type)
    error_message = "parameter_type must be \"SecureString\" or \"String\"."
  }
}

variable "parameter_tier" {
  description = "Tier of both parameters: `Standard` (values up to 4 KB) or `Advanced` (up to 8 KB, charged)."
  type        = string
  default     = "Standard"

  validation {
    condition     = contains(["Standard", "Advanced"], var.parameter_tier)
    error_message = "parameter_tier must be \"Standard\" or \"Advanced\"."
  }
}

variable "kms_key_arn" {
  description = "ARN of the customer managed KMS key encrypting the SecureString parameters and the secret. Null: the AWS managed keys (aws/ssm, aws/secretsmanager)."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-zA-Z0-9-]+$", coalesce(var.kms_key_arn, "x")))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>): IAM policies of the readers name it."
  }
}

################################################################################
# Source credentials secret
################################################################################

variable "secret_name" {
  description = "Name of the secret holding the source SQL Server login as JSON `{\"username\": ..., \"password\": ...}`. Defaults to `dbshift/<name>/source-credentials`."
  type        = string
  default     = null

  validation {
    condition     = var.secret_name == null || can(regex("^[A-Za-z0-9/_+=.@-]{1,512}$", coalesce(var.secret_name, "ok")))
    error_message = "secret_name must be 1-512 characters of letters, digits and /_+=.@-."
  }
}

variable "secret_recovery_window_in_days" {
  description = "Days Secrets Manager keeps the deleted secret recoverable: 0 (delete at once) or 7-30."
  type        = number
  default     = 30

  validation {
    condition     = var.secret_recovery_window_in_days == 0 || (var.secret_recovery_window_in_days >= 7 && var.secret_recovery_window_in_days <= 30)
    error_message = "secret_recovery_window_in_days must be 0 or between 7 and 30."
  }
}

variable "source_username" {
  description = "Login of the source SQL Servers. With source_password, written as the secret's value; leave both null to put the value yourself (it then never enters Terraform state)."
  type        = string
  default     = null
}

variable "source_password" {
  description = "Password of source_username. Sensitive: when given, the secret version (and so the Terraform state) holds it; leave null and put the value with `aws secretsmanager put-secret-value` to keep it out of state."
  type        = string
  default     = null
  sensitive   = true
}

variable "source_secret_arn" {
  description = "ARN of an existing secret with the source credentials, used when create_secret is false."
  type        = string
  default     = null

  validation {
    condition     = var.source_secret_arn == null || can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$", coalesce(var.source_secret_arn, "x")))
    error_message = "source_secret_arn must be a Secrets Manager secret ARN."
  }
}

################################################################################
# Tags
################################################################################

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
