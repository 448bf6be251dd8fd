################################################################################
# The emulated AWS (written by the estate into estate.auto.tfvars.json)
################################################################################

variable "aws_endpoint_url" {
  description = "Endpoint of the emulated AWS (the estate's moto server), e.g. `http://127.0.0.1:5000`."
  type        = string

  validation {
    condition     = can(regex("^https?://[^/]+/?$", var.aws_endpoint_url))
    error_message = "aws_endpoint_url must be a scheme and host, e.g. http://127.0.0.1:5000 (no path)."
  }
}

variable "region" {
  description = "Region of the emulated AWS."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS Region name, e.g. us-east-1."
  }
}

################################################################################
# Naming
################################################################################

variable "name_prefix" {
  description = "Prefix of every resource name."
  type        = string
  default     = "dbshift-local"

  validation {
    condition     = can(regex("^[a-z](-?[a-z0-9])*$", var.name_prefix)) && length(var.name_prefix) <= 24
    error_message = "name_prefix must be lower-case letters, digits and single hyphens, start with a letter, and be at most 24 characters."
  }
}

################################################################################
# Access
################################################################################

variable "controller_role_arns" {
  description = "IAM ARNs that may Decrypt with the key (the runbook's controller, the EC2 target's instance role)."
  type        = list(string)
  default     = []
}

variable "db_instance_arns" {
  description = "ARNs of the emulated RDS instances allowed to use the role and copy tlogs. Empty: any in the account."
  type        = list(string)
  default     = []
}

################################################################################
# SQL Server
################################################################################

variable "engine_name" {
  description = "SQL Server edition of the emulated RDS instance's option group."
  type        = string
  default     = "sqlserver-se"

  validation {
    condition     = contains(["sqlserver-se", "sqlserver-ee"], var.engine_name)
    error_message = "engine_name must be \"sqlserver-se\" or \"sqlserver-ee\"."
  }
}

variable "major_engine_version" {
  description = "Major engine version of the emulated RDS instance's option group (15.00 = SQL Server 2019: TDE on Standard Edition)."
  type        = string
  default     = "15.00"

  validation {
    condition     = contains(["13.00", "14.00", "15.00", "16.00"], var.major_engine_version)
    error_message = "major_engine_version must be one of \"13.00\", \"14.00\", \"15.00\", \"16.00\"."
  }
}

################################################################################
# Data migration
################################################################################

variable "migration_server_mappings" {
  description = "The emulated source SQL Servers by name, `host:port` each (the estate's TDS endpoints)."
  type        = map(string)
  default = {
    src1 = "127.0.0.1:14331"
    src2 = "127.0.0.1:14332"
  }
}

variable "migration_databases" {
  description = "Databases to migrate on every source server."
  type        = list(string)
  default     = ["NetPerf01", "NetPerf02"]
}

variable "migration_input_partition" {
  description = "The partition (days) the migration parameter names."
  type        = string
  default     = "2024-01-01"
}

variable "migration_source_filters" {
  description = "T-SQL filters by source table (source_filter_<table> keys of the migration parameter)."
  type        = map(string)
  default     = {}
}

variable "migration_source_username" {
  description = "Login of the emulated sources, written into the secret when given with the password."
  type        = string
  default     = null
}

variable "migration_source_password" {
  description = "Password of migration_source_username (sensitive; the emulated estate's, never a real one)."
  type        = string
  default     = null
  sensitive   = true
}

variable "glue_scripts_dir" {
  description = "Directory of the Glue job scripts to upload. Null: the repository's src/dbshift/datamove/glue."
  type        = string
  default     = null
}

variable "orchestrator_image" {
  description = "Image of the orchestrator task (nothing pulls it in the emulated estate)."
  type        = string
  default     = "dbshift-orchestrator:local"
}

variable "glue_create_connection" {
  description = "Create the Glue JDBC connection (the emulated AWS has glue DeleteConnection/UpdateConnection through dbshift's moto patch)."
  type        = bool
  default     = true
}
