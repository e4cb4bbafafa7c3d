"""AGENT_PROTOCOL=seed: Akrida drives an agent of the design's seed protocol (tests/seed_agent.py, a
real Python process) exactly as that protocol says, one holder per process, with timeouts and kills."""

from __future__ import annotations

import base64
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from akrida import paths
from akrida.agent import AgentConfig, AgentHung, CommandFailed, HostPool, ProtocolViolation, StartOptions
from akrida.agent.host import launch_command
from akrida.settings import Settings, SettingsError
from tests.conftest import ROOT

SEED = ROOT / "tests" / "seed_agent.py"


class _Answer(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # a mediator's HTTP endpoint: any answer will do for the seed agent's ping
        self.send_response(405)
        self.end_headers()

    def log_message(self, *_args) -> None:
        pass


@pytest.fixture
def mediator():
    """An HTTP endpoint on loopback, and an out-of-band invitation whose service is it."""
    server = HTTPServer(("127.0.0.1", 0), _Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    message = {"@id": "invitation-1", "services": [{"id": "#inline", "serviceEndpoint": endpoint}]}
    encoded = base64.urlsafe_b64encode(json.dumps(message).encode()).decode().rstrip("=")
    yield f"{endpoint}?oob={encoded}"
    server.shutdown()


def pool(tmp_path: Path, timeout: float = 20, **extra_env: str) -> HostPool:
    config = AgentConfig(
        script=SEED, command=launch_command(SEED), protocol="seed", timeout=timeout, read_margin=1.0,
        log_dir=tmp_path, extra_env=extra_env,
    )  # fmt: skip
    return HostPool(config, holders_per_process=200)  # a seed process hosts one holder whatever this says


def received(log_dir: Path) -> list[dict]:
    """Every request the seed agents read, exactly as they read it (their logs)."""
    return [
        json.loads(line.split(" received ", 1)[1])
        for log in sorted(log_dir.glob("*.log")) for line in log.read_text().splitlines() if " received " in line
    ]  # fmt: skip


def test_commands_go_out_exactly_as_the_seed_protocol_has_them(tmp_path: Path, mediator: str):
    hosts = pool(tmp_path)
    holder = hosts.open()
    try:
        started = holder.start(StartOptions(mediator_invitation_url=mediator, log_level="warn"))
        assert started.label.startswith("python-seed-")
        assert holder.ping_mediator().round_trip_ms >= 0
        connected = holder.receive_invitation(mediator)
        assert connected.connection_id and connected.invitation_id == "invitation-1"
    finally:
        hosts.release(holder)
    assert received(tmp_path) == [
        {"cmd": "start", "withMediation": True},
        {"cmd": "ping_mediator"},
        {"cmd": "receiveInvitation", "invitationUrl": mediator},
        {"cmd": "shutdown"},
    ]
    # The agent took the invitation from its environment (it fails when MEDIATION_URL is not its one invitation).
    assert "mediator invitation invitation-1" in next(tmp_path.glob("*.log")).read_text()


def test_without_mediation_start_gives_the_port(tmp_path: Path):
    hosts = pool(tmp_path)
    holder = hosts.open()
    try:
        holder.start(StartOptions(inbound_port=10042, inbound_host="127.0.0.1", endpoint="http://127.0.0.1:10042"))
    finally:
        hosts.kill_all()
    assert received(tmp_path) == [{"cmd": "start", "withMediation": False, "port": 10042}]


def test_each_holder_gets_a_process_of_its_own(tmp_path: Path, mediator: str):
    hosts = pool(tmp_path)
    holders = [hosts.open() for _ in range(3)]
    try:
        for holder in holders:
            holder.start(StartOptions(mediator_invitation_url=mediator))
        assert len({holder.host.pid for holder in holders}) == 3
    finally:
        hosts.kill_all()


def test_a_command_the_seed_lacks_fails_as_akridas_own_naming_it(tmp_path: Path, mediator: str):
    hosts = pool(tmp_path)
    holder = hosts.open()
    try:
        holder.start(StartOptions(mediator_invitation_url=mediator))
        with pytest.raises(CommandFailed, match="go_online is not one of them") as raised:
            holder.go_online()
        assert raised.value.harness
    finally:
        hosts.kill_all()


def test_a_seed_failure_counts_as_the_targets(tmp_path: Path):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there: the mediator is down
    message = {"@id": "x", "services": [{"serviceEndpoint": f"http://127.0.0.1:{port}"}]}
    invitation = f"http://127.0.0.1:{port}?oob=" + base64.urlsafe_b64encode(json.dumps(message).encode()).decode()
    hosts = pool(tmp_path)
    holder = hosts.open()
    try:
        with pytest.raises(CommandFailed) as raised:
            holder.start(StartOptions(mediator_invitation_url=invitation))
        assert not raised.value.harness and "ConnectionRefusedError" in str(raised.value)
    finally:
        hosts.kill_all()


def test_a_hung_seed_agent_times_out_and_is_killed(tmp_path: Path, mediator: str):
    hosts = pool(tmp_path, timeout=1, SEED_MISBEHAVE="hang:ping_mediator")
    holder = hosts.open()
    try:
        holder.start(StartOptions(mediator_invitation_url=mediator))
        process = holder.host._process
        with pytest.raises(AgentHung):
            holder.ping_mediator()
        assert process is not None and process.wait(timeout=10) is not None  # killed
        assert not holder.alive  # the holder restarts in a new process
        with pytest.raises(AgentHung, match="stopped answering; killed"):
            holder.ping_mediator()
    finally:
        hosts.kill_all()


def test_a_line_that_is_not_a_reply_kills_it(tmp_path: Path, mediator: str):
    hosts = pool(tmp_path, SEED_MISBEHAVE="garbage:ping_mediator")
    holder = hosts.open()
    try:
        holder.start(StartOptions(mediator_invitation_url=mediator))
        with pytest.raises(ProtocolViolation):
            holder.ping_mediator()
    finally:
        hosts.kill_all()


@pytest.mark.parametrize("scenario", ["issue", "present", "mediator_message", "mediator_churn", "mix"])
def test_scenarios_the_seed_cannot_serve_are_refused_by_name(scenario: str):
    with pytest.raises(SettingsError, match=f"SCENARIO={scenario} needs holder commands"):
        Settings.from_mapping({"SCENARIO": scenario, "AGENT_SCRIPT": str(SEED), "AGENT_PROTOCOL": "seed"})


def test_the_seed_protocol_needs_an_agent_script():
    with pytest.raises(SettingsError, match="AGENT_PROTOCOL=seed needs AGENT_SCRIPT"):
        Settings.from_mapping({"AGENT_PROTOCOL": "seed"})


def test_scenarios_the_seed_can_serve_pass():
    for scenario in ("mediator_ping", "mediator_hold", "connection", "liveness"):
        Settings.from_mapping({"SCENARIO": scenario, "AGENT_SCRIPT": str(SEED), "AGENT_PROTOCOL": "seed"})


def test_an_agent_script_of_akridas_protocol_runs_many_holders_a_process(tmp_path: Path):
    """AGENT_SCRIPT with AGENT_PROTOCOL=akrida: the script is run as given (here the Credo agent's own
    entry file, by node, as a user's .js would be) and packs holders as the Credo agent does."""
    script = paths.AGENT_SCRIPT
    config = AgentConfig(script=script, command=launch_command(script), timeout=30, log_dir=tmp_path)
    hosts = HostPool(config, holders_per_process=2)
    holders = [hosts.open() for _ in range(2)]
    try:
        for holder in holders:
            port = free_port()
            holder.start(StartOptions(inbound_port=port, endpoint=f"http://127.0.0.1:{port}"))
        assert holders[0].host is holders[1].host and holders[0].host.pid is not None
        assert launch_command(script)[0] == "node"
    finally:
        hosts.close_all()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
