"""Runs an indy-node console script with its configuration under AKRIDA_INDY_HOME instead of /etc/indy.

Executed by the Python 3.8 interpreter of the local Indy ledger (scripts/install-indy-pool.sh), not
imported by akrida: keep it standalone and Python 3.8 compatible.

    python indy_wrapper.py SCRIPT [ARGUMENTS...]

indy-node's scripts read /etc/indy/indy_config.py and some write below /etc/indy. Redirecting those
paths lets the ledger live in the project's own folder, without root and without touching /etc.
"""

import builtins
import fileinput
import os
import runpy
import sys

HOME = os.environ["AKRIDA_INDY_HOME"].rstrip("/")
ETC = HOME + "/etc/"


def _redirect(path):
    if isinstance(path, str) and path.startswith("/etc/indy/"):
        return ETC + path[len("/etc/indy/") :]
    return path


_open = builtins.open
# A patch of the interpreter at run time (indy-node reads /etc/indy/): not a typed API.
builtins.open = lambda file, *args, **kwargs: _open(_redirect(file), *args, **kwargs)  # type: ignore[assignment]
_input = fileinput.input


def _redirected_input(files=None, *args, **kwargs):
    files = [_redirect(f) for f in files] if isinstance(files, list) else _redirect(files)
    return _input(files, *args, **kwargs)


fileinput.input = _redirected_input

import indy_common.config as indy_config  # noqa: E402
import plenum.config as plenum_config  # noqa: E402

indy_config.GENERAL_CONFIG_DIR = ETC
plenum_config.GENERAL_CONFIG_DIR = ETC

script = os.path.join(os.path.dirname(sys.executable), sys.argv[1])
sys.argv = [script, *sys.argv[2:]]
runpy.run_path(script, run_name="__main__")
