#!/usr/bin/env bash
# Lab hosts: "VMs" on this machine, one network namespace with its own sshd each, on one bridge.
# infra/lab calls this from Terraform; `akrida cluster teardown` calls `down` again as a safety net.
#
#   lab-hosts.sh up    (environment below)
#   lab-hosts.sh down  (needs only AKRIDA_LAB_DIR and AKRIDA_LAB_PREFIX)
#
# Environment:
#   AKRIDA_LAB_DIR        state folder: one sub-folder per host (sshd config, keys, its root folder)
#   AKRIDA_LAB_PREFIX     prefix of namespaces, veths and the bridge (short: interface names have 15 chars)
#   AKRIDA_LAB_GATEWAY    the bridge's address with its prefix length, e.g. 10.200.0.1/24
#   AKRIDA_LAB_HOSTS      "name=address name=address …", e.g. "master=10.200.0.10 worker-1=10.200.0.11"
#   AKRIDA_LAB_CLIENT_KEY the public SSH key allowed to log in as root
#   AKRIDA_LAB_HOST_KEYS  JSON list of {"private_key", "public_key"}: one ed25519 host key per host, in order
#
# The namespaces have no route beyond the bridge, so nothing in them reaches any other network.
# Needs root, iproute2 and openssh-server.
set -euo pipefail

action=${1:-}
dir=${AKRIDA_LAB_DIR:?AKRIDA_LAB_DIR is not set}
prefix=${AKRIDA_LAB_PREFIX:?AKRIDA_LAB_PREFIX is not set}
bridge="$prefix-br"

fail() { echo "lab-hosts: error: $*" >&2; exit 1; }
say() { echo "lab-hosts: $*"; }

require_tools() {
  [[ $(id -u) == 0 ]] || fail "lab hosts need root (network namespaces and veths); run as root"
  command -v ip >/dev/null || fail "ip is missing: install Debian's iproute2"
  [[ -x /usr/sbin/sshd ]] || fail "/usr/sbin/sshd is missing: install Debian's openssh-server"
}

namespaces() { ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^$prefix-" || true; }

down() {
  # ssh ControlPersist masters keep sessions (and the veth of a deleted namespace) alive: end them first.
  if [[ -d "$dir/ssh-control" ]]; then
    for socket in "$dir"/ssh-control/*; do
      [[ -S "$socket" ]] && ssh -o ControlPath="$socket" -O exit lab-host >/dev/null 2>&1 || true
      rm -f "$socket"
    done
  fi
  local ns pids
  for ns in $(namespaces); do
    mapfile -t pids < <(ip netns pids "$ns" 2>/dev/null || true)
    ((${#pids[@]})) && kill "${pids[@]}" 2>/dev/null || true
    for _ in $(seq 50); do
      [[ -z "$(ip netns pids "$ns" 2>/dev/null)" ]] && break
      sleep 0.1
    done
    mapfile -t pids < <(ip netns pids "$ns" 2>/dev/null || true)
    ((${#pids[@]})) && kill -9 "${pids[@]}" 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
    say "removed $ns"
  done
  local link
  for link in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -E "^$prefix-" || true); do
    ip link del "$link" 2>/dev/null || true
  done
}

up() {
  require_tools
  : "${AKRIDA_LAB_GATEWAY:?}" "${AKRIDA_LAB_HOSTS:?}" "${AKRIDA_LAB_CLIENT_KEY:?}" "${AKRIDA_LAB_HOST_KEYS:?}"
  down  # a half-made lab from an earlier attempt must not get in the way
  mkdir -p "$dir" /run/sshd
  ip link add "$bridge" type bridge
  ip addr replace "$AKRIDA_LAB_GATEWAY" dev "$bridge"
  ip link set "$bridge" up
  local index=0 entry name address host_dir veth ns
  for entry in $AKRIDA_LAB_HOSTS; do
    name=${entry%%=*}
    address=${entry#*=}
    ns="$prefix-$name"
    veth="$prefix-v$index"
    host_dir="$dir/hosts/$name"
    mkdir -p "$host_dir"
    ip netns add "$ns"
    ip link add "$veth" type veth peer name eth0 netns "$ns"
    ip link set "$veth" master "$bridge" up
    ip -n "$ns" link set lo up
    ip -n "$ns" addr add "$address/${AKRIDA_LAB_GATEWAY#*/}" dev eth0
    ip -n "$ns" link set eth0 up
    AKRIDA_INDEX=$index python3 -c '
import json, os, sys
keys = json.loads(os.environ["AKRIDA_LAB_HOST_KEYS"])
index = int(os.environ["AKRIDA_INDEX"])
if index >= len(keys):
    sys.exit(f"lab-hosts: error: AKRIDA_LAB_HOST_KEYS has {len(keys)} keys, host {index + 1} has none")
print(keys[index]["private_key"].strip())' > "$host_dir/ssh_host_ed25519_key.new"
    install -m 600 "$host_dir/ssh_host_ed25519_key.new" "$host_dir/ssh_host_ed25519_key"
    rm -f "$host_dir/ssh_host_ed25519_key.new"
    printf '%s\n' "$AKRIDA_LAB_CLIENT_KEY" > "$host_dir/authorized_keys"
    chmod 600 "$host_dir/authorized_keys"
    cat > "$host_dir/sshd_config" <<CONFIG
ListenAddress $address
Port 22
HostKey $host_dir/ssh_host_ed25519_key
PidFile $host_dir/sshd.pid
AuthorizedKeysFile $host_dir/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
MaxStartups 100:30:200
MaxSessions 50
Subsystem sftp /usr/lib/openssh/sftp-server
CONFIG
    ip netns exec "$ns" /usr/sbin/sshd -f "$host_dir/sshd_config" -E "$host_dir/sshd.log" \
      || fail "sshd did not start in $ns; see $host_dir/sshd.log"
    say "$name: $address (namespace $ns)"
    index=$((index + 1))
  done
}

case "$action" in
  up) up ;;
  down) down ;;
  *) fail "usage: lab-hosts.sh up|down (see the comment at the top)" ;;
esac
