"""V8's CPU profile of a real Credo mediator (MediatorModule, in Node) through its inspector, while
real holders (the Credo agent) ping it: a flame graph and top functions, as py-spy gives for ACA-Py.

The mediator is tests/integration/credo_mediator.js, started with `--inspect-port=0`: SIGUSR1 opens
its inspector on a port nobody knows in advance, which the recording must find by itself. Plain
Node processes stand for the cases where nothing may be opened.
"""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from akrida.agent import AgentConfig, AgentHost, HolderClient, StartOptions
from akrida.target.inspector import listening
from akrida.target.profile import Profiler, read_profiles
from akrida.target.stacks import read_collapsed, top_functions
from tests.integration.helpers import akrida, describe, only_run_dir

pytestmark = pytest.mark.integration

MEDIATOR_SCRIPT = Path(__file__).parent / "credo_mediator.js"
STARTUP_TIMEOUT_S = 180  # Credo's modules load in seconds on a quiet machine, far longer on a busy one
PROFILE_SECONDS = 5
HOLDERS = 3
MAX_PINGS = 5_000  # the pings' bound in count; their bound in time is the profile's length + 60 s
IDLE_NODE = "setInterval(() => {}, 1000)"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class CredoMediator:
    pid: int
    invitation_url: str


@pytest.fixture
def credo_mediator(tmp_path: Path) -> Iterator[CredoMediator]:
    config = AgentConfig()
    config.check_installed()  # askar's native library, which the mediator's wallet uses too
    stderr = open(tmp_path / "credo-mediator.log", "wb")  # noqa: SIM115 (closed below, after the process)
    process = subprocess.Popen(
        ["node", "--inspect-port=0", str(MEDIATOR_SCRIPT), str(free_port())],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, env=config.environment(),
    )  # fmt: skip
    lines: list[bytes] = []
    reader = threading.Thread(target=lambda: lines.append(process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(STARTUP_TIMEOUT_S)
    try:
        log = (tmp_path / "credo-mediator.log").read_text(errors="replace")
        assert lines and lines[0], f"the Credo mediator did not start within {STARTUP_TIMEOUT_S} s:\n{log[-3000:]}"
        started = json.loads(lines[0])
        assert started["pid"] == process.pid
        yield CredoMediator(process.pid, started["invitationUrl"])
    finally:
        process.stdin.close()  # type: ignore[union-attr]  # the mediator shuts down at the end of its stdin
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        stderr.close()


@pytest.fixture
def holders(credo_mediator: CredoMediator, tmp_path: Path) -> Iterator[list[HolderClient]]:
    host = AgentHost(AgentConfig(timeout=90, log_dir=tmp_path), "agent", capacity=HOLDERS)
    host.spawn()
    clients = []
    try:
        for number in range(HOLDERS):
            host.handles.add(f"holder-{number}")
            client = HolderClient(host, f"holder-{number}")
            started = client.start(StartOptions(mediator_invitation_url=credo_mediator.invitation_url))
            assert started.mediation.state == "granted", "the Credo mediator did not grant mediation"
            clients.append(client)
        yield clients
    finally:
        host.close()


def ping_while_recorded(clients: list[HolderClient], profiler: Profiler) -> int:
    """Pings the mediator from this thread (the agent's client is gevent's) until the recordings
    are done; returns how many pings were answered."""
    deadline = time.monotonic() + PROFILE_SECONDS + 90
    answered = 0
    for number in range(MAX_PINGS):
        if profiler.wait(timeout=0) or time.monotonic() > deadline:
            break
        clients[number % len(clients)].ping_mediator()
        answered += 1
    return answered


def test_a_busy_credo_mediator_is_profiled_through_its_inspector_and_left_as_it_was_found(
    credo_mediator: CredoMediator, holders: list[HolderClient], tmp_path: Path
):
    pid = credo_mediator.pid
    ports_before = set(listening(pid))
    profiler = Profiler(tmp_path, {"mediator": pid}, seconds=PROFILE_SECONDS)
    profiler.record("busy")
    answered = ping_while_recorded(holders, profiler)
    assert profiler.wait(timeout=90), "the recording did not finish"
    # A second recording, as a search takes one per step: the inspector opens again.
    profiler.record("again")
    ping_while_recorded(holders, profiler)
    assert profiler.wait(timeout=90), "the second recording did not finish"
    assert answered > HOLDERS, f"the mediator was hardly exercised: {answered} pings answered"
    # The mediator lives on and serves: closing an inspector from inside its own session once ended it.
    for client in holders:
        client.ping_mediator()
    assert profiler.problems == []

    summaries = {summary.label: summary for summary in read_profiles(tmp_path)}
    assert set(summaries) == {"busy", "again"}
    summary = summaries["busy"]
    assert (summary.source, summary.pid, summary.profiler, summary.problem) == ("mediator", pid, "inspector", "")
    folder = tmp_path / "target" / "profiles"
    meta = json.loads((folder / "busy-mediator.json").read_text())
    assert meta["kind"] == "Node"
    assert meta["inspector"].endswith("opened by SIGUSR1 and closed after"), meta["inspector"]
    assert set(listening(pid)) == ports_before, "the inspector the recording opened is still open"

    assert summary.cpuprofile == folder / "busy-mediator.cpuprofile"
    v8 = json.loads(summary.cpuprofile.read_text())
    assert v8["nodes"] and v8["samples"] and v8["endTime"] > v8["startTime"]
    assert summary.svg == folder / "busy-mediator.svg"
    svg = summary.svg.read_text()
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"') and svg.rstrip().endswith("</svg>")
    assert "<rect" in svg and "@credo-ts/core" in svg

    assert summary.stacks is not None
    profile = read_collapsed(summary.stacks)
    # 100 samples a second asked; a busy machine delays V8's sampler thread, so far fewer are taken.
    assert profile.counted > PROFILE_SECONDS * 20, f"too few samples: {profile.counted}"
    assert profile.busy > 0 and 0.0 <= profile.idle_share < 1.0
    credo = [frames for frames in profile.stacks if any("@credo-ts/" in frame for frame in frames)]
    assert credo, "no Credo frame sampled while holders pinged the mediator"
    top = top_functions(summary.stacks, n=10)
    assert top, "no function ranked"
    for share in top:
        assert 0.0 < share.share <= 1.0 and 0.0 <= share.self_share <= share.share, share
    assert not any(share.function == "processTicksAndRejections" for share in top), "plumbing ranked"
    assert summaries["again"].problem == "" and summaries["again"].samples > 0
    print("\n" + "\n".join(summary.lines()))
    print(f"pings answered while profiled: {answered}")


def test_an_inspector_configured_beyond_loopback_is_never_opened(tmp_path: Path):
    port = free_port()
    node = subprocess.Popen(["node", f"--inspect-port=0.0.0.0:{port}", "-e", IDLE_NODE])
    try:
        time.sleep(0.5)  # Node has set up its signal handler
        profiler = Profiler(tmp_path, {"node": node.pid}, seconds=2)
        profiler.record("end")
        assert profiler.wait(timeout=30)
        assert node.poll() is None, "the process was ended"
        assert port not in listening(node.pid), "the inspector was opened on every interface"
    finally:
        node.kill()
        node.wait()
    [summary] = read_profiles(tmp_path)
    assert summary.problem == (
        f"the inspector of pid {node.pid} would listen on 0.0.0.0:{port}, beyond loopback (its --inspect-port): "
        f"not opened (give it --inspect-port=127.0.0.1:{port})"
    )
    assert summary.cpuprofile is None and summary.svg is None


def test_an_inspector_port_taken_by_another_process_is_named_and_that_process_is_not_profiled(tmp_path: Path):
    port = free_port()
    other = subprocess.Popen(["node", f"--inspect=127.0.0.1:{port}", "-e", IDLE_NODE], stderr=subprocess.DEVNULL)
    named = subprocess.Popen(["node", f"--inspect-port=127.0.0.1:{port}", "-e", IDLE_NODE], stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):  # the other's inspector listens within a second or so; bounded in count
            if port in listening(other.pid):
                break
            time.sleep(0.1)
        assert port in listening(other.pid)
        profiler = Profiler(tmp_path, {"named": named.pid}, seconds=2)
        profiler.record("end")
        assert profiler.wait(timeout=60)
        assert named.poll() is None and other.poll() is None
    finally:
        for process in (named, other):
            process.kill()
            process.wait()
    [summary] = read_profiles(tmp_path)
    assert summary.problem == (
        f"the inspector of pid {named.pid} did not open within 10 s of SIGUSR1 "
        f"(port {port} is taken by another process)"
    )
    assert summary.cpuprofile is None, "the other process's inspector was used"


def test_a_run_against_a_credo_mediator_names_where_its_time_went(credo_mediator: CredoMediator, tmp_path: Path):
    """`akrida run` against one's own Credo mediator, with TARGET_PROFILE_PID: the summary has its profile."""
    result = akrida(
        "run", "--local", results=tmp_path, timeout=420,
        SCENARIO="mediator_ping", MEDIATION_URL=credo_mediator.invitation_url, USERS="3", SPAWN_RATE="3",
        RUN_TIME="30s", TARGET_PROFILE="1", TARGET_PROFILE_PID=str(credo_mediator.pid), TARGET_PROFILE_SECONDS="10",
    )  # fmt: skip
    run_dir = only_run_dir(tmp_path)
    assert result.returncode == 0, describe(result, run_dir)
    summary = (run_dir / "summary.md").read_text()
    assert "## The target's profile" in summary, summary
    section = summary.split("## The target's profile", 1)[1]
    assert f"target at end (pid {credo_mediator.pid}, 10 s, " in section, section
    assert "V8 CPU profile (Chrome DevTools opens it): target/profiles/end-target.cpuprofile" in section
    assert (run_dir / "target" / "profiles" / "end-target.svg").is_file()
    print(section)
