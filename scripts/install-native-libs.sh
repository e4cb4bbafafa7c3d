#!/usr/bin/env bash
# Installs the native Askar, AnonCreds and indy-vdr libraries that the Credo node wrappers load.
# The wrappers' own install scripts download them from GitHub, which is not reachable everywhere;
# the same shared libraries ship inside PyPI wheels, so pip installs them into a plain folder.
#
#   scripts/install-native-libs.sh DEST [PYTHON]
#
# Afterwards point LIB_ARIES_ASKAR_PATH, LIB_ANONCREDS_PATH and LIB_INDY_VDR_PATH at
# DEST/aries_askar, DEST/anoncreds and DEST/indy_vdr (akrida does this itself).
set -euo pipefail

dest=${1:?usage: install-native-libs.sh DEST [PYTHON]}
python=${2:-python3}
# Pins that work with @hyperledger/*-nodejs 0.2.x/0.3.x; see agent/package.json.
wheels=(aries-askar==0.3.2 anoncreds==0.2.0 indy-vdr==0.4.1)
stamp="$dest/.installed"

if [[ -f "$stamp" && "$(cat "$stamp")" == "${wheels[*]}" ]]; then
  exit 0
fi
echo "==> native libraries: ${wheels[*]} -> $dest"
rm -rf "$dest"
"$python" -m pip install --quiet --disable-pip-version-check --no-deps --target "$dest" "${wheels[@]}"
for lib in aries_askar/libaries_askar.so anoncreds/libanoncreds.so indy_vdr/libindy_vdr.so; do
  [[ -f "$dest/$lib" ]] || { echo "error: $dest/$lib is missing after install" >&2; exit 1; }
done
echo "${wheels[*]}" > "$stamp"
