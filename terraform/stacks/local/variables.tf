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
