#!/usr/bin/env bash
# terraform init with the S3 state of one environment: terraform-init.sh ENVIRONMENT
# Needs TF_STATE_BUCKET and AWS_REGION; run from the repository root.
set -euo pipefail
environment=${1:?usage: terraform-init.sh ENVIRONMENT}
terraform -chdir=terraform init \
  -backend-config="bucket=${TF_STATE_BUCKET:?set TF_STATE_BUCKET}" \
  -backend-config="key=energy-workbook/${environment}.tfstate" \
  -backend-config="region=${AWS_REGION:?set AWS_REGION}" \
  -backend-config="encrypt=true" \
  -backend-config="use_lockfile=true"
