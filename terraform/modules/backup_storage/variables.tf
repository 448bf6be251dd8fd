################################################################################
# Toggles
################################################################################

variable "create" {
  description = "Whether to create any resources in this module."
  type        = bool
  default     = true
}

variable "create_bucket_policy" {
  description = "Whether to attach the bucket policy (TLS only, TLS >= 1.2, no uploads naming another key or algorithm, RDS tlog copies)."
  type        = bool
  default     = true
}

variable "create_log_bucket" {
  description = "Whether to create a bucket for S3 server access logs. Set false and pass logging_target_bucket to log to an existing bucket."
  type        = bool
  default     = true
}

################################################################################
# Bucket
################################################################################

variable "bucket" {
  description = "Name of the backup bucket (3-63 characters: lower-case letters, digits, '-', '.')."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket)) && !can(regex("\\.\\.|^xn--|-s3alias$|--ol-s3$", var.bucket))
    error_message = "bucket must be a valid S3 bucket name: 3-63 lower-case letters, digits, '-' or '.', starting and ending with a letter or digit."
  }
}

variable "force_destroy" {
  description = "Delete every object version when the bucket is destroyed. Keep false in production: backups are the point."
  type        = bool
  default     = false
}

################################################################################
# Encryption
################################################################################

variable "sse_algorithm" {
  description = "Default encryption: `aws:kms` (SSE-KMS with kms_key_arn) or `AES256` (SSE-S3; AWS does not support RDS transaction log copies into SSE-KMS buckets)."
  type        = string
  default     = "aws:kms"

  validation {
    condition     = contains(["aws:kms", "AES256"], var.sse_algorithm)
    error_message = "sse_algorithm must be \"aws:kms\" or \"AES256\"."
  }
}

variable "kms_key_arn" {
  description = "ARN of the symmetric KMS key for default SSE-KMS encryption. Required when sse_algorithm is `aws:kms`."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-zA-Z0-9-]+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>), not a key ID or alias: S3 compares the ARN."
  }
}

variable "bucket_key_enabled" {
  description = "Use an S3 Bucket Key for SSE-KMS, cutting KMS requests (and cost) for many small tlog objects."
  type        = bool
  default     = true
}

################################################################################
# Access logging
################################################################################

variable "log_bucket" {
  description = "Name of the log bucket to create when create_log_bucket is true. Defaults to `<bucket>-access-logs`."
  type        = string
  default     = null

  validation {
    condition     = var.log_bucket == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", coalesce(var.log_bucket, "ok")))
    error_message = "log_bucket must be a valid S3 bucket name: 3-63 lower-case letters, digits, '-' or '.'."
  }
}

variable "logging_target_bucket" {
  description = "Existing bucket that receives server access logs (create_log_bucket must be false). Its policy must allow logging.s3.amazonaws.com."
  type        = string
  default     = null
}

variable "logging_target_prefix" {
  description = "Key prefix for server access log objects. Defaults to `<bucket>/`."
  type        = string
  default     = null
}

variable "log_delivery_source_buckets" {
  description = "Names of other buckets whose server access logs the created log bucket accepts, each under `<name>/` (their logging_target_prefix)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for b in var.log_delivery_source_buckets : can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", b))])
    error_message = "log_delivery_source_buckets must be bucket names (not ARNs), e.g. sales-tde-certs-123456789012."
  }
}

variable "log_retention_days" {
  description = "Days to keep access logs in the created log bucket; null keeps them forever (no lifecycle configuration)."
  type        = number
  default     = 365

  validation {
    condition     = var.log_retention_days == null || try(var.log_retention_days >= 1 && floor(var.log_retention_days) == var.log_retention_days, false)
    error_message = "log_retention_days must be null or a whole number of days, at least 1."
  }
}

################################################################################
# RDS transaction log copies
################################################################################

variable "rds_tlog_copy_source_arns" {
  description = "RDS DB instance ARNs allowed to copy transaction log backups here (rds_tlog_backup_copy_to_S3) as backups.rds.amazonaws.com."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.rds_tlog_copy_source_arns : can(regex("^arn:aws[a-z-]*:rds:[a-z0-9-]+:[0-9]{12}:db:[a-zA-Z0-9*-]+$", arn))])
    error_message = "rds_tlog_copy_source_arns must be DB instance ARNs, e.g. arn:aws:rds:us-east-1:123456789012:db:sales."
  }
}

variable "rds_tlog_copy_prefix" {
  description = "Key prefix the RDS tlog copies may write under (the path given to rds_tlog_copy_setup), e.g. `tlogs/`. Empty: the whole bucket."
  type        = string
  default     = ""

  validation {
    condition     = !startswith(var.rds_tlog_copy_prefix, "/")
    error_message = "rds_tlog_copy_prefix must not start with '/': S3 keys have no leading slash."
  }
}

################################################################################
# Lifecycle
################################################################################

variable "lifecycle_rules" {
  description = "Optional lifecycle rules. Every rule aborts incomplete multipart uploads; expirations and transitions are opt-in."
  type = list(object({
    id                                     = string
    prefix                                 = optional(string, "")
    enabled                                = optional(bool, true)
    expiration_days                        = optional(number)
    noncurrent_version_expiration_days     = optional(number)
    transition_days                        = optional(number)
    transition_storage_class               = optional(string, "STANDARD_IA")
    abort_incomplete_multipart_upload_days = optional(number, 7)
  }))
  default = []

  validation {
    condition     = length(distinct([for r in var.lifecycle_rules : r.id])) == length(var.lifecycle_rules)
    error_message = "lifecycle_rules ids must be unique."
  }

  validation {
    condition = alltrue([for r in var.lifecycle_rules : contains(
      ["STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER", "GLACIER_IR", "DEEP_ARCHIVE"],
      r.transition_storage_class,
    )])
    error_message = "lifecycle_rules transition_storage_class must be one of STANDARD_IA, ONEZONE_IA, INTELLIGENT_TIERING, GLACIER, GLACIER_IR, DEEP_ARCHIVE."
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
