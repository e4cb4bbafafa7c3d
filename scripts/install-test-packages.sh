#!/usr/bin/env bash
# Installs the Debian packages that `make test` needs beyond `make setup`'s, when run as root:
#   chromium                      the web UI test takes a screenshot with it
#   openssh-server, openssh-client, iproute2   lab hosts: network namespaces with one sshd each
#   util-linux                    unshare, for the offline AWS checks
#   nftables                      CHURN_DISCONNECT=silent's tests drop one holder's packets with nft
#   prometheus and its node, process and postgres exporters   the tests of TARGET_METRICS and
#                                 TARGET_PROMETHEUS, which start each on a loopback port of their own
# Not as root, it stops with the exact command to run. `make run` needs none of these.
#
#   scripts/install-test-packages.sh
#
# Debian's packages would start their services (sshd on port 22, the exporters on 9090, 9100, 9256,
# 9187); a policy-rc.d for the length of the install keeps them stopped, and they stay disabled.
set -euo pipefail

# Each package with the file that tells it is installed.
declare -A provides=(
  [chromium]=/usr/bin/chromium
  [openssh-server]=/usr/sbin/sshd
  [openssh-client]=/usr/bin/ssh
  [iproute2]=/usr/sbin/ip
  [util-linux]=/usr/bin/unshare
  [nftables]=/usr/sbin/nft
  [prometheus]=/usr/bin/prometheus
  [prometheus-node-exporter]=/usr/bin/prometheus-node-exporter
  [prometheus-process-exporter]=/usr/bin/prometheus-process-exporter
  [prometheus-postgres-exporter]=/usr/bin/prometheus-postgres-exporter
)
missing=()
for package in "${!provides[@]}"; do
  [[ -x ${provides[$package]} ]] || missing+=("$package")
done
((${#missing[@]})) || exit 0
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort)

if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null; then
  echo "error: make test needs Debian's packages ${missing[*]}: as root, run: apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "==> installing ${missing[*]} (Debian packages, for the tests; their services stay stopped)"
policy=/usr/sbin/policy-rc.d
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\n# scripts/install-test-packages.sh: no service starts during the install\nexit 101\n' > "$policy"
  chmod 755 "$policy"
  trap 'rm -f "$policy"' EXIT
fi
apt-get update -qq
# Chromium with what Debian recommends beside it (fonts), as the screenshot test was proven with;
# the rest without (Prometheus recommends a web console and more exporters than the tests start).
with=() without=()
for package in "${missing[@]}"; do
  if [[ $package == chromium ]]; then with+=("$package"); else without+=("$package"); fi
done
((${#with[@]} == 0)) || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${with[@]}" >/dev/null
((${#without[@]} == 0)) || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${without[@]}" >/dev/null
# Nor at the next boot: the tests start their own.
if command -v systemctl >/dev/null; then
  for service in ssh prometheus prometheus-node-exporter prometheus-process-exporter prometheus-postgres-exporter; do
    systemctl disable --quiet "$service" 2>/dev/null || true
  done
fi
