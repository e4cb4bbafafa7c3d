#!/usr/bin/env bash
# `terraform validate` for each root module given, offline: nothing reaches the Terraform registry.
#
#   scripts/terraform-validate.sh MIRROR TERRAFORM MODULE...
#   e.g. scripts/terraform-validate.sh .akrida/terraform-mirror .venv/bin/akrida-terraform infra/lab infra/aws
#
# MIRROR is the one scripts/install-terraform-mirror.sh fills: its AWS provider (3.39.0, the only one
# to be had offline) is named as a development override, which Terraform uses without checking the
# module's version constraint (>= 5.0) and without installing it. So the modules are validated in
# place against that provider's schema, unchanged; init's working files go to a temporary
# TF_DATA_DIR (init -backend=false), and nothing is written into the source tree.
set -euo pipefail

usage="usage: terraform-validate.sh MIRROR TERRAFORM MODULE..."
mirror=${1:?$usage}
terraform=${2:?$usage}
shift 2
(($#)) || { echo "$usage" >&2; exit 2; }
provider_dir="$(cd "$mirror" && pwd)/registry.terraform.io/hashicorp/aws/3.39.0/linux_amd64"
[[ -x "$provider_dir/terraform-provider-aws_v3.39.0_x5" ]] \
  || { echo "error: no AWS provider in $mirror (scripts/install-terraform-mirror.sh installs it)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/terraform.rc" <<EOF
provider_installation {
  dev_overrides {
    "hashicorp/aws" = "$provider_dir"
  }
  direct {}
}
disable_checkpoint = true
EOF
export TF_CLI_CONFIG_FILE="$work/terraform.rc" CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1 TF_INPUT=0

# Terraform warns on every command that development overrides are in effect: expected here.
override_warning='Warning: Provider development overrides are in effect'
status=0
for module in "$@"; do
  export TF_DATA_DIR="$work/data/${module//\//_}"
  if ! out=$("$terraform" -chdir="$module" init -backend=false -input=false -no-color 2>&1); then
    printf '%s\n' "$out" >&2
    echo "terraform-validate: init failed in $module" >&2
    status=1
    continue
  fi
  if out=$("$terraform" -chdir="$module" validate -no-color 2>&1); then
    # Any other warning is worth reading, though it does not fail the check.
    if grep '^Warning: ' <<<"$out" | grep -qvF "$override_warning"; then
      printf '%s\n' "$out"
    fi
    echo "$module: the configuration is valid"
  else
    printf '%s\n' "$out" >&2
    echo "terraform-validate: $module is not valid" >&2
    status=1
  fi
done
exit "$status"
