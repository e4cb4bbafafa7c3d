#!/usr/bin/env bash
# Installs a local Indy ledger (indy-node 1.13.2 on Python 3.8) for AnonCreds tests and demos.
#
#   scripts/install-indy-pool.sh DEST
#
# indy-node is not maintained for current Pythons or libraries, so this install needs shims, which
# the project owns and documents here:
# - ursa.bls: python-ursa wants libursa.so, which no registry ships. indy-bls has the same BLS API,
#   so `ursa.bls` re-exports it.
# - rocksdb: python-rocksdb 0.7.0 does not build against current Cython or RocksDB;
#   faust-streaming-rocksdb provides the same `import rocksdb`.
# - pyzmq is added; indy-plenum needs it but does not declare a usable pin.
# - /etc/indy: the node scripts hard-code it. akrida runs them through a wrapper that redirects
#   their configuration into DEST (see akrida/local/ledger.py).
set -euo pipefail
dest=${1:?usage: install-indy-pool.sh DEST}
stamp="$dest/.installed"
version="indy-node==1.13.2 indy-plenum==1.13.1 shims-1"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$version" ]]; then
  exit 0
fi

python38=
for candidate in python3.8 "$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")/versions/"3.8*/bin/python3.8; do
  if "$candidate" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 8) else 1)' 2>/dev/null; then
    python38=$candidate
    break
  fi
done
[[ -n "$python38" ]] || { echo "error: the local Indy ledger needs Python 3.8 (indy-node 1.13 does not run on newer Pythons); install one, e.g. with pyenv" >&2; exit 1; }

echo "==> local Indy ledger: indy-node 1.13.2 on $python38 -> $dest"
rm -rf "$dest"
mkdir -p "$dest/download"
"$python38" -m venv "$dest/venv"
pip=("$dest/venv/bin/python" -m pip install --quiet --disable-pip-version-check)
"$dest/venv/bin/python" -m pip download --quiet --disable-pip-version-check --no-deps -d "$dest/download" \
  faust-streaming-rocksdb==0.9.3 indy-bls==0.1.0 python-ursa==0.1.1 indy-plenum==1.13.1 indy-node==1.13.2
"${pip[@]}" "$dest"/download/faust_streaming_rocksdb-0.9.3-*.whl "$dest"/download/indy_bls-0.1.0-*.whl
"${pip[@]}" --no-deps "$dest"/download/python_ursa-0.1.1-*.whl "$dest"/download/indy_plenum-1.13.1-*.whl \
  "$dest"/download/indy_node-1.13.2-*.whl
"${pip[@]}" base58 importlib-metadata==3.10.1 ioflo jsonpickle leveldb libnacl==1.6.1 msgpack-python orderedset \
  packaging portalocker==2.7.0 'prompt-toolkit>=3.0.18' psutil pympler==0.8 python-dateutil rlp==0.6.0 \
  semver==2.13.0 sha3 six sortedcontainers==1.5.7 ujson==1.33 timeout-decorator distro==1.7.0 pyzmq==22.3.0
site=$("$dest/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
cat > "$site/ursa/bls.py" <<'PY'
# akrida shim: python-ursa needs libursa.so, which no registry ships; indy-bls has the same BLS API.
from indy_bls.bls import Bls, BlsEntity, Generator, MultiSignature, ProofOfPossession, Signature, SignKey, VerKey  # noqa: F401
PY
rm -rf "$dest/download"
echo "$version" > "$stamp"
