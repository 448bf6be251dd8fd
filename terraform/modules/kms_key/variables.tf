################################################################################
# Toggles
################################################################################

variable "create" {
  description = "Whether to create any resources in this module."
  type        = bool
  default     = true
}

variable "create_alias" {
  description = "Whether to create the alias `alias/<alias_name>` for the key."
  type        = bool
  default     = true
}

################################################################################
# Key
################################################################################

variable "description" {
  description = "Description of the key, shown in the KMS console."
  type        = string
  default     = "dbshift: encrypts SQL Server backups, transaction log copies and TDE certificate passwords"

  validation {
    condition     = length(var.description) <= 8192
    error_message = "description must be at most 8192 characters."
  }
}

variable "deletion_window_in_days" {
  description = "Waiting period, in days, between ScheduleKeyDeletion and the key's deletion (7-30)."
  type        = number
  default     = 30

  validation {
    condition     = var.deletion_window_in_days >= 7 && var.deletion_window_in_days <= 30 && floor(var.deletion_window_in_days) == var.deletion_window_in_days
    error_message = "deletion_window_in_days must be a whole number between 7 and 30."
  }
}

variable "rotation_period_in_days" {
  description = "Days between automatic rotations of the key material (90-2560). Rotation is always on."
  type        = number
  default     = 365

  validation {
    condition     = var.rotation_period_in_days >= 90 && var.rotation_period_in_days <= 2560 && floor(var.rotation_period_in_days) == var.rotation_period_in_days
    error_message = "rotation_period_in_days must be a whole number between 90 and 2560."
  }
}

variable "multi_region" {
  description = "Create a multi-Region primary key, so replicas in other Regions can decrypt cross-Region copies."
  type        = bool
  default     = false
}

variable "alias_name" {
  description = "Alias name without the `alias/` prefix, e.g. `dbshift-backups`."
  type        = string
  default     = null

  validation {
    condition     = var.alias_name == null || can(regex("^[a-zA-Z0-9/_-]{1,250}$", var.alias_name))
    error_message = "alias_name must be 1-250 characters of letters, digits, '/', '_' or '-', without the 'alias/' prefix."
  }

  validation {
    condition     = var.alias_name == null || !startswith(coalesce(var.alias_name, "-"), "aws/")
    error_message = "alias_name must not start with 'aws/': that prefix is reserved for AWS managed keys."
  }
}

################################################################################
# Key policy
################################################################################

variable "enable_default_policy" {
  description = "Grant the account root `kms:*` so IAM policies in this account can delegate access (the KMS default key policy)."
  type        = bool
  default     = true
}

variable "key_administrators" {
  description = "IAM ARNs that may manage the key (describe, update, tag, schedule deletion) but not use it for cryptography."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.key_administrators : can(regex("^arn:aws[a-z-]*:(iam|sts)::[0-9]{12}:", arn))])
    error_message = "key_administrators must be IAM or STS ARNs, e.g. arn:aws:iam::123456789012:role/admin."
  }
}

variable "key_users" {
  description = "IAM ARNs that may use the key: Encrypt, Decrypt, ReEncrypt*, GenerateDataKey*, DescribeKey."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.key_users : can(regex("^arn:aws[a-z-]*:(iam|sts)::[0-9]{12}:", arn))])
    error_message = "key_users must be IAM or STS ARNs, e.g. arn:aws:iam::123456789012:role/rds-backup."
  }
}

variable "key_decrypt_users" {
  description = "IAM ARNs that may only Decrypt and DescribeKey, e.g. a runbook controller reading tlogs and TDE certificate passwords."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.key_decrypt_users : can(regex("^arn:aws[a-z-]*:(iam|sts)::[0-9]{12}:", arn))])
    error_message = "key_decrypt_users must be IAM or STS ARNs, e.g. arn:aws:iam::123456789012:role/dbshift-controller."
  }
}

variable "key_statements" {
  description = "Further key policy statements, as in terraform-aws-modules/kms (e.g. a service principal such as `logs.<region>.amazonaws.com` limited by a condition). `resources` defaults to `[\"*\"]` (the key itself), `effect` to `Allow`; conditions with the same `test` are merged into one operator block."
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

  validation {
    condition = alltrue([for s in var.key_statements : (
      can(regex("^[A-Za-z0-9]+$", s.sid)) && contains(["Allow", "Deny"], s.effect)
      && length(s.actions) > 0 && length(s.resources) > 0 && length(s.principals) > 0
      && alltrue([for p in s.principals : contains(["AWS", "Service", "Federated"], p.type) && length(p.identifiers) > 0])
      && length(distinct([for p in s.principals : p.type])) == length(s.principals)
      && alltrue([for c in s.conditions : length(c.values) > 0])
    )])
    error_message = "Each key_statements entry needs an alphanumeric sid, effect Allow or Deny, at least one action, resource and principal (type AWS, Service or Federated, each type once, with identifiers), and values for every condition."
  }

  validation {
    condition = length(distinct([for s in var.key_statements : s.sid])) == length(var.key_statements) && length(setintersection(
      [for s in var.key_statements : s.sid], ["Default", "KeyAdministration", "KeyUsage", "KeyDecryptOnly"],
    )) == 0
    error_message = "key_statements sids must be unique and not Default, KeyAdministration, KeyUsage or KeyDecryptOnly (the module's own statements)."
  }

  validation {
    # One variable under one operator twice would silently keep only the last values.
    condition     = alltrue([for s in var.key_statements : length(distinct([for c in s.conditions : "${c.test}/${c.variable}"])) == length(s.conditions)])
    error_message = "A key_statements entry names the same condition test and variable twice: put all values in one condition."
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
