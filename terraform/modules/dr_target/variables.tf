################################################################################
# Toggles
################################################################################

variable "create" {
  description = "Whether to create any resources in this module."
  type        = bool
  default     = true
}

variable "create_db_subnet_group" {
  description = "Whether to create the DB subnet group the restored RDS/Aurora resources are placed in."
  type        = bool
  default     = true
}

variable "create_redshift_snapshot_copy_grant" {
  description = "Whether to create a Redshift snapshot copy grant for the target key (needed to copy snapshots of KMS-encrypted clusters into this Region)."
  type        = bool
  default     = false
}

################################################################################
# Naming and Regions
################################################################################

variable "name" {
  description = "Name of the workload, e.g. `sales-db`: the prefix of the key alias, the subnet group, the security groups, the grant and the default bucket names."
  type        = string

  validation {
    condition     = can(regex("^[a-z](-?[a-z0-9])*$", var.name)) && length(var.name) <= 30
    error_message = "name must start with a lower-case letter, contain only lower-case letters, digits and single hyphens, not end with a hyphen, and be at most 30 characters."
  }
}

variable "source_region" {
  description = "Region of the source resources. When set, the plan fails if the provider's (target) Region equals it: a DR target in the source Region protects nothing, and a key there cannot re-encrypt a cross-Region copy."
  type        = string
  default     = null

  validation {
    condition     = var.source_region == null || can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", coalesce(var.source_region, "eu-west-1")))
    error_message = "source_region must be an AWS Region name, e.g. eu-west-1."
  }
}

################################################################################
# KMS key
################################################################################

variable "kms_key_alias_name" {
  description = "Alias of the target-Region key without `alias/`. Defaults to `<name>-dr`."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_alias_name == null || can(regex("^[a-zA-Z0-9/_-]{1,250}$", coalesce(var.kms_key_alias_name, "ok"))) && !startswith(coalesce(var.kms_key_alias_name, "ok"), "aws/")
    error_message = "kms_key_alias_name must be 1-250 characters of letters, digits, '/', '_' or '-', without 'alias/' and not starting with 'aws/'."
  }
}

variable "kms_key_deletion_window_in_days" {
  description = "Waiting period, in days, before a scheduled deletion of the key takes effect (7-30)."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_key_deletion_window_in_days >= 7 && var.kms_key_deletion_window_in_days <= 30 && floor(var.kms_key_deletion_window_in_days) == var.kms_key_deletion_window_in_days
    error_message = "kms_key_deletion_window_in_days must be a whole number between 7 and 30."
  }
}

variable "kms_key_administrators" {
  description = "IAM ARNs that may manage the target key but not use it for cryptography."
  type        = list(string)
  default     = []
}

variable "kms_key_users" {
  description = "IAM ARNs that may use the target key: the DR runbook's role (CopyDBSnapshot/RestoreDBInstance re-encrypt with it, the native dump is uploaded with it)."
  type        = list(string)
  default     = []
}

variable "kms_key_statements" {
  description = "Further key policy statements, passed to the kms_key module's key_statements (same shape)."
  type = list(object({
    sid       = string
    effect    = optional(string, "Allow")
    actions   = list(string)
    resources = optional(list(string), ["*"])
    principals = list(object({
      type        = string
      identifiers = list(string)
    }))
    conditions = optional(list(object({
      test     = string
      variable = string
      values   = list(string)
    })), [])
  }))
  default = []
}

################################################################################
# Network
################################################################################

variable "vpc_id" {
  description = "ID of the VPC in the target Region the database security groups belong to."
  type        = string

  validation {
    condition     = can(regex("^vpc-[0-9a-f]{8,17}$", var.vpc_id))
    error_message = "vpc_id must be a VPC ID, e.g. vpc-0123456789abcdef0."
  }
}

variable "subnet_ids" {
  description = "Private subnets of the DB subnet group, in at least two Availability Zones of the target Region."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for s in var.subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", s))]) && length(distinct(var.subnet_ids)) == length(var.subnet_ids)
    error_message = "subnet_ids must be distinct subnet IDs, e.g. subnet-0123456789abcdef0."
  }
}

variable "engine" {
  description = "Engine of the database restored in the target: it sets the port the security group opens (postgres, mysql, mariadb, aurora-postgresql, aurora-mysql, sqlserver-ee/se/ex/web, oracle-ee/se2, redshift, redis, valkey, memcached)."
  type        = string
  default     = "postgres"

  validation {
    condition = contains([
      "postgres", "mysql", "mariadb", "aurora-postgresql", "aurora-mysql",
      "sqlserver-ee", "sqlserver-se", "sqlserver-ex", "sqlserver-web", "oracle-ee", "oracle-se2",
      "redshift", "redis", "valkey", "memcached",
    ], var.engine)
    error_message = "engine must be one of postgres, mysql, mariadb, aurora-postgresql, aurora-mysql, sqlserver-ee, sqlserver-se, sqlserver-ex, sqlserver-web, oracle-ee, oracle-se2, redshift, redis, valkey, memcached."
  }
}

variable "port" {
  description = "Port the database listens on, if not the engine's default."
  type        = number
  default     = null

  validation {
    condition     = var.port == null || try(var.port >= 1 && var.port <= 65535 && floor(var.port) == var.port, false)
    error_message = "port must be a whole number between 1 and 65535."
  }
}

variable "allowed_cidr_blocks" {
  description = "IPv4 CIDR blocks allowed to reach the database port (application subnets). Never 0.0.0.0/0: the DR target is private."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.allowed_cidr_blocks : can(cidrnetmask(c)) && !endswith(c, "/0")])
    error_message = "allowed_cidr_blocks must be IPv4 CIDR blocks narrower than /0 (0.0.0.0/0 would open the database to the internet)."
  }
}

variable "allowed_security_group_ids" {
  description = "Security groups (of the application, in the target VPC) allowed to reach the database port."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for s in var.allowed_security_group_ids : can(regex("^sg-[0-9a-f]{8,17}$", s))])
    error_message = "allowed_security_group_ids must be security group IDs, e.g. sg-0123456789abcdef0."
  }
}

variable "egress_cidr_blocks" {
  description = "IPv4 CIDR blocks the database may open HTTPS (443) connections to, e.g. the VPC's interface endpoints for S3/KMS used by native restores. Empty: the database security group has no egress at all."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.egress_cidr_blocks : can(cidrnetmask(c)) && !endswith(c, "/0")])
    error_message = "egress_cidr_blocks must be IPv4 CIDR blocks narrower than /0."
  }
}

################################################################################
# Bucket for dumps and exports
################################################################################

variable "bucket" {
  description = "Name of the bucket for native dumps and ElastiCache/Redshift exports in the target Region. Defaults to `<name>-dr-<account id>`."
  type        = string
  default     = null

  validation {
    condition     = var.bucket == null || can(regex("^[a-z0-9][a-z0-9.-]{1,49}[a-z0-9]$", coalesce(var.bucket, "ok")))
    error_message = "bucket must be a valid S3 bucket name of 3-51 lower-case letters, digits, '-' or '.' (room for the `-access-logs` suffix of its log bucket)."
  }
}

variable "dump_expiration_days" {
  description = "Days to keep dumps and exports; null keeps them (only incomplete multipart uploads are cleaned up)."
  type        = number
  default     = null

  validation {
    condition     = var.dump_expiration_days == null || try(var.dump_expiration_days >= 1 && floor(var.dump_expiration_days) == var.dump_expiration_days, false)
    error_message = "dump_expiration_days must be null or a whole number of days, at least 1."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days to keep overwritten or deleted versions of dumps."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1 && floor(var.noncurrent_version_expiration_days) == var.noncurrent_version_expiration_days
    error_message = "noncurrent_version_expiration_days must be a whole number of days, at least 1."
  }
}

variable "force_destroy" {
  description = "Delete every object version when the bucket is destroyed. Keep false outside tests."
  type        = bool
  default     = false
}

################################################################################
# Route 53
################################################################################

variable "route53_zone_id" {
  description = "Hosted zone of the application's database name; null creates no record."
  type        = string
  default     = null

  validation {
    condition     = var.route53_zone_id == null || can(regex("^Z[A-Z0-9]{1,31}$", coalesce(var.route53_zone_id, "Z0")))
    error_message = "route53_zone_id must be a hosted zone ID, e.g. Z0123456789ABCDEFGHIJ."
  }
}

variable "route53_record_name" {
  description = "Name the application connects to, e.g. `db.sales.example.internal`; a CNAME with TTL 60 to route53_record_endpoint."
  type        = string
  default     = null
}

variable "route53_record_endpoint" {
  description = "Host name the record points to: the endpoint of the database in the target Region (the cutover step sets the same value)."
  type        = string
  default     = null

  validation {
    condition     = var.route53_record_endpoint == null || can(regex("^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?$", coalesce(var.route53_record_endpoint, "ok")))
    error_message = "route53_record_endpoint must be a host name without scheme or port, e.g. sales.abc123.eu-central-1.rds.amazonaws.com."
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
