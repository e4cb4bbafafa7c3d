#!/usr/bin/env bash
# Installs Prometheus and the node, process and postgres exporters (Debian packages) for the tests of
# TARGET_METRICS and TARGET_PROMETHEUS, which start each of them on a loopback port of their own.
# `make run` does not need them: a user's exporters run on the target's hosts.
#
#   scripts/install-exporters.sh
#
# Debian's packages would start their services on the default ports (9090, 9100, 9256, 9187); a
# policy-rc.d for the length of the install keeps them stopped.
set -euo pipefail
packages=(prometheus prometheus-node-exporter prometheus-process-exporter prometheus-postgres-exporter)
missing=()
for package in "${packages[@]}"; do
  command -v "$package" >/dev/null || missing+=("$package")
done
((${#missing[@]})) || exit 0

if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null; then
  echo "error: the tests of the target's exporters need Debian's packages ${missing[*]}: install them as root (apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "==> installing ${missing[*]} (Debian packages; their services stay stopped)"
policy=/usr/sbin/policy-rc.d
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\n# scripts/install-exporters.sh: no service starts during the install\nexit 101\n' > "$policy"
  chmod 755 "$policy"
  trap 'rm -f "$policy"' EXIT
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Nor at the next boot: the tests start their own.
if command -v systemctl >/dev/null; then
  systemctl disable --quiet "${missing[@]}" 2>/dev/null || true
fi
