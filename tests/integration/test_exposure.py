"""The embedded target does not carry the user's secrets: ISSUER_API_KEY and ISSUER_HEADERS exported
in the shell are for the target under test, not for ACA-Py, PostgreSQL or their environments."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import psutil

from akrida import paths

PLANTED_KEY = "planted-key-4d1e9b"
PLANTED_HEADER = "planted-header-77ac02"


def test_embedded_target_processes_do_not_inherit_the_users_secrets():
    own_state = paths.STATE_DIR / "test-exposure-target"
    planted = {"ISSUER_API_KEY": PLANTED_KEY, "ISSUER_HEADERS": json.dumps({"X-Planted": PLANTED_HEADER})}
    environment = {**os.environ, "AKRIDA_LOCAL_STATE_DIR": str(own_state), "LOCAL_BASE_PORT": "8600", **planted}
    command = [sys.executable, "-m", "akrida.cli", "--env-file", "/dev/null", "local"]
    up = subprocess.run([*command, "up"], env=environment, capture_output=True, text=True, timeout=300, cwd=paths.ROOT)
    try:
        assert up.returncode == 0, up.stderr[-3000:]
        state = json.loads((own_state / "state.json").read_text())
        pids = [*state["pids"].values()]
        # PostgreSQL's postmaster and its backends run as postgres: every process listening on the target's ports.
        for connection in psutil.net_connections(kind="tcp"):
            if connection.status == psutil.CONN_LISTEN and 8600 <= connection.laddr.port < 8610 and connection.pid:
                pids.append(connection.pid)
        checked = 0
        for pid in set(pids):
            process = psutil.Process(pid)
            for member in [process, *process.children(recursive=True)]:
                values = " ".join(f"{k}={v}" for k, v in member.environ().items())
                assert PLANTED_KEY not in values and PLANTED_HEADER not in values, f"{member.name()} ({member.pid})"
                checked += 1
        assert checked >= 3, "expected ACA-Py's mediator and issuer and PostgreSQL"
    finally:
        subprocess.run([*command, "down"], env=environment, capture_output=True, timeout=120, cwd=paths.ROOT)
