# Pinned Terraform and provider versions, the provider and the state backend.
#
# State lives in S3 (partial configuration): pass the bucket and key at init, e.g.
#   terraform init -backend-config=backend.hcl
# with backend.hcl as in backend.hcl.example. S3-native locking (use_lockfile) needs Terraform >= 1.10.

terraform {
  required_version = ">= 1.10.0, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
  }

  backend "s3" {}
}

provider "aws" {
  region = var.aws_region

  default_tags {
    tags = merge(var.tags, {
      project     = var.name_prefix
      environment = var.environment
      managed_by  = "terraform"
    })
  }
}
