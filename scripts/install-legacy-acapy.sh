#!/usr/bin/env bash
# Installs aries-cloudagent 1.0.1, the last ACA-Py with the 1.0 protocols (issue-credential 1.0 and
# present-proof 1.0), for the tests of ISSUER_TYPE=acapy. `make run` does not need it.
#
#   scripts/install-legacy-acapy.sh DEST
#
# aries-cloudagent 1.0.x needs Python 3.12 exactly (>= 3.12, and its dependencies stop before 3.13).
set -euo pipefail
dest=${1:?usage: install-legacy-acapy.sh DEST}
version=1.0.1
stamp="$dest/.installed"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$version" ]]; then
  exit 0
fi

root=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
candidates=(python3.12)
while read -r dir; do
  candidates+=("$dir/bin/python3")
done < <(find "$root/versions" -mindepth 1 -maxdepth 1 -name '3.12.*' 2>/dev/null | sort -V -r)
candidates+=(/usr/bin/python3 python3)
python=""
for candidate in "${candidates[@]}"; do
  if "$candidate" -c 'import sys, venv; sys.exit(0 if sys.version_info[:2] == (3, 12) else 1)' >/dev/null 2>&1; then
    python=$("$candidate" -c 'import sys; print(sys.executable)')
    break
  fi
done
[[ -n "$python" ]] || {
  echo "error: aries-cloudagent $version needs Python 3.12, and none was found (PATH, pyenv, /usr/bin); install one, e.g. 'pyenv install 3.12'" >&2
  exit 1
}

echo "==> ACA-Py $version with the 1.0 protocols (aries-cloudagent, for ISSUER_TYPE=acapy tests) -> $dest"
rm -rf "$dest"
"$python" -m venv "$dest"
"$dest/bin/python" -m pip install --quiet --disable-pip-version-check "aries-cloudagent[askar]==$version" \
  2> >(grep -v 'is ignored: it is neither' >&2)
"$dest/bin/aca-py" --version >/dev/null
echo "$version" > "$stamp"
