################################################################################
# Account and Region
################################################################################

variable "region" {
  description = "Region of the RDS SQL Server source instance, its backups and keys."
  type        = string
  default     = "eu-west-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS Region name, e.g. eu-west-1."
  }
}

variable "name" {
  description = "Name of the workload, used as the prefix of every resource name, e.g. `sales-sqlserver`."
  type        = string
  default     = "sales-sqlserver"

  validation {
    condition     = can(regex("^[a-z](-?[a-z0-9])*$", var.name)) && length(var.name) <= 24
    error_message = "name must be lower-case letters, digits and single hyphens, start with a letter, and be at most 24 characters."
  }
}

################################################################################
# RDS SQL Server
################################################################################

variable "db_instance_identifier" {
  description = "Identifier of the RDS SQL Server instance that backs up to, restores from and copies tlogs to these buckets."
  type        = string
  default     = "sales"

  validation {
    condition     = can(regex("^[a-z](-?[a-z0-9])*$", var.db_instance_identifier)) && length(var.db_instance_identifier) <= 63
    error_message = "db_instance_identifier must be 1-63 lower-case letters, digits and single hyphens, starting with a letter."
  }
}

variable "engine_name" {
  description = "SQL Server edition: `sqlserver-se` or `sqlserver-ee`."
  type        = string
  default     = "sqlserver-ee"

  validation {
    condition     = contains(["sqlserver-se", "sqlserver-ee"], var.engine_name)
    error_message = "engine_name must be \"sqlserver-se\" or \"sqlserver-ee\"."
  }
}

variable "major_engine_version" {
  description = "SQL Server major engine version, e.g. 16.00 for SQL Server 2022."
  type        = string
  default     = "16.00"

  validation {
    condition     = contains(["13.00", "14.00", "15.00", "16.00"], var.major_engine_version)
    error_message = "major_engine_version must be one of \"13.00\", \"14.00\", \"15.00\", \"16.00\"."
  }
}

################################################################################
# Access
################################################################################

variable "key_administrators" {
  description = "IAM ARNs that administer the backup key (not use it)."
  type        = list(string)
  default     = []
}

variable "key_users" {
  description = "IAM ARNs, besides the RDS role, that encrypt and decrypt with the backup key."
  type        = list(string)
  default     = []
}

variable "controller_role_arns" {
  description = "IAM ARNs that only decrypt with the key: the runbook's automation role (tlog data keys, TDE certificate passwords) and the EC2 target's instance role."
  type        = list(string)
  default     = []
}

variable "tlog_retention_days" {
  description = "Days to keep transaction log copies (RDS keeps at most 7 days of tlogs to copy; chains restart from each full backup)."
  type        = number
  default     = 35

  validation {
    condition     = var.tlog_retention_days >= 1 && floor(var.tlog_retention_days) == var.tlog_retention_days
    error_message = "tlog_retention_days must be a whole number of days, at least 1."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

################################################################################
# Data migration
################################################################################

variable "migration_server_mappings" {
  description = "Source SQL Servers of the data migration by name, `host:port` each."
  type        = map(string)
  default = {
    src1 = "sql1.example.internal:1433"
    src2 = "sql2.example.internal:1433"
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

variable "migration_target_secret_arn" {
  description = "ARN of the Secrets Manager secret whose value is the target Aurora PostgreSQL DSN (checkpoints, import, validation): the Glue jobs' --TARGET_DSN_SECRET and the orchestrator's DBSHIFT_TARGET_DSN (injected by ECS). Encrypt it with a key the roles may use (migration_kms_key or one in additional keys)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$", var.migration_target_secret_arn))
    error_message = "migration_target_secret_arn must be a Secrets Manager secret ARN (its value: the target DSN)."
  }
}

variable "migration_subnet_id" {
  description = "Private subnet the Glue jobs run in; it must route to the source servers and to Aurora."
  type        = string
  default     = "subnet-0123456789abcdef0"
}

variable "migration_security_group_ids" {
  description = "Security groups of the Glue jobs' network interfaces (one must allow all TCP from itself)."
  type        = list(string)
  default     = ["sg-0123456789abcdef0"]
}

variable "migration_availability_zone" {
  description = "Availability zone of migration_subnet_id."
  type        = string
  default     = "eu-west-1a"
}

variable "orchestrator_image" {
  description = "Image of the orchestrator task (docker/orchestrator/Dockerfile pushed to ECR), tagged, not :latest."
  type        = string
  default     = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/dbshift-orchestrator:0.1.0"
}

################################################################################
# Cross-Region DR target
################################################################################

variable "dr_region" {
  description = "Region the DR runbooks restore into (the target of snapshot copies and dumps); must differ from region."
  type        = string
  default     = "eu-central-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.dr_region))
    error_message = "dr_region must be an AWS Region name, e.g. eu-central-1."
  }
}

variable "dr_engine" {
  description = "Engine of the database restored in dr_region; sets the port its security group opens."
  type        = string
  default     = "sqlserver-ee"
}

variable "dr_vpc_id" {
  description = "VPC in dr_region for the restored database."
  type        = string
  default     = "vpc-0123456789abcdef0"
}

variable "dr_subnet_ids" {
  description = "Private subnets in dr_region (two Availability Zones at least) for the DB subnet group."
  type        = list(string)
  default     = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
}

variable "dr_allowed_cidr_blocks" {
  description = "CIDR blocks in dr_region allowed to reach the restored database (never 0.0.0.0/0)."
  type        = list(string)
  default     = ["10.20.0.0/16"]
}

variable "dr_allowed_security_group_ids" {
  description = "Application security groups in dr_region allowed to reach the restored database."
  type        = list(string)
  default     = []
}

variable "dr_egress_cidr_blocks" {
  description = "CIDR blocks of the VPC endpoints (S3, KMS) the restored database may reach over HTTPS."
  type        = list(string)
  default     = []
}

variable "dr_key_users" {
  description = "IAM ARNs that use the DR target key: the DR runbook's role (snapshot copies, restores, dump uploads)."
  type        = list(string)
  default     = []
}

variable "dr_create_redshift_snapshot_copy_grant" {
  description = "Create a Redshift snapshot copy grant for the DR target key."
  type        = bool
  default     = false
}

variable "dr_route53_zone_id" {
  description = "Hosted zone of the application's database name; null creates no record."
  type        = string
  default     = null
}

variable "dr_route53_record_name" {
  description = "Database name the applications connect to (CNAME, TTL 60)."
  type        = string
  default     = null
}

variable "dr_route53_record_endpoint" {
  description = "Endpoint of the restored database in dr_region the record points to."
  type        = string
  default     = null
}
