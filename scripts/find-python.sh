#!/usr/bin/env bash
# Prints the path of a Python interpreter of at least the given version, or explains what is missing.
#   scripts/find-python.sh 3.13
# ACA-Py 1.5+ needs Python >= 3.13 and 1.1-1.4 need >= 3.12, while the machine's python3 may be
# older; look on PATH, then in pyenv's versions, then in the usual system places.
set -euo pipefail
want=${1:?usage: find-python.sh MAJOR.MINOR}
major=${want%%.*}
minor=${want#*.}

candidates=()
for v in 3.14 3.13 3.12; do
  candidates+=("python$v")
done
root=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
while read -r dir; do
  [[ -x "$dir/bin/python3" ]] && candidates+=("$dir/bin/python3")
done < <(find "$root/versions" -mindepth 1 -maxdepth 1 -name '3.*' 2>/dev/null | sort -V -r)
candidates+=(/usr/local/bin/python3 /usr/bin/python3 python3)

for candidate in "${candidates[@]}"; do
  # pyenv shims exist for every installed version but fail unless that version is selected,
  # so each candidate must actually run and report its version.
  if "$candidate" -c "import sys, venv; sys.exit(0 if sys.version_info >= ($major, $minor) else 1)" >/dev/null 2>&1; then
    "$candidate" -c 'import sys; print(sys.executable)'
    exit 0
  fi
done
echo "error: no Python >= $want found (looked for python$want+ on PATH, in pyenv and in /usr). ACA-Py (the embedded target) needs it: install one, e.g. with pyenv or your distribution's python$want package." >&2
exit 1
