"""The agent protocol (agent/PROTOCOL.md) against the real Credo agent, and the Python client of it.

The raw tests speak to the agent process line by line, as any driver would; they are the
conformance suite a replacement agent must pass (point AKRIDA_AGENT_SCRIPT at it). Every reply they
read is checked against agent/protocol.schema.json.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
from dataclasses import replace
from pathlib import Path

import gevent
import psutil
import pytest

from akrida import paths
from akrida.agent import (
    AgentConfig,
    AgentCrashed,
    AgentHost,
    AgentHung,
    CommandFailed,
    HolderClient,
    HostPool,
    PortPool,
    StartOptions,
)
from akrida.agent.host import SECRET_VARIABLES
from akrida.agent.logfile import BoundedLog
from akrida.settings import SETTINGS
from tests.protocol import check_reply

SCRIPT = Path(os.environ.get("AKRIDA_AGENT_SCRIPT", paths.AGENT_SCRIPT))
# A package version as npm writes it (https://semver.org): Node's own has no leading "v" here.
SEMVER = re.compile(r"\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?")
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
        reply = json.loads(line)
        check_reply(reply)
        # Every reply is stamped (PROTOCOL.md, "Timing stamps"); the stamps vary, so the tests compare the rest.
        timing = reply.pop("timing", None)
        assert timing is not None and timing["agentMs"] >= 0, f"a reply without its timing stamps: {line}"
        return reply

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
def host(tmp_path):
    host = AgentHost(AgentConfig(script=SCRIPT, timeout=20, log_dir=tmp_path), "agent-test", capacity=4)
    host.spawn()
    yield host
    host.kill()


def holder_on(host: AgentHost, name: str, port: int | None = None) -> HolderClient:
    """A started holder without mediation on `host` (a port of its own from the test's range)."""
    host.handles.add(name)
    client = HolderClient(host, name)
    if port is not None:
        client.start(StartOptions(inbound_port=port))
    return client


def test_status_before_start(raw):
    reply = raw.ask({"cmd": "status", "id": 7})
    assert reply["error"] == 0 and reply["id"] == 7
    assert reply["result"]["started"] is False and reply["result"]["holders"] == 0


def test_status_reports_the_versions_the_agent_runs_on(raw, request):
    # A conformance suite for any agent: the versions are reported (in the session's summary, see
    # tests/conftest.py, and as properties of this test in --junitxml), never required to be particular ones.
    versions = raw.ask({"cmd": "status", "id": 8})["result"]["versions"]
    request.node.user_properties += [("agent_script", str(SCRIPT)), ("agent_versions", versions)]
    assert set(versions) == {"node", "credo"}
    for name, version in versions.items():
        assert SEMVER.fullmatch(version), f"versions.{name} {version!r} is not a version such as 1.2.3 or 1.2.3-alpha.1"


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
        ('{"cmd": "ping_mediator", "responseRequested": "no"}', '"responseRequested" must be true or false'),
        ('{"cmd": "start", "id": 6}', "needs an inboundPort"),
        ('{"cmd": "start", "mediatorInvitationUrl": "http://127.0.0.1:9/?x=1"}', "carries no invitation"),
        ('{"cmd": "start", "mediatorInvitationUrl": "not a url"}', "is not a URL"),
        ('{"cmd": "start", "inboundPort": "ten"}', '"inboundPort" must be an integer'),
        ('{"cmd": "start", "inboundPort": 20400, "pickupStrategy": "pigeon"}', "unknown pickupStrategy"),
        ('{"cmd": "receiveInvitation"}', 'send "start" first'),
        ('{"cmd": "drop_connection"}', 'send "start" first'),
        ('{"cmd": "go_offline"}', 'send "start" first'),
        ('{"cmd": "go_online"}', 'send "start" first'),
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


# A driver whose agent's stdin is also held by another process (as a child it started later might
# hold it): killed outright, it leaves the agent no end of stdin to notice.
ORPHANING_DRIVER = """
import os, subprocess, sys, time
read_end, write_end = os.pipe()
env = dict(os.environ)
if sys.argv[2] == "given":  # as akrida's driver does (akrida/agent/host.py)
    env["AKRIDA_DRIVER_PID"] = str(os.getpid())
else:  # an agent started by hand: it notes its parent before loading
    env.pop("AKRIDA_DRIVER_PID", None)
quiet = subprocess.DEVNULL
agent = subprocess.Popen(["node", sys.argv[1]], stdin=read_end, stdout=quiet, stderr=quiet, env=env)
keeper = subprocess.Popen(["sleep", "120"], pass_fds=(write_end,))
print(agent.pid, keeper.pid, flush=True)
time.sleep(120)
"""


@pytest.mark.parametrize(
    ("pid_from", "wait"),
    [
        # Killed at once, while the agent still loads its bundle (seconds on a busy host): the agent
        # must watch the pid its driver gave, not the parent it finds once loaded (the reaper by then).
        ("given", 0.1),
        ("noted", 3),
    ],
)
def test_agent_exits_when_its_driver_is_killed_even_with_its_stdin_still_open(pid_from, wait):
    driver = subprocess.Popen(
        ["python3", "-c", ORPHANING_DRIVER, str(SCRIPT), pid_from],
        stdout=subprocess.PIPE,
        text=True,
        env=CONFIG.environment(),
    )
    agent_pid, keeper_pid = (int(pid) for pid in driver.stdout.readline().split())
    agent = psutil.Process(agent_pid)
    try:
        gevent.sleep(wait)
        assert agent.is_running() and agent.status() != psutil.STATUS_ZOMBIE
        driver.kill()
        driver.wait()
        gone, _alive = psutil.wait_procs([agent], timeout=30)
        assert gone, "the agent outlived its driver"
    finally:
        for pid in (agent_pid, keeper_pid):
            with contextlib.suppress(psutil.NoSuchProcess):
                psutil.Process(pid).kill()


def test_one_process_hosts_many_holders_by_handle(raw):
    ports = PortPool(20450, 20459)
    for index, handle in enumerate(("h1", "h2", "h3")):
        raw.send(json.dumps({"cmd": "start", "id": index, "holder": handle, "inboundPort": ports.acquire()}))
    started = {reply["id"]: reply for reply in (raw.reply() for _ in range(3))}
    assert [started[index]["holder"] for index in range(3)] == ["h1", "h2", "h3"]
    assert [started[index]["result"]["holder"] for index in range(3)] == ["h1", "h2", "h3"]
    assert raw.ask({"cmd": "status", "id": 10})["result"]["holders"] == 3
    h2 = raw.ask({"cmd": "status", "id": 11, "holder": "h2"})
    assert h2["holder"] == "h2" and h2["result"]["started"] is True
    assert h2["result"]["label"] != raw.ask({"cmd": "status", "id": 12, "holder": "h3"})["result"]["label"]
    # Shutting one holder down closes its wallet alone; the process and the others go on.
    assert raw.ask({"cmd": "shutdown", "id": 13, "holder": "h2"})["result"] == "ok"
    assert raw.process.poll() is None
    assert raw.ask({"cmd": "status", "id": 14})["result"]["holders"] == 2
    assert raw.ask({"cmd": "createDidKey", "id": 15, "holder": "h1"})["result"]["did"].startswith("did:key:")
    assert raw.close() == 0  # end of stdin closes the rest


@pytest.mark.parametrize("handle", ["never-started", "h-closed"])
def test_a_command_for_an_unknown_or_closed_handle_names_it(raw, handle):
    raw.ask({"cmd": "start", "id": 1, "holder": "h-closed", "inboundPort": PortPool(20460, 20469).acquire()})
    raw.ask({"cmd": "shutdown", "id": 2, "holder": "h-closed"})
    reply = raw.ask({"cmd": "ping_mediator", "id": 3, "holder": handle})
    assert reply["error"] == 1 and reply["kind"] == "request" and reply["holder"] == handle
    assert f'unknown holder "{handle}"' in reply["result"]
    assert raw.ask({"cmd": "status", "id": 4})["error"] == 0  # still serving


def test_a_handle_in_use_and_a_malformed_handle_are_refused(raw):
    port = PortPool(20470, 20479).acquire()
    assert raw.ask({"cmd": "start", "id": 1, "holder": "dup", "inboundPort": port})["error"] == 0
    again = raw.ask({"cmd": "start", "id": 2, "holder": "dup", "inboundPort": port + 1})
    assert again["kind"] == "request" and 'holder "dup" is already started' in again["result"]
    bad = raw.ask({"cmd": "status", "id": 3, "holder": "has spaces"})
    assert bad["kind"] == "request" and '"holder" must be a handle' in bad["result"]


def test_one_holders_failed_start_leaves_its_neighbours_running(raw):
    port = PortPool(20480, 20489).acquire()
    assert raw.ask({"cmd": "start", "id": 1, "holder": "good", "inboundPort": port})["error"] == 0
    failed = raw.ask({"cmd": "start", "id": 2, "holder": "bad", "inboundPort": port})  # the same port: taken
    assert failed["error"] == 1 and failed["kind"] == "local" and "already in use" in failed["result"]
    assert raw.ask({"cmd": "status", "id": 3, "holder": "good"})["result"]["started"] is True
    assert raw.ask({"cmd": "status", "id": 4})["result"]["holders"] == 1  # the failed start left no slot


def test_client_returns_typed_results_and_raises_typed_errors(host):
    client = holder_on(host, "typed", PortPool(20490, 20499).acquire())
    status = client.status()
    assert status.started is True and status.holders == 1 and status.pid == host.pid
    with pytest.raises(CommandFailed) as caught:
        client.delete_oob_record("no-such-record")
    assert caught.value.kind == "request" and caught.value.harness


@pytest.mark.parametrize("command", ["drop_connection", "go_offline", "go_online"])
def test_connection_commands_need_a_holder_with_a_mediator(host, command):
    # With a mediator they are tested for real in tests/integration/test_connectivity.py.
    client = holder_on(host, f"no-mediator-{command}", PortPool(20510, 20519).acquire())
    with pytest.raises(CommandFailed) as caught:
        getattr(client, command)()
    assert caught.value.kind == "request" and caught.value.harness
    assert f"{command} needs a holder started with a mediatorInvitationUrl" in str(caught.value)
    assert client.status().started  # and the holder goes on


def test_client_timeout_error_is_the_targets_fault(host):
    client = holder_on(host, "waits", PortPool(20500, 20509).acquire())
    with pytest.raises(CommandFailed) as caught:
        client.receive_message(timeout_ms=200)
    assert caught.value.kind == "timeout"
    assert not caught.value.harness


def test_timeouts_of_one_cause_read_the_same_whatever_the_milliseconds(host):
    # Locust counts failures by their message: waits a few ms apart must not make rows of their own.
    client = holder_on(host, "waits-twice", PortPool(20520, 20529).acquire())
    messages = set()
    for timeout_ms in (1200, 1350):
        with pytest.raises(CommandFailed) as caught:
            client.receive_message(timeout_ms=timeout_ms)
        messages.add(str(caught.value))
    assert len(messages) == 1, messages
    assert "no answer within 1 s" in messages.pop()


def test_a_dead_host_fails_every_holder_in_it(host):
    ports = PortPool(20510, 20519)
    clients = [holder_on(host, f"h{index}", ports.acquire()) for index in range(3)]
    waiting = [gevent.spawn(client.receive_message, None, 30_000) for client in clients]
    gevent.sleep(0.5)
    os.kill(host.pid, signal.SIGKILL)
    gevent.joinall(waiting, timeout=10)
    assert all(isinstance(job.exception, AgentCrashed) for job in waiting), [job.exception for job in waiting]
    assert not any(client.alive for client in clients)
    with pytest.raises(AgentCrashed):
        clients[0].status()


def test_a_hung_holder_is_declared_hung_alone(tmp_path):
    # The driver gives up 1 s before the agent's own 1.5 s wait ends: the holder looks hung.
    host = AgentHost(AgentConfig(script=SCRIPT, timeout=20, read_margin=-1.0), "agent-hang", capacity=2)
    host.spawn()
    try:
        ports = PortPool(20520, 20529)
        slow, neighbour = holder_on(host, "slow", ports.acquire()), holder_on(host, "neighbour", ports.acquire())
        with pytest.raises(AgentHung, match="holder slow of agent host agent-hang gave no reply"):
            slow.receive_message(timeout_ms=1500)
        assert host.alive
        assert neighbour.status().started is True
    finally:
        host.kill()


def test_a_hung_host_is_killed_and_its_holders_fail(tmp_path):
    host = AgentHost(AgentConfig(script=SCRIPT, timeout=20), "agent-stopped", capacity=2)
    host.spawn()
    try:
        ports = PortPool(20530, 20539)
        first, second = holder_on(host, "a", ports.acquire()), holder_on(host, "b", ports.acquire())
        # Only now a short read timeout (2 s): starting holders on a loaded machine may take longer.
        host.config = replace(host.config, read_margin=-18.0)
        os.kill(host.pid, signal.SIGSTOP)
        waiting = gevent.spawn(second.receive_message, None, 30_000)
        with pytest.raises(AgentHung, match="gave no reply to status within 2s"):
            first.status()
        assert not host.alive  # found silent by the driver's own status check, and killed
        waiting.join(timeout=10)
        assert isinstance(waiting.exception, AgentHung) and "stopped answering" in str(waiting.exception)
    finally:
        host.kill()


def test_client_skips_late_replies_to_abandoned_commands(host):
    client = holder_on(host, "late", PortPool(20540, 20549).acquire())
    with pytest.raises(AgentHung):
        # The agent answers after 1.5 s; the driver gave up after 0.5 s.
        host.request("receiveMessage", {"timeoutMs": 1500}, holder="late", read_timeout=0.5)
    gevent.sleep(1.5)  # the late timeout reply arrives now and must not be taken for the next answer
    assert client.status().started is True


def test_replies_are_matched_across_holders_under_concurrency(host):
    ports = PortPool(20550, 20559)
    clients = [holder_on(host, f"c{index}", ports.acquire()) for index in range(4)]
    jobs = [gevent.spawn(client.status) for client in clients for _ in range(50)]
    gevent.joinall(jobs, timeout=30)
    labels = {job.value.label for job in jobs}
    assert len(labels) == 4  # each reply went to the holder that asked
    per_client = [{jobs[i * 50 + k].value.label for k in range(50)} for i in range(4)]
    assert all(len(labels) == 1 for labels in per_client)


def test_the_pool_packs_holders_into_hosts_of_the_given_size(tmp_path):
    pool = HostPool(AgentConfig(script=SCRIPT, timeout=20), holders_per_process=2)
    try:
        clients = [pool.open() for _ in range(5)]
        assert pool.live_hosts == 3 and pool.live_holders == 5
        assert [len(host.handles) for host in pool.hosts] == [2, 2, 1]
        pool.release(clients[0], graceful=False)  # frees a slot on the first host ...
        assert pool.open().host is clients[0].host  # ... which the next holder takes
    finally:
        pool.kill_all()
    assert pool.live_hosts == 0


def test_concurrent_opens_fill_hosts_instead_of_spawning_one_each(tmp_path):
    pool = HostPool(AgentConfig(script=SCRIPT, timeout=20), holders_per_process=4)
    try:
        opened = [gevent.spawn(pool.open) for _ in range(10)]
        gevent.joinall(opened, timeout=30)
        assert all(job.successful() for job in opened)
        assert sorted(len(host.handles) for host in pool.hosts) == [2, 4, 4]
    finally:
        pool.kill_all()


def test_closing_the_pool_closes_every_wallet_and_ends_every_process(tmp_path):
    # Many hosts closing at once: seen to close a pipe under its blocked reader when done in the wrong order.
    pool = HostPool(AgentConfig(script=SCRIPT, timeout=20), holders_per_process=2)
    ports = PortPool(20570, 20599)
    clients = [pool.open() for _ in range(16)]
    gevent.joinall([gevent.spawn(client.start, StartOptions(inbound_port=ports.acquire())) for client in clients])
    processes = [host._process for host in pool.hosts]
    pool.close_all(timeout=10)
    assert [process.returncode for process in processes] == [0] * 8  # ended by end of stdin, not killed
    assert pool.hosts == [] and not any(client.alive for client in clients)


def test_one_holder_per_process_keeps_todays_isolation(tmp_path):
    pool = HostPool(AgentConfig(script=SCRIPT, timeout=20), holders_per_process=1)
    try:
        first, second = pool.open(), pool.open()
        assert first.host is not second.host
        pool.release(first, graceful=False)
        assert not first.host.alive  # a broken holder alone in its process takes the process with it
    finally:
        pool.kill_all()


def test_agent_stderr_goes_to_its_own_bounded_log(host, tmp_path):
    client = holder_on(host, "logs")
    client.start(StartOptions(inbound_port=PortPool(20560, 20569).acquire(), log_level="debug"))
    host.close()
    log = tmp_path / "agent-test.log"
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


def test_the_hosts_secret_list_is_the_settings_secret_list():
    assert {setting.env for setting in SETTINGS if setting.secret} == SECRET_VARIABLES


def test_agents_do_not_inherit_admin_secrets(monkeypatch):
    monkeypatch.setenv("ISSUER_API_KEY", "planted-secret")
    monkeypatch.setenv("ISSUER_HEADERS", '{"Authorization": "Bearer planted-secret"}')
    environment = AgentConfig().environment()
    assert "planted-secret" not in json.dumps(environment)
    assert environment["LIB_ARIES_ASKAR_PATH"].endswith("aries_askar")


# Holders without mediation listen on one address (inboundHost), never on every interface unless
# told to; the addresses here are loopback ones.


def listening_addresses(pid: int, port: int) -> set[str]:
    return {
        connection.laddr.ip
        for connection in psutil.Process(pid).net_connections(kind="tcp")
        if connection.status == psutil.CONN_LISTEN and connection.laddr.port == port
    }


@pytest.mark.parametrize(("inbound_host", "expected"), [(None, "127.0.0.1"), ("127.0.0.2", "127.0.0.2")])
def test_the_inbound_port_listens_on_one_address(host, inbound_host, expected):
    port = 20580 if inbound_host is None else 20581
    host.handles.add("h")
    HolderClient(host, "h").start(StartOptions(inbound_port=port, inbound_host=inbound_host))
    assert listening_addresses(host.pid, port) == {expected}
