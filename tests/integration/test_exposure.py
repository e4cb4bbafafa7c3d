"""What a run exposes: the embedded target does not carry the user's secrets (ISSUER_API_KEY and
ISSUER_HEADERS exported in the shell are for the target under test), and nothing listens beyond
loopback."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from akrida import paths

PLANTED_KEY = "planted-key-4d1e9b"
PLANTED_HEADER = "planted-header-77ac02"


def test_planted_secrets_stay_out_of_every_process_log_and_state_file_that_does_not_need_them(tmp_path):
    """ISSUER_API_KEY and ISSUER_HEADERS are for the target under test. Exported in the shell they reach
    no process of the embedded target; given to a run, they reach neither the holder agents'
    environments, nor the bundle (agent logs, Locust's log), nor the local state (apart from the
    target's own record of its own key). Files there that hold secrets or wallets are private."""
    own_state, base_port = paths.STATE_DIR / "test-exposure-target", 9350
    planted = {"ISSUER_API_KEY": PLANTED_KEY, "ISSUER_HEADERS": json.dumps({"X-Planted": PLANTED_HEADER})}
    environment = {**os.environ, "AKRIDA_LOCAL_STATE_DIR": str(own_state), "LOCAL_BASE_PORT": str(base_port),
                   **planted}  # fmt: skip
    command = [sys.executable, "-m", "akrida.cli", "--env-file", "/dev/null"]
    subprocess.run([*command, "local", "down"], env=environment, capture_output=True, timeout=120, cwd=paths.ROOT)
    up = subprocess.run([*command, "local", "up"], env=environment, capture_output=True, text=True, timeout=300,
                        cwd=paths.ROOT)  # fmt: skip
    try:
        assert up.returncode == 0, up.stderr[-3000:]
        state = json.loads((own_state / "state.json").read_text())
        pids = [*state["pids"].values()]
        # PostgreSQL's postmaster and its backends run as postgres: every process listening on the target's ports.
        for connection in psutil.net_connections(kind="tcp"):
            if connection.status == psutil.CONN_LISTEN and base_port <= connection.laddr.port < base_port + 10:
                pids.append(connection.pid)
        checked = 0
        for pid in {pid for pid in pids if pid}:
            process = psutil.Process(pid)
            for member in [process, *process.children(recursive=True)]:
                values = " ".join(f"{k}={v}" for k, v in member.environ().items())
                assert PLANTED_KEY not in values and PLANTED_HEADER not in values, f"{member.name()} ({member.pid})"
                checked += 1
        assert checked >= 3, "expected ACA-Py's mediator and issuer and PostgreSQL"

        # A run against this target as a user's own: its real admin key, and a header planted beside it.
        key, header = state["admin_api_key"], "planted-run-header-3be81f"
        results = tmp_path / "results"
        run_environment = {**environment, "RESULTS_DIR": str(results), "MEDIATION_URL": state["mediation_url"],
                           "ISSUER_URL": state["issuer_admin_url"], "ISSUER_API_KEY": key,
                           "ISSUER_HEADERS": json.dumps({"X-Planted": header}), "SCENARIO": "mediator_message",
                           "USERS": "2", "SPAWN_RATE": "2", "RUN_TIME": "15s"}  # fmt: skip
        started = time.time()
        run, agents = _run_watching_agents([*command, "run"], run_environment)
        assert run.returncode == 0, run.stdout[-3000:]
        assert agents, "no holder agent was seen while the run ran"
        for pid, values in agents.items():
            assert key not in values and header not in values, f"agent {pid} holds the issuer's credentials"
            # The run's own target is on loopback: its holders may connect there and nowhere else.
            assert "AKRIDA_AGENT_ALLOWED_HOSTS=127.0.0.1 " in values + " ", f"agent {pid} has no egress allowlist"
        secrets = [key, header, PLANTED_KEY, PLANTED_HEADER]
        assert not [s for s in secrets if s in run.stdout], "a secret was printed"
        run_dir = next(results.iterdir())
        logs = [*run_dir.glob("agents/*/agent-*.log*"), run_dir / "locust.log"]
        assert len(logs) >= 2 and all(log.is_file() for log in logs), logs
        assert not _holding(logs, secrets), "agent or Locust logs hold a secret"
        assert not _holding(_files(run_dir), secrets), "the bundle holds a secret"
        # The local state: the target's own folder whole, and whatever else under .akrida the run wrote.
        record = own_state / "state.json"
        assert not _holding(_files(own_state), [header, PLANTED_KEY, PLANTED_HEADER]), "the local state holds a secret"
        assert not _holding([f for f in _files(own_state) if f != record], [key]), "the admin key escaped state.json"
        written = [f for f in _files(paths.STATE_DIR, skip=frozenset({paths.ACAPY_VENV, paths.NATIVE_LIBS}))
                   if f.stat().st_mtime >= started]  # fmt: skip
        assert not _holding(written, secrets), "the run wrote a secret under .akrida"
        # Secrets and wallets (the target's, in PostgreSQL's data folder) are readable by their owner only.
        data = own_state / "postgres" / "data"
        private = [record, own_state / "postgres-password", *_files(data)]
        assert len(private) > 100, f"PostgreSQL's data folder was not found at {data}"
        shared = [f"{f} {oct(f.stat().st_mode & 0o777)}" for f in private if f.stat().st_mode & 0o077]
        assert not shared, f"secret or wallet files readable by others: {shared[:10]}"
        assert not (data.stat().st_mode & 0o077), f"{data} is open to others"
    finally:
        subprocess.run([*command, "local", "down"], env=environment, capture_output=True, timeout=120, cwd=paths.ROOT)


def _run_watching_agents(command: list[str], environment: dict[str, str]):
    """Runs `command`; returns its result and, for each holder agent process seen while it ran, its environment."""
    agents: dict[int, str] = {}
    with tempfile.TemporaryFile("w+") as output:
        process = subprocess.Popen(command, cwd=paths.ROOT, env=environment, stdout=output, stderr=subprocess.STDOUT,
                                   text=True)  # fmt: skip
        try:
            deadline = time.monotonic() + 240
            while process.poll() is None and time.monotonic() < deadline:
                with contextlib.suppress(psutil.Error):
                    for child in psutil.Process(process.pid).children(recursive=True):
                        with contextlib.suppress(psutil.Error):
                            if str(paths.AGENT_SCRIPT) in " ".join(child.cmdline()):
                                agents[child.pid] = " ".join(f"{k}={v}" for k, v in child.environ().items())
                time.sleep(0.5)
            process.wait(timeout=max(1.0, deadline - time.monotonic()))
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        output.seek(0)
        return subprocess.CompletedProcess(command, process.returncode, output.read(), ""), agents


def _files(folder: Path, skip: frozenset[Path] = frozenset()) -> list[Path]:
    found = []
    for root, folders, names in os.walk(folder):
        folders[:] = [name for name in folders if Path(root, name) not in skip]
        found += [Path(root, name) for name in names if Path(root, name).is_file()]
    return found


def _holding(files: list[Path], secrets: list[str]) -> list[str]:
    """`file: secret` for each of `files` that holds one of `secrets`."""
    found = []
    for path in files:
        with contextlib.suppress(OSError):
            content = path.read_bytes()
            found += [f"{path}: {secret}" for secret in secrets if secret.encode() in content]
    return found


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
