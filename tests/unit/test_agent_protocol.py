"""The agent protocol (agent/PROTOCOL.md) against the real Credo agent, and the Python client of it.

The raw tests speak to the agent process line by line, as any driver would; they are the
conformance suite a replacement agent must pass (point AKRIDA_AGENT_SCRIPT at it).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from akrida import paths
from akrida.agent import AgentConfig, AgentCrashed, AgentHung, AgentProcess, CommandFailed, PortPool
from akrida.agent.logfile import BoundedLog

SCRIPT = Path(os.environ.get("AKRIDA_AGENT_SCRIPT", paths.AGENT_SCRIPT))
CONFIG = AgentConfig(script=SCRIPT, timeout=20)


class RawAgent:
    """The agent as a plain child process: write lines, read lines."""

    def __init__(self):
        self.process = subprocess.Popen(
            ["node", str(SCRIPT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=CONFIG.environment(),
            text=True,
        )

    def send(self, line: str) -> None:
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def reply(self) -> dict:
        line = self.process.stdout.readline()
        assert line, "the agent closed stdout"
        return json.loads(line)

    def ask(self, request: dict) -> dict:
        self.send(json.dumps(request))
        return self.reply()

    def close(self) -> int:
        self.process.stdin.close()
        return self.process.wait(timeout=20)


@pytest.fixture
def raw():
    agent = RawAgent()
    yield agent
    if agent.process.poll() is None:
        agent.process.kill()
        agent.process.wait()


@pytest.fixture
def agent(tmp_path):
    process = AgentProcess(AgentConfig(script=SCRIPT, timeout=20, log_dir=tmp_path), "holder-test")
    process.spawn()
    yield process
    process.kill()


def test_status_before_start(raw):
    reply = raw.ask({"cmd": "status", "id": 7})
    assert reply["error"] == 0 and reply["id"] == 7
    assert reply["result"]["started"] is False
    assert reply["result"]["versions"]["credo"] == "0.5.19"


def test_replies_echo_string_and_number_ids(raw):
    assert raw.ask({"cmd": "status", "id": "abc"})["id"] == "abc"
    assert raw.ask({"cmd": "status", "id": 12})["id"] == 12
    assert "id" not in raw.ask({"cmd": "status"})


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("this is not json", "malformed JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"id": 3}', 'no "cmd"'),
        ('{"cmd": "fly", "id": 4}', 'unknown command "fly"'),
        ('{"cmd": "ping_mediator", "id": 5}', 'send "start" first'),
        ('{"cmd": "start", "id": 6}', "needs an inboundPort"),
        ('{"cmd": "start", "mediatorInvitationUrl": "http://127.0.0.1:9/?x=1"}', "carries no invitation"),
        ('{"cmd": "start", "mediatorInvitationUrl": "not a url"}', "is not a URL"),
        ('{"cmd": "start", "inboundPort": "ten"}', '"inboundPort" must be an integer'),
        ('{"cmd": "start", "inboundPort": 20400, "pickupStrategy": "pigeon"}', "unknown pickupStrategy"),
        ('{"cmd": "receiveInvitation"}', 'send "start" first'),
    ],
)
def test_bad_requests_get_an_error_reply_never_silence(raw, line, expected):
    raw.send(line)
    reply = raw.reply()
    assert reply["error"] == 1
    assert reply["kind"] == "request"
    assert expected in reply["result"]
    # ... and the agent still answers afterwards.
    assert raw.ask({"cmd": "status"})["error"] == 0


def test_malformed_request_keeps_its_id_when_readable(raw):
    raw.send('{"cmd": 5, "id": "keep-me"}')
    reply = raw.reply()
    assert reply["error"] == 1 and reply["id"] == "keep-me"


def test_one_reply_per_command_and_nothing_else_on_stdout(raw):
    port = PortPool(20410, 20419).acquire()
    requests = [
        {"cmd": "status", "id": 1},
        {"cmd": "start", "id": 2, "inboundPort": port, "logLevel": "debug"},
        {"cmd": "status", "id": 3},
        {"cmd": "receiveMessage", "id": 4, "timeoutMs": 300},
    ]
    for request in requests:
        raw.send(json.dumps(request))
    replies = [raw.reply() for _ in requests]
    assert sorted(reply["id"] for reply in replies) == [1, 2, 3, 4]
    by_id = {reply["id"]: reply for reply in replies}
    assert by_id[2]["result"]["endpoints"] == [f"http://127.0.0.1:{port}"]
    assert by_id[4]["error"] == 1 and by_id[4]["kind"] == "timeout"
    assert raw.ask({"cmd": "shutdown", "id": 5}) == {"error": 0, "cmd": "shutdown", "result": "ok", "id": 5}
    assert raw.process.wait(timeout=20) == 0
    assert raw.process.stdout.read() == ""  # nothing after the last reply, debug logging included


def test_agent_exits_when_its_driver_goes_away(raw):
    assert raw.ask({"cmd": "status"})["error"] == 0
    assert raw.close() == 0


def test_client_returns_results_and_raises_typed_errors(agent):
    assert agent.call("status")["started"] is False
    with pytest.raises(CommandFailed) as caught:
        agent.call("nope")
    assert caught.value.kind == "request" and caught.value.harness


def test_client_timeout_error_is_the_targets_fault(agent):
    agent.call("start", inboundPort=PortPool(20420, 20429).acquire())
    with pytest.raises(CommandFailed) as caught:
        agent.call("receiveMessage", timeoutMs=200)
    assert caught.value.kind == "timeout"
    assert not caught.value.harness


def test_client_detects_a_dead_agent(agent):
    os.kill(agent.pid, signal.SIGKILL)
    with pytest.raises(AgentCrashed):
        agent.call("status")
    assert not agent.alive


def test_client_detects_a_hung_agent(agent):
    assert agent.call("status")
    os.kill(agent.pid, signal.SIGSTOP)
    try:
        with pytest.raises(AgentHung, match="no reply to status within 1s"):
            agent.call("status", read_timeout=1)
    finally:
        os.kill(agent.pid, signal.SIGCONT)


def test_client_skips_late_replies_to_abandoned_commands(agent):
    agent.call("start", inboundPort=PortPool(20430, 20439).acquire())
    with pytest.raises(AgentHung):
        # The agent answers after 1.5 s; the driver gave up after 0.5 s.
        agent.call("receiveMessage", read_timeout=0.5, timeoutMs=1500)
    # The late timeout reply to receiveMessage arrives first and must not be taken for this answer.
    assert agent.call("status")["started"] is True


def test_agent_stderr_goes_to_its_own_bounded_log(agent, tmp_path):
    agent.call("start", inboundPort=PortPool(20440, 20449).acquire(), logLevel="debug")
    agent.shutdown()
    log = tmp_path / "holder-test.log"
    assert log.is_file() and log.stat().st_size > 0


def test_bounded_log_keeps_the_newest_lines(tmp_path):
    log = BoundedLog(tmp_path / "a.log", max_bytes=4096)
    for index in range(1000):
        log.write(f"line {index:04d}\n".encode())
    log.close()
    newest = (tmp_path / "a.log").read_text()
    older = (tmp_path / "a.log.1").read_text()
    assert "line 0999" in newest
    assert (tmp_path / "a.log").stat().st_size + (tmp_path / "a.log.1").stat().st_size <= 4096
    assert "line 0000" not in newest + older


def test_agents_do_not_inherit_admin_secrets(monkeypatch):
    monkeypatch.setenv("ISSUER_API_KEY", "planted-secret")
    monkeypatch.setenv("ISSUER_HEADERS", '{"Authorization": "Bearer planted-secret"}')
    environment = AgentConfig().environment()
    assert "planted-secret" not in json.dumps(environment)
    assert environment["LIB_ARIES_ASKAR_PATH"].endswith("aries_askar")
