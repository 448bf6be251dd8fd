################################################################################
# Toggles
################################################################################

variable "create" {
  description = "Whether to create any resources in this module."
  type        = bool
  default     = true
}

variable "create_kms_key" {
  description = "Whether to create the customer managed KMS key. When false, pass kms_key_arn (its key policy is then yours to manage)."
  type        = bool
  default     = true
}

################################################################################
# Naming
################################################################################

variable "name" {
  description = "Name of the workload, e.g. `sales-sqlserver`: the option group's name and the prefix of the role, the key alias and the default bucket names."
  type        = string

  validation {
    condition     = can(regex("^[a-z](-?[a-z0-9])*$", var.name)) && length(var.name) <= 40
    error_message = "name must start with a lower-case letter, contain only lower-case letters, digits and single hyphens, not end with a hyphen, and be at most 40 characters."
  }
}

################################################################################
# Buckets
################################################################################

variable "backup_bucket" {
  description = "Name of the bucket for native backups and transaction log copies. Defaults to `<name>-backups-<account id>`."
  type        = string
  default     = null

  validation {
    condition     = var.backup_bucket == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", coalesce(var.backup_bucket, "ok")))
    error_message = "backup_bucket must be a valid S3 bucket name: 3-63 lower-case letters, digits, '-' or '.'."
  }
}

variable "certificate_bucket" {
  description = "Name of the bucket for TDE certificates (.cer and .pvk). Defaults to `<name>-tde-certs-<account id>`."
  type        = string
  default     = null

  validation {
    condition     = var.certificate_bucket == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", coalesce(var.certificate_bucket, "ok")))
    error_message = "certificate_bucket must be a valid S3 bucket name: 3-63 lower-case letters, digits, '-' or '.'."
  }
}

variable "log_bucket" {
  description = "Name of the created bucket receiving both buckets' server access logs. Defaults to `<backup bucket>-access-logs`."
  type        = string
  default     = null

  validation {
    condition     = var.log_bucket == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", coalesce(var.log_bucket, "ok")))
    error_message = "log_bucket must be a valid S3 bucket name: 3-63 lower-case letters, digits, '-' or '.'."
  }
}

variable "backup_prefix" {
  description = "Key prefix of native full backups in the backup bucket, ending in '/'."
  type        = string
  default     = "backups/"

  validation {
    condition     = can(regex("^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*/$", var.backup_prefix))
    error_message = "backup_prefix must be a non-empty S3 key prefix of safe characters ending in '/' and not starting with '/', e.g. \"backups/\"."
  }
}

variable "tlog_prefix" {
  description = "Key prefix of transaction log copies in the backup bucket (the folder of rds_tlog_copy_setup's @target_s3_arn), ending in '/'."
  type        = string
  default     = "tlogs/"

  validation {
    condition     = can(regex("^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*/$", var.tlog_prefix))
    error_message = "tlog_prefix must be a non-empty S3 key prefix of safe characters ending in '/' and not starting with '/', e.g. \"tlogs/\"."
  }
}

variable "certificate_prefix" {
  description = "Key prefix of TDE certificate files in the certificate bucket, ending in '/'."
  type        = string
  default     = "certificates/"

  validation {
    condition     = can(regex("^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*/$", var.certificate_prefix))
    error_message = "certificate_prefix must be a non-empty S3 key prefix of safe characters ending in '/' and not starting with '/', e.g. \"certificates/\"."
  }
}

variable "tlog_expiration_days" {
  description = "Days to keep transaction log copies; null keeps them (no lifecycle rule). Copies older than the newest full backup's chain are not needed."
  type        = number
  default     = null

  validation {
    condition     = var.tlog_expiration_days == null || try(var.tlog_expiration_days >= 1 && floor(var.tlog_expiration_days) == var.tlog_expiration_days, false)
    error_message = "tlog_expiration_days must be null or a whole number of days, at least 1."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days to keep overwritten object versions in both buckets; null keeps them (no lifecycle rule)."
  type        = number
  default     = null

  validation {
    condition     = var.noncurrent_version_expiration_days == null || try(var.noncurrent_version_expiration_days >= 1 && floor(var.noncurrent_version_expiration_days) == var.noncurrent_version_expiration_days, false)
    error_message = "noncurrent_version_expiration_days must be null or a whole number of days, at least 1."
  }
}

variable "log_retention_days" {
  description = "Days to keep server access logs; null keeps them forever (no lifecycle configuration on the log bucket)."
  type        = number
  default     = 365
}

variable "force_destroy" {
  description = "Delete every object version when the buckets are destroyed. Keep false in production: backups are the point."
  type        = bool
  default     = false
}

################################################################################
# KMS key
################################################################################

variable "kms_key_arn" {
  description = "ARN of an existing symmetric KMS key, used when create_kms_key is false."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-zA-Z0-9-]+$", coalesce(var.kms_key_arn, "x")))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>), not a key ID or alias."
  }
}

variable "kms_key_alias_name" {
  description = "Alias of the created key, without `alias/`. Defaults to name."
  type        = string
  default     = null
}

variable "kms_key_deletion_window_in_days" {
  description = "Waiting period, in days, between ScheduleKeyDeletion and the key's deletion (7-30)."
  type        = number
  default     = 30
}

variable "kms_key_multi_region" {
  description = "Create a multi-Region primary key, so replicas in a DR Region can decrypt cross-Region copies."
  type        = bool
  default     = false
}

variable "kms_key_administrators" {
  description = "IAM ARNs that may manage the key but not use it for cryptography."
  type        = list(string)
  default     = []
}

variable "kms_key_users" {
  description = "IAM ARNs, besides the RDS role, that may encrypt and decrypt with the key."
  type        = list(string)
  default     = []
}

variable "controller_role_arns" {
  description = "IAM ARNs of the runbook's controller (and of the EC2 target's instance role, which fetches tlogs) that may Decrypt with the key: tlog data keys, the TDE certificate password, the certificate bucket."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.controller_role_arns : can(regex("^arn:aws[a-z-]*:(iam|sts)::[0-9]{12}:", arn))])
    error_message = "controller_role_arns must be IAM or STS ARNs, e.g. arn:aws:iam::123456789012:role/dbshift-controller."
  }
}

################################################################################
# RDS native backup/restore
################################################################################

variable "db_instance_arns" {
  description = "ARNs of the RDS SQL Server instances that may assume the role and copy tlogs into the backup bucket. Empty: any DB instance in this account and Region."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.db_instance_arns : can(regex("^arn:aws[a-z-]*:rds:[a-z0-9-]+:[0-9]{12}:db:[a-zA-Z0-9-]+$", arn))])
    error_message = "db_instance_arns must be DB instance ARNs, e.g. arn:aws:rds:us-east-1:123456789012:db:sales."
  }
}

variable "role_name" {
  description = "Name of the IAM role RDS assumes. Defaults to `<name>-rds-backup-restore`."
  type        = string
  default     = null
}

variable "role_path" {
  description = "Path of the IAM role."
  type        = string
  default     = "/"
}

variable "role_permissions_boundary" {
  description = "ARN of a managed policy used as the role's permissions boundary."
  type        = string
  default     = null
}

variable "engine_name" {
  description = "SQL Server edition of the option group: `sqlserver-se` or `sqlserver-ee`."
  type        = string
  default     = "sqlserver-se"
}

variable "major_engine_version" {
  description = "Major engine version of the option group: 13.00, 14.00, 15.00 or 16.00."
  type        = string
  default     = "15.00"
}

variable "enable_tde" {
  description = "Add TRANSPARENT_DATA_ENCRYPTION to the option group: true (TDE databases; fails where the edition has no TDE), null (where supported), false (non-TDE only)."
  type        = bool
  default     = true
}

################################################################################
# Tags
################################################################################

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
