################################################################################
# Toggles
################################################################################

variable "create" {
  description = "Whether to create any resources in this module."
  type        = bool
  default     = true
}

variable "create_role" {
  description = "Whether to create the IAM role RDS assumes for native backup and restore. When false, pass role_arn."
  type        = bool
  default     = true
}

variable "create_option_group" {
  description = "Whether to create the option group with SQLSERVER_BACKUP_RESTORE (and TDE where available)."
  type        = bool
  default     = true
}

################################################################################
# Naming
################################################################################

variable "name" {
  description = "Base name for the option group and the role, e.g. `sales-sqlserver`."
  type        = string

  validation {
    condition     = can(regex("^[a-z](-?[a-z0-9])*$", var.name)) && length(var.name) <= 40
    error_message = "name must start with a lower-case letter, contain only lower-case letters, digits and single hyphens (RDS lower-cases option group names), not end with a hyphen, and be at most 40 characters."
  }
}

################################################################################
# IAM role
################################################################################

variable "role_name" {
  description = "Name of the IAM role. Defaults to `<name>-rds-backup-restore`."
  type        = string
  default     = null

  validation {
    condition     = var.role_name == null || can(regex("^[a-zA-Z0-9+=,.@_-]{1,64}$", coalesce(var.role_name, "x")))
    error_message = "role_name must be 1-64 characters of letters, digits and +=,.@_-."
  }
}

variable "role_path" {
  description = "Path of the IAM role."
  type        = string
  default     = "/"

  validation {
    condition     = can(regex("^/([\\x21-\\x7E]*/)?$", var.role_path))
    error_message = "role_path must start and end with '/', e.g. \"/dbshift/\"."
  }
}

variable "role_permissions_boundary" {
  description = "ARN of a managed policy used as the role's permissions boundary."
  type        = string
  default     = null
}

variable "role_arn" {
  description = "ARN of an existing role for the option group, used when create_role is false."
  type        = string
  default     = null

  validation {
    condition     = var.role_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/", coalesce(var.role_arn, "x")))
    error_message = "role_arn must be an IAM role ARN, e.g. arn:aws:iam::123456789012:role/rds-backup."
  }
}

variable "bucket_arns" {
  description = "ARNs of the S3 buckets RDS reads backups from and writes backups to."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.bucket_arns : can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", arn))])
    error_message = "bucket_arns must be bucket ARNs without a key, e.g. arn:aws:s3:::sales-backups."
  }
}

variable "kms_key_arns" {
  description = "ARNs of the symmetric KMS keys RDS uses to encrypt and decrypt backup files (@kms_master_key_arn)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.kms_key_arns : can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-zA-Z0-9-]+$", arn))])
    error_message = "kms_key_arns must be KMS key ARNs (arn:aws:kms:<region>:<account>:key/<id>), not aliases."
  }
}

variable "db_instance_arns" {
  description = "DB instance ARNs allowed to assume the role (aws:SourceArn). Empty: any DB instance in this account and Region."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.db_instance_arns : can(regex("^arn:aws[a-z-]*:rds:[a-z0-9-]+:[0-9]{12}:db:[a-zA-Z0-9*-]+$", arn))])
    error_message = "db_instance_arns must be DB instance ARNs, e.g. arn:aws:rds:us-east-1:123456789012:db:sales."
  }
}

################################################################################
# Option group
################################################################################

variable "engine_name" {
  description = "SQL Server edition of the option group: `sqlserver-se` or `sqlserver-ee`."
  type        = string
  default     = "sqlserver-se"

  validation {
    condition     = contains(["sqlserver-se", "sqlserver-ee"], var.engine_name)
    error_message = "engine_name must be \"sqlserver-se\" or \"sqlserver-ee\"."
  }
}

variable "major_engine_version" {
  description = "Major engine version: 13.00 (2016), 14.00 (2017), 15.00 (2019) or 16.00 (2022)."
  type        = string
  default     = "15.00"

  validation {
    condition     = contains(["13.00", "14.00", "15.00", "16.00"], var.major_engine_version)
    error_message = "major_engine_version must be one of \"13.00\", \"14.00\", \"15.00\", \"16.00\"."
  }
}

variable "option_group_description" {
  description = "Description of the option group. Defaults to one naming the module."
  type        = string
  default     = null
}

variable "enable_tde" {
  description = "TRANSPARENT_DATA_ENCRYPTION option: null adds it where the edition supports it (Enterprise; Standard 2019+), true requires it, false leaves it out."
  type        = bool
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
