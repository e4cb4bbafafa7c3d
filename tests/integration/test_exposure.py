"""What a run exposes: the embedded target does not carry the user's secrets (ISSUER_API_KEY and
ISSUER_HEADERS exported in the shell are for the target under test), and nothing listens beyond
loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

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


def test_a_run_listens_on_loopback_only(tmp_path):
    """Every listening socket of a run's processes (Locust, the agents and their holders' inbound
    ports, the embedded ACA-Py and PostgreSQL) is on loopback: the run opens no door on the machine."""
    own_state = paths.STATE_DIR / "test-exposure-run"
    environment = {**os.environ, "AKRIDA_LOCAL_STATE_DIR": str(own_state), "LOCAL_BASE_PORT": "8450",
                   "RESULTS_DIR": str(tmp_path), "SCENARIO": "connection", "WITH_MEDIATION": "false",
                   "USERS": "3", "SPAWN_RATE": "3", "RUN_TIME": "25s", "AGENT_PORT_RANGE": "20900-20909"}  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "akrida.cli", "--env-file", "/dev/null", "run"],
        cwd=paths.ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    listeners: dict[tuple[str, int], str] = {}
    try:
        deadline = time.monotonic() + 150
        while process.poll() is None and time.monotonic() < deadline:
            pids = {process.pid, *(child.pid for child in psutil.Process(process.pid).children(recursive=True))}
            for connection in psutil.net_connections(kind="inet"):
                if connection.status != psutil.CONN_LISTEN:
                    continue
                ours = connection.pid in pids or 8450 <= connection.laddr.port < 8460  # PostgreSQL runs apart
                if ours:
                    listeners[(connection.laddr.ip, connection.laddr.port)] = _name(connection.pid)
            time.sleep(1)
        output, _ = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 0, output[-3000:]
    holders = [port for (_ip, port) in listeners if 20900 <= port <= 20909]
    assert len(holders) >= 3, f"the holders' inbound ports were not seen: {listeners}"
    assert any(8450 <= port < 8460 for (_ip, port) in listeners), f"the embedded target was not seen: {listeners}"
    exposed = {f"{ip}:{port} ({name})" for (ip, port), name in listeners.items() if ip not in ("127.0.0.1", "::1")}
    assert not exposed, f"listening beyond loopback: {sorted(exposed)}"


def _name(pid: int | None) -> str:
    try:
        return psutil.Process(pid).name() if pid else "?"
    except psutil.Error:
        return "?"
