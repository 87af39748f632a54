# Inputs. Every variable is typed and described; values that can be wrong are validated here, before
# anything reaches AWS. Defaults match energy_lib/workbook/infra/spec.py and energy_lib/config.py
# (tests/unit/test_terraform_parity.py keeps them equal).

variable "aws_region" {
  description = "AWS region of every resource; also passed to the function as ENERGY_REGION."
  type        = string
  default     = "eu-west-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]$", var.aws_region))
    error_message = "aws_region must be a region code such as eu-west-1."
  }
}

variable "environment" {
  description = "Deployment environment; part of every resource name, so two environments can share an account."
  type        = string

  validation {
    condition     = contains(["dev", "staging", "production"], var.environment)
    error_message = "environment must be one of dev, staging, production."
  }
}

variable "name_prefix" {
  description = "Prefix of every resource name (lowercase letters, digits and hyphens, 3 to 20 characters)."
  type        = string
  default     = "energy-workbook"

  validation {
    # S3 bucket names are at most 63 characters: prefix + environment + "-access-logs-" + account id fits.
    condition     = can(regex("^[a-z][a-z0-9-]{1,18}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-20 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "alert_email" {
  description = "Email address subscribed to the anomaly topic (AWS sends a confirmation message first)."
  type        = string

  validation {
    condition     = can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alert_email))
    error_message = "alert_email must be an email address."
  }
}

variable "ops_email" {
  description = "Email address subscribed to the operations topic that receives CloudWatch alarms; empty means alert_email."
  type        = string
  default     = ""

  validation {
    condition     = var.ops_email == "" || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.ops_email))
    error_message = "ops_email must be empty or an email address."
  }
}

variable "alert_severity_threshold" {
  description = "Lowest anomaly severity sent to alert_email (LOW, MEDIUM, HIGH or CRITICAL); the alerts queue gets every severity."
  type        = string
  default     = "HIGH"

  validation {
    condition     = contains(["LOW", "MEDIUM", "HIGH", "CRITICAL"], var.alert_severity_threshold)
    error_message = "alert_severity_threshold must be one of LOW, MEDIUM, HIGH, CRITICAL."
  }
}

variable "max_receive_count" {
  description = "Deliveries of an ingest message before it moves to the dead-letter queue."
  type        = number
  default     = 5

  validation {
    condition     = var.max_receive_count >= 1 && var.max_receive_count <= 1000 && floor(var.max_receive_count) == var.max_receive_count
    error_message = "max_receive_count must be a whole number from 1 to 1000."
  }
}

variable "log_retention_days" {
  description = "Days CloudWatch Logs keeps the function's log events."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653)."
  }
}

variable "readings_ttl_days" {
  description = "The hot window: days DynamoDB keeps a reading after it was stored (or after its own time, when later); older ranges are read from the lake, which keeps every reading. With a hot window the ledger keeps its items 19 days (a message's life in the ingest queue and its dead-letter queue). 0 keeps both forever."
  type        = number
  default     = 35

  validation {
    condition     = var.readings_ttl_days >= 0 && var.readings_ttl_days <= 3650 && floor(var.readings_ttl_days) == var.readings_ttl_days
    error_message = "readings_ttl_days must be a whole number from 0 (keep forever) to 3650."
  }
}

variable "access_log_retention_days" {
  description = "Days the access-log bucket keeps the data bucket's server access logs."
  type        = number
  default     = 365

  validation {
    condition     = var.access_log_retention_days >= 1 && floor(var.access_log_retention_days) == var.access_log_retention_days
    error_message = "access_log_retention_days must be a whole number of days, at least 1."
  }
}

variable "implausible_kwh" {
  description = "Readings with |energy| above this are anomalies (implausible_magnitude) [kWh]; ENERGY_IMPLAUSIBLE_KWH."
  type        = number
  default     = 1000

  validation {
    condition     = var.implausible_kwh > 0 && var.implausible_kwh >= var.severity_high_kwh
    error_message = "implausible_kwh must be positive and at least severity_high_kwh."
  }
}

variable "severity_medium_kwh" {
  description = "Anomalies of at least this magnitude are MEDIUM severity [kWh]; ENERGY_SEVERITY_MEDIUM_KWH."
  type        = number
  default     = 10

  validation {
    condition     = var.severity_medium_kwh > 0 && var.severity_medium_kwh <= var.severity_high_kwh
    error_message = "severity_medium_kwh must be positive and at most severity_high_kwh."
  }
}

variable "severity_high_kwh" {
  description = "Anomalies of at least this magnitude are HIGH severity [kWh]; ENERGY_SEVERITY_HIGH_KWH."
  type        = number
  default     = 50

  validation {
    condition     = var.severity_high_kwh > 0
    error_message = "severity_high_kwh must be positive."
  }
}

variable "max_decompressed_bytes" {
  description = "A source object larger than this once decompressed is quarantined whole (too_large) [bytes]; ENERGY_MAX_DECOMPRESSED_BYTES. The function's ephemeral storage holds the duplicates database of a file up to 512 MiB."
  type        = number
  default     = 536870912

  validation {
    condition     = var.max_decompressed_bytes >= var.max_record_bytes && var.max_decompressed_bytes <= 536870912 && floor(var.max_decompressed_bytes) == var.max_decompressed_bytes
    error_message = "max_decompressed_bytes must be a whole number of bytes, at least max_record_bytes and at most 536870912 (512 MiB)."
  }
}

variable "max_record_bytes" {
  description = "A line, CSV row or JSON element longer than this quarantines its file (record_too_large) [bytes]; ENERGY_MAX_RECORD_BYTES."
  type        = number
  default     = 1048576

  validation {
    condition     = var.max_record_bytes >= 1024 && var.max_record_bytes <= 16777216 && floor(var.max_record_bytes) == var.max_record_bytes
    error_message = "max_record_bytes must be a whole number from 1024 to 16777216 (16 MiB)."
  }
}

variable "max_depth" {
  description = "JSON nested deeper than this: a JSON Lines line is quarantined, any other file rejected (too_deep); ENERGY_MAX_DEPTH."
  type        = number
  default     = 16

  validation {
    condition     = var.max_depth >= 1 && var.max_depth <= 256 && floor(var.max_depth) == var.max_depth
    error_message = "max_depth must be a whole number from 1 to 256."
  }
}

variable "lambda_zip_path" {
  description = "The function's deployment package from `energy-workbook lambda build`; relative to this folder, or absolute."
  type        = string
  default     = "../build/lambda.zip"

  validation {
    condition     = endswith(var.lambda_zip_path, ".zip")
    error_message = "lambda_zip_path must name a .zip file."
  }
}

variable "compaction_zip_path" {
  description = "The compaction function's package from `energy-workbook lambda build`; relative to this folder, or absolute."
  type        = string
  default     = "../build/compaction.zip"

  validation {
    condition     = endswith(var.compaction_zip_path, ".zip")
    error_message = "compaction_zip_path must name a .zip file."
  }
}

variable "pandas_layer_version" {
  description = "Version of AWS's managed layer AWSSDKPandas-Python311 (x86_64) in aws_region, which brings pyarrow to the compaction function: see the AWS SDK for pandas documentation, \"AWS Lambda Managed Layers\" (versions differ by region)."
  type        = number

  validation {
    condition     = var.pandas_layer_version >= 1 && floor(var.pandas_layer_version) == var.pandas_layer_version
    error_message = "pandas_layer_version must be a whole number of at least 1."
  }
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete data: empties the versioned buckets and turns off the tables' deletion protection. Keep false for production."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Extra tags for every resource (project, environment and managed_by are always set)."
  type        = map(string)
  default     = {}
}
