################################################################################
# Toggles
################################################################################

variable "create" {
  description = "Whether to create any resources in this module."
  type        = bool
  default     = true
}

variable "create_connection" {
  description = "Whether to create the Glue JDBC connection to the source SQL Server (network placement and SECRET_ID)."
  type        = bool
  default     = true
}

variable "create_security_configuration" {
  description = "Whether to create a Glue security configuration (SSE-KMS for S3 writes, CSE-KMS for bookmarks, SSE-KMS for CloudWatch Logs) for the jobs."
  type        = bool
  default     = true
}

variable "create_cloudwatch_logs_kms_key" {
  description = "Whether to create a KMS key for the jobs' CloudWatch Logs (its policy lets CloudWatch Logs use it for `/aws-glue/*` log groups). When false, pass cloudwatch_logs_kms_key_arn."
  type        = bool
  default     = true
}

################################################################################
# Naming
################################################################################

variable "name" {
  description = "Name of the migration, e.g. `netperf`: prefix of the jobs, the role, the connection and the default bucket names."
  type        = string

  validation {
    condition     = can(regex("^[a-z](-?[a-z0-9])*$", var.name)) && length(var.name) <= 32
    error_message = "name must start with a lower-case letter, contain only lower-case letters, digits and single hyphens, not end with a hyphen, and be at most 32 characters."
  }
}

################################################################################
# Configuration the jobs read (migration_config outputs)
################################################################################

variable "migration_parameter_name" {
  description = "Name of the SSM migration parameter (the jobs' --MIGRATION_PARAMETER)."
  type        = string

  validation {
    condition     = startswith(var.migration_parameter_name, "/")
    error_message = "migration_parameter_name must be a hierarchical SSM name starting with '/'."
  }
}

variable "server_mappings_parameter_name" {
  description = "Name of the SSM server mappings parameter (the jobs' --SERVER_MAPPINGS_PARAMETER)."
  type        = string

  validation {
    condition     = startswith(var.server_mappings_parameter_name, "/")
    error_message = "server_mappings_parameter_name must be a hierarchical SSM name starting with '/'."
  }
}

variable "source_secret_arn" {
  description = "ARN of the Secrets Manager secret with the source login (JSON username/password): the connection's SECRET_ID and the jobs' --SOURCE_SECRET."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$", var.source_secret_arn))
    error_message = "source_secret_arn must be a Secrets Manager secret ARN."
  }
}

variable "target_secret_arn" {
  description = "ARN of the Secrets Manager secret whose value is the target PostgreSQL DSN (checkpoints and import): the jobs' --TARGET_DSN_SECRET, which every job script requires; the jobs read it with their role, so no DSN is a job argument."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$", var.target_secret_arn))
    error_message = "target_secret_arn must be a Secrets Manager secret ARN (its value: the target DSN, e.g. postgresql://user:password@host:5432/db)."
  }
}

################################################################################
# Encryption
################################################################################

variable "kms_key_arn" {
  description = "ARN of the customer managed KMS key encrypting the buckets, the job bookmarks and the uploaded scripts; the role may also decrypt the parameters and secrets with it."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-zA-Z0-9-]+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>): S3 and IAM compare the ARN."
  }
}

variable "additional_kms_key_arns" {
  description = "Further KMS key ARNs the role may decrypt with, e.g. the key of the parameters or secrets when it is not kms_key_arn."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.additional_kms_key_arns : can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-zA-Z0-9-]+$", arn))])
    error_message = "additional_kms_key_arns must be KMS key ARNs."
  }
}

variable "cloudwatch_logs_kms_key_arn" {
  description = "ARN of an existing KMS key for the jobs' CloudWatch Logs (its policy must allow logs.<region>.amazonaws.com), used when create_cloudwatch_logs_kms_key is false."
  type        = string
  default     = null
}

variable "kms_key_deletion_window_in_days" {
  description = "Deletion window of the created CloudWatch Logs key, in days (7-30)."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_key_deletion_window_in_days >= 7 && var.kms_key_deletion_window_in_days <= 30
    error_message = "kms_key_deletion_window_in_days must be between 7 and 30."
  }
}

################################################################################
# Buckets (raw, transformed, stats)
################################################################################

variable "raw_bucket" {
  description = "Name of the raw area bucket (exported Parquet and manifests). Defaults to `<name>-raw-<account id>`."
  type        = string
  default     = null
}

variable "transformed_bucket" {
  description = "Name of the transformed area bucket. Defaults to `<name>-transformed-<account id>`."
  type        = string
  default     = null
}

variable "stats_bucket" {
  description = "Name of the stats bucket (run statistics and validation reports under stats_prefix, the job scripts, Glue's temporary directory). Defaults to `<name>-stats-<account id>`."
  type        = string
  default     = null
}

variable "area_prefix" {
  description = "Key prefix of the raw and transformed areas in their buckets, without leading or trailing '/'; empty: the bucket root."
  type        = string
  default     = ""

  validation {
    condition     = var.area_prefix == "" || can(regex("^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*$", var.area_prefix))
    error_message = "area_prefix must be empty or an S3 key prefix of safe characters without leading or trailing '/', e.g. \"netperf\"."
  }
}

variable "stats_prefix" {
  description = "Key prefix of the stats area in the stats bucket, without leading or trailing '/'. Kept apart from `glue/`, where the scripts (read-only for the jobs) live."
  type        = string
  default     = "stats"

  validation {
    condition     = can(regex("^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*$", var.stats_prefix)) && !startswith("${var.stats_prefix}/", "glue/")
    error_message = "stats_prefix must be a non-empty S3 key prefix without leading or trailing '/', outside glue/ (the scripts' folder)."
  }
}

variable "force_destroy" {
  description = "Delete every object version when the buckets are destroyed. Keep false in production."
  type        = bool
  default     = false
}

variable "log_retention_days" {
  description = "Days to keep the buckets' S3 server access logs; null keeps them forever."
  type        = number
  default     = 365
}

variable "noncurrent_version_expiration_days" {
  description = "Days to keep overwritten object versions in the three buckets; null keeps them (no lifecycle rule)."
  type        = number
  default     = 30
}

################################################################################
# Scripts and Python modules
################################################################################

variable "scripts_dir" {
  description = "Local directory holding export_job.py, transform_job.py and load_job.py. Defaults to the repository's src/dbshift/datamove/glue. A changed file is uploaded again (its MD5 is the object's source_hash)."
  type        = string
  default     = null
}

variable "dbshift_wheel" {
  description = "Local path of a dbshift wheel (`pip wheel . --no-deps`) to upload and install with --additional-python-modules. Null: install `dbshift` from the index Glue's pip uses (additional_python_modules)."
  type        = string
  default     = null

  validation {
    condition     = var.dbshift_wheel == null || endswith(coalesce(var.dbshift_wheel, "x.whl"), ".whl")
    error_message = "dbshift_wheel must be the path of a .whl file."
  }
}

variable "additional_python_modules" {
  description = "Python modules Glue installs with pip (--additional-python-modules), e.g. `dbshift==0.1.0`; the uploaded dbshift_wheel, when given, comes first."
  type        = list(string)
  default     = ["dbshift"]
}

variable "python_modules_installer_option" {
  description = "Options for Glue's pip (--python-modules-installer-option), e.g. `--index-url https://pypi.internal/simple`; null leaves it out."
  type        = string
  default     = null
}

################################################################################
# Jobs
################################################################################

variable "glue_version" {
  description = "Glue version of the jobs (5.0: Spark 3.5, Python 3.11)."
  type        = string
  default     = "5.0"

  validation {
    condition     = contains(["4.0", "5.0"], var.glue_version)
    error_message = "glue_version must be \"4.0\" or \"5.0\" (the scripts need Spark 3.3+ and Python 3.10+)."
  }
}

variable "worker_type" {
  description = "Worker type of the jobs: G.1X, G.2X, G.4X, G.8X (G.4X/G.8X: Glue 3.0+ in some Regions)."
  type        = string
  default     = "G.1X"

  validation {
    condition     = contains(["G.1X", "G.2X", "G.4X", "G.8X"], var.worker_type)
    error_message = "worker_type must be one of G.1X, G.2X, G.4X, G.8X."
  }
}

variable "number_of_workers" {
  description = "Number of workers of each job (at least 2: one driver and one executor)."
  type        = number
  default     = 2

  validation {
    condition     = var.number_of_workers >= 2 && floor(var.number_of_workers) == var.number_of_workers
    error_message = "number_of_workers must be a whole number, at least 2."
  }
}

variable "job_overrides" {
  description = "Per-job settings by job (`export`, `transform`, `load`): worker_type, number_of_workers, timeout (minutes), max_concurrent_runs."
  type = map(object({
    worker_type         = optional(string)
    number_of_workers   = optional(number)
    timeout             = optional(number)
    max_concurrent_runs = optional(number)
  }))
  default = {}

  validation {
    condition     = alltrue([for job in keys(var.job_overrides) : contains(["export", "transform", "load"], job)])
    error_message = "job_overrides keys must be export, transform or load."
  }
}

variable "timeout" {
  description = "Timeout of each job run, in minutes."
  type        = number
  default     = 1440
}

variable "max_concurrent_runs" {
  description = "Concurrent runs allowed per job (the orchestrator may start one run per server)."
  type        = number
  default     = 1
}

variable "max_retries" {
  description = "Retries of a failed job run. Runs resume from their checkpoints, so a retry repeats no finished chunk."
  type        = number
  default     = 0
}

variable "default_arguments" {
  description = "Further default arguments of every job (`--KEY` = value), merged over the module's."
  type        = map(string)
  default     = {}
}

variable "additional_connections" {
  description = "Further Glue connections of every job, e.g. a NETWORK connection reaching the target Aurora cluster."
  type        = list(string)
  default     = []
}

################################################################################
# Source connection
################################################################################

variable "source_jdbc_url" {
  description = "JDBC URL of one source SQL Server, e.g. `jdbc:sqlserver://sql1.example.internal:1433;databaseName=NetPerf01`: Glue tests the network path with it; the jobs connect to every server of the server mappings with the secret's login."
  type        = string
  default     = null

  validation {
    condition     = var.source_jdbc_url == null || startswith(coalesce(var.source_jdbc_url, "jdbc:sqlserver://"), "jdbc:sqlserver://")
    error_message = "source_jdbc_url must start with jdbc:sqlserver://."
  }
}

variable "source_connection_properties" {
  description = "Further connection properties, e.g. `{ JDBC_ENFORCE_SSL = \"false\" }`. Credentials never go here: the connection takes them from source_secret_arn."
  type        = map(string)
  default     = {}

  validation {
    condition     = length(setintersection(keys(var.source_connection_properties), ["USERNAME", "PASSWORD", "SECRET_ID"])) == 0
    error_message = "source_connection_properties must not hold USERNAME, PASSWORD or SECRET_ID: the login comes from source_secret_arn."
  }
}

variable "subnet_id" {
  description = "Subnet the jobs run in (the connection's physical requirements): it must route to the source servers and the target."
  type        = string
  default     = null
}

variable "security_group_ids" {
  description = "Security groups of the jobs' network interfaces (Glue needs one that allows all TCP from itself)."
  type        = list(string)
  default     = []
}

variable "availability_zone" {
  description = "Availability zone of subnet_id."
  type        = string
  default     = null
}

################################################################################
# IAM role
################################################################################

variable "role_name" {
  description = "Name of the jobs' IAM role. Defaults to `<name>-glue-migration`."
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

################################################################################
# Tags
################################################################################

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
