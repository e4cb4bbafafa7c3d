"""Faults and bad input: the harness must say clearly what went wrong and keep what it has."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from akrida import paths
from akrida.report.delivery import read_delivery
from akrida.report.stats import read_failures
from akrida.sockets import listening
from tests.integration.helpers import akrida, describe, invitation_to, only_run_dir, run_dirs, steps_by_key

pytestmark = pytest.mark.integration


def agents_of_run(results: Path) -> list[int]:
    """Pids of the holder agents whose environment points at a run folder under `results`."""
    pids = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        if str(paths.AGENT_SCRIPT) not in " ".join(process.info["cmdline"] or ()):
            continue
        try:
            if process.environ().get("AKRIDA_RUN_DIR", "").startswith(str(results)):
                pids.append(process.info["pid"])
        except psutil.Error:
            continue
    return pids


@pytest.mark.parametrize(
    ("holders_per_process", "processes", "holders_lost"),
    [("1", 3, 1), ("3", 1, 3)],
    ids=["process-per-holder", "dense"],
)
def test_killed_agent_is_restarted_and_reported_as_harness_failure(
    target, tmp_path, holders_per_process, processes, holders_lost
):
    """Kill one agent process mid-run: each holder it hosted fails once, as ours, and starts again."""
    killed: list[int] = []

    def kill_one_agent_mid_run() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not killed:
            time.sleep(1)
            pids = agents_of_run(tmp_path)
            if len(pids) == processes and run_dirs(tmp_path) and time.monotonic() > deadline - 50:
                os.kill(pids[0], signal.SIGKILL)
                killed.append(pids[0])

    killer = threading.Thread(target=kill_one_agent_mid_run, daemon=True)
    killer.start()
    result = akrida("run", results=tmp_path, SCENARIO="mediator_ping", USERS="3", SPAWN_RATE="3",
                    RUN_TIME="30s", WAIT_MIN="0.2", WAIT_MAX="0.5",
                    HOLDERS_PER_PROCESS=holders_per_process)  # fmt: skip
    killer.join()
    run_dir = only_run_dir(tmp_path)
    assert killed, "no agent was found to kill"
    assert result.returncode == 1, describe(result, run_dir)
    steps = steps_by_key(run_dir)
    restarts = steps[("harness", "agent_restart")]
    assert restarts.count >= holders_lost and restarts.failures == 0, describe(result, run_dir)
    # Found by the step that was waiting on it, or between steps: either way one harness failure per holder.
    crash = [f for f in read_failures(run_dir) if f.request_type == "harness" and "AgentCrashed" in f.error]
    assert sum(f.occurrences for f in crash) == holders_lost, crash
    assert {f.name for f in crash} <= {"ping_mediator", "agent_crash"}, crash
    # The target is not blamed for our crash, and the run finished and wrote its results.
    assert steps[("didcomm", "ping_mediator")].failures == 0
    assert (run_dir / "report.html").is_file() and (run_dir / "locust_stats.csv").is_file()
    assert f"failures of the harness (agents, ports, protocol): {holders_lost}" in result.stdout
    assert not agents_of_run(tmp_path), "agents outlived the run"


def test_bad_mediator_invitation_url_is_a_clear_error(tmp_path):
    result = akrida("run", results=tmp_path, MEDIATION_URL="http://127.0.0.1:8100/invite?code=abc")
    assert result.returncode == 2
    assert "MEDIATION_URL='http://127.0.0.1:8100/invite?code=abc'" in result.stderr
    assert "expected a DIDComm invitation URL with ?oob=" in result.stderr
    assert not any(tmp_path.iterdir()), "nothing should start on bad settings"


def test_unreachable_mediator_fails_fast_naming_it(tmp_path):
    started = time.monotonic()
    result = akrida("run", results=tmp_path, MEDIATION_URL=invitation_to("http://127.0.0.1:9"))
    assert result.returncode == 3, describe(result)
    assert time.monotonic() - started < 30
    assert "MEDIATION_URL cannot be reached at http://127.0.0.1:9 (Connection refused)" in result.stderr


def test_unreachable_issuer_fails_fast_naming_it(tmp_path):
    result = akrida("run", results=tmp_path, SCENARIO="liveness", ISSUER_URL="http://127.0.0.1:9")
    assert result.returncode == 3, describe(result)
    assert "ISSUER_URL=http://127.0.0.1:9 cannot be reached (connection refused)" in result.stderr


def test_wrong_admin_api_key_is_named(target, tmp_path):
    result = akrida("run", results=tmp_path, SCENARIO="liveness", ISSUER_URL=target.issuer_admin_url,
                    ISSUER_API_KEY="wrong-key-planted-1234")  # fmt: skip
    assert result.returncode == 3, describe(result)
    assert "check ISSUER_API_KEY" in result.stderr
    assert "wrong-key-planted-1234" not in result.stdout + result.stderr


def test_a_killed_mediator_is_the_targets_failure_and_the_run_ends_cleanly(tmp_path):
    """SIGKILL the embedded mediator mid-run: pings fail against the target, not the harness; the run
    ends on time with a complete bundle, and the rest of the target is stopped."""
    own_state = paths.STATE_DIR / "test-killed-mediator"
    killed: list[int] = []

    def kill_the_mediator_mid_run() -> None:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not killed:
            time.sleep(1)
            history = list(tmp_path.glob("*/locust_stats_history.csv"))
            if history and history[0].read_text().count("\n") > 8 and (own_state / "state.json").is_file():
                pid = json.loads((own_state / "state.json").read_text())["pids"]["mediator"]
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)

    killer = threading.Thread(target=kill_the_mediator_mid_run, daemon=True)
    killer.start()
    started = time.monotonic()
    result = akrida("run", results=tmp_path, SCENARIO="mediator_ping", USERS="3", SPAWN_RATE="3",
                    RUN_TIME="40s", WAIT_MIN="0.5", WAIT_MAX="1", AGENT_TIMEOUT="5", LOCAL_BASE_PORT="8700",
                    AKRIDA_LOCAL_STATE_DIR=str(own_state), timeout=240)  # fmt: skip
    elapsed = time.monotonic() - started
    killer.join()
    run_dir = only_run_dir(tmp_path)
    assert killed, "the mediator was never killed"
    assert result.returncode == 1, describe(result, run_dir)
    assert elapsed < 180, f"the run took {elapsed:.0f} s"
    pings = steps_by_key(run_dir)[("didcomm", "ping_mediator")]
    assert pings.count > pings.failures > 0, describe(result, run_dir)
    harness = [f for f in read_failures(run_dir) if f.request_type == "harness"]
    assert not harness, f"the mediator's death was blamed on the harness: {harness}"
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert (manifest["status"], manifest["exit_code"]) == ("complete", 1)
    assert not any(listening("127.0.0.1", port) for port in range(8700, 8710)), "the target outlived the run"


def test_messages_lost_with_a_killed_agent_are_not_blamed_on_the_target(target, tmp_path):
    """Kill the agent process of holders waiting for messages: those messages died with our agent,
    so the delivery count must not call them lost by the target."""
    killed: list[int] = []

    def kill_the_agent_mid_run() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not killed:
            time.sleep(1)
            pids = agents_of_run(tmp_path)
            history = list(tmp_path.glob("*/locust_stats_history.csv"))
            if pids and history and history[0].read_text().count("\n") > 8:
                os.kill(pids[0], signal.SIGKILL)
                killed.append(pids[0])

    killer = threading.Thread(target=kill_the_agent_mid_run, daemon=True)
    killer.start()
    result = akrida("run", results=tmp_path, SCENARIO="mediator_message", USERS="3", SPAWN_RATE="3",
                    RUN_TIME="30s", WAIT_MIN="0", WAIT_MAX="0.2", HOLDERS_PER_PROCESS="3")  # fmt: skip
    killer.join()
    run_dir = only_run_dir(tmp_path)
    assert killed, "no agent was found to kill"
    delivery = read_delivery(run_dir)
    assert delivery is not None and delivery.sent > 0
    assert delivery.lost == 0, f"{delivery} {describe(result, run_dir)}"
    assert steps_by_key(run_dir)[("didcomm", "basic_message")].failures == 0, describe(result, run_dir)


def test_sigterm_and_an_impatient_second_one_still_stop_the_target_and_finish_the_bundle(tmp_path):
    """`kill` of akrida (a CI job cancelled) must end the run as Ctrl-C does: the load stopped, the
    bundle finished and marked interrupted, and the embedded target it started stopped too."""
    own_state = paths.STATE_DIR / "test-sigterm-target"
    environment = {**os.environ, "RESULTS_DIR": str(tmp_path), "USERS": "2", "SPAWN_RATE": "2", "RUN_TIME": "5m",
                   "LOCAL_BASE_PORT": "8800", "AKRIDA_LOCAL_STATE_DIR": str(own_state)}  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "akrida.cli", "--env-file", "/dev/null", "run"],
        cwd=paths.ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            history = list(tmp_path.glob("*/locust_stats_history.csv"))
            if history and history[0].read_text().count("\n") > 4:
                break
            time.sleep(1)
        process.send_signal(signal.SIGTERM)
        time.sleep(1)
        process.send_signal(signal.SIGTERM)  # while it stops
        output, _ = process.communicate(timeout=120)
    finally:
        process.kill()
    run_dir = only_run_dir(tmp_path)
    assert process.returncode == 130, output[-3000:]
    assert "SIGTERM again: still stopping" in output
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert (manifest["status"], manifest["exit_code"]) == ("incomplete", 130)
    assert "INCOMPLETE" in (run_dir / "summary.md").read_text()
    assert not (own_state / "state.json").exists(), "the embedded target is still recorded as running"
    assert not any(listening("127.0.0.1", port) for port in range(8800, 8810)), "the target outlived the run"
    assert not agents_of_run(tmp_path), "agents outlived the run"


# --- faults of the embedded target and of the user, each on a target of its own ----------------------


POSTGRES_OFFSET = 5  # akrida.local.stack.POSTGRES: the embedded PostgreSQL listens on LOCAL_BASE_PORT + 5


@dataclass
class FaultRun:
    """A run of `akrida run` with a fault injected into it, and what was seen while it ran."""

    returncode: int | None
    output: str
    elapsed: float
    ended: float  # time.monotonic() when it ended
    seen: dict[tuple[int, float], psutil.Process]  # every process of the run and of its target
    labels: dict[tuple[int, float], str]  # `user name` of each, as seen

    def still_running(self) -> list[str]:
        left = []
        for process in self.seen.values():
            with contextlib.suppress(psutil.Error):
                if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                    left.append(f"{process.pid} {' '.join(process.cmdline())[:120]}")
        return left


def target_processes(own_state: Path, base_port: int) -> list[psutil.Process]:
    """The embedded target's processes: ACA-Py (from its state file), PostgreSQL (the process listening
    on its port, which runs as the postgres user apart from the run) and all of their children."""
    pids: set[int] = set()
    with contextlib.suppress(OSError, ValueError, KeyError):
        pids.update(json.loads((own_state / "state.json").read_text())["pids"].values())
    for connection in psutil.net_connections(kind="tcp"):
        if connection.status == psutil.CONN_LISTEN and connection.laddr.port == base_port + POSTGRES_OFFSET:
            pids.add(connection.pid)
    found = []
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            process = psutil.Process(pid)
            found += [process, *process.children(recursive=True)]
    return found


def postmaster(own_state: Path, base_port: int) -> psutil.Process | None:
    """The embedded target's PostgreSQL server process (the postmaster, not one of its children)."""
    listeners = [p for p in target_processes(own_state, base_port) if p.name() in ("postgres", "postmaster")]
    pids = {process.pid for process in listeners}
    return next((process for process in listeners if process.ppid() not in pids), None)


def history_rows(results: Path) -> int:
    history = list(results.glob("*/locust_stats_history.csv"))
    return history[0].read_text().count("\n") if history else 0


def ping_successes(results: Path) -> int:
    """Successful pings so far, from the stats Locust rewrites every few seconds."""
    with contextlib.suppress(OSError, KeyError, ValueError, csv.Error, AssertionError):
        ping = steps_by_key(only_run_dir(results)).get(("didcomm", "ping_mediator"))
        return ping.count - ping.failures if ping else 0
    return 0


def local_down(own_state: Path) -> None:
    """Stops the test's own embedded target, if an aborted test left one."""
    subprocess.run(
        [sys.executable, "-m", "akrida.cli", "--env-file", "/dev/null", "local", "down"], cwd=paths.ROOT,
        env={**os.environ, "AKRIDA_LOCAL_STATE_DIR": str(own_state)}, capture_output=True, timeout=120,
    )  # fmt: skip


def run_with_fault(
    tmp_path: Path, own_state: Path, base_port: int, fault, timeout: float, new_session: bool = False, **settings: str
) -> FaultRun:
    """`akrida run` against its own embedded target on `base_port`; `fault(process)` is called every
    second while it runs. Every process of the run and of its target is recorded as it appears."""
    results = tmp_path / "results"
    environment = {**os.environ, "RESULTS_DIR": str(results), "LOCAL_BASE_PORT": str(base_port),
                   "AKRIDA_LOCAL_STATE_DIR": str(own_state), **settings}  # fmt: skip
    output_path = tmp_path / "output.txt"
    seen: dict[tuple[int, float], psutil.Process] = {}
    labels: dict[tuple[int, float], str] = {}
    started = time.monotonic()
    with open(output_path, "w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "akrida.cli", "--env-file", "/dev/null", "run"], cwd=paths.ROOT, env=environment,
            stdout=output, stderr=subprocess.STDOUT, text=True, start_new_session=new_session,
            preexec_fn=like_a_terminal,
        )  # fmt: skip
        try:
            deadline = started + timeout
            while process.poll() is None and time.monotonic() < deadline:
                with contextlib.suppress(psutil.Error):
                    run = psutil.Process(process.pid)
                    for member in [*run.children(recursive=True), *target_processes(own_state, base_port)]:
                        with contextlib.suppress(psutil.Error):
                            key = (member.pid, member.create_time())
                            labels.setdefault(key, f"{member.username()} {member.name()}")
                            seen[key] = member
                fault(process)
                time.sleep(1)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(1.0, deadline - time.monotonic()))
        finally:
            ended = time.monotonic()
            if process.poll() is None:
                process.kill()
    return FaultRun(process.returncode, output_path.read_text(), ended - started, ended, seen, labels)


def like_a_terminal() -> None:
    """Ctrl-C reaches a command typed in a terminal; a test started without job control inherits SIGINT ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def assert_complete_bundle(run_dir: Path, status: str, exit_code: int) -> None:
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert (manifest["status"], manifest["exit_code"]) == (status, exit_code), manifest
    for name in ("summary.md", "summary.html", "report.html", "locust_stats.csv", "locust.log"):
        assert (run_dir / name).is_file(), f"{name} is missing from the bundle"
    assert list((run_dir / "agents").rglob("agent-*.log")), "no agent log in the bundle"
    assert (run_dir / "target" / "mediator.log").is_file(), "the target's logs are missing from the bundle"


def assert_nothing_left(run: FaultRun, own_state: Path, base_port: int, results: Path) -> None:
    assert not run.still_running(), f"left running after the run: {run.still_running()}"
    assert not (own_state / "state.json").exists(), "the embedded target is still recorded as running"
    busy = [port for port in range(base_port, base_port + 10) if listening("127.0.0.1", port)]
    assert not busy, f"the target's ports {busy} still listen"
    assert not agents_of_run(results), "agents outlived the run"


def test_a_mediator_stopped_for_20_s_fails_pings_as_the_targets_and_holders_recover(tmp_path):
    """SIGSTOP the embedded mediator for 20 s, then SIGCONT: the pings that fall in the pause fail as
    the target's (didcomm), none as the harness's; once it resumes, the same holders ping successfully."""
    own_state, base_port = paths.STATE_DIR / "test-stopped-mediator", 9200
    results = tmp_path / "results"
    events: dict[str, float] = {}
    mediator: list[int] = []

    def pause_the_mediator(_process) -> None:
        if "stopped" not in events:
            if history_rows(results) > 8 and (own_state / "state.json").is_file():
                mediator.append(json.loads((own_state / "state.json").read_text())["pids"]["mediator"])
                os.kill(mediator[0], signal.SIGSTOP)
                events["stopped"] = time.monotonic()
        elif "paused" not in events and time.monotonic() - events["stopped"] >= 6:
            events["paused"] = ping_successes(results)  # Locust's stats file lags a few seconds
        elif "resumed" not in events and time.monotonic() - events["stopped"] >= 20:
            os.kill(mediator[0], signal.SIGCONT)
            events["resumed"] = time.monotonic()
            events["successes_at_resume"] = ping_successes(results)

    local_down(own_state)
    try:
        run = run_with_fault(tmp_path, own_state, base_port, pause_the_mediator, timeout=240,
                             SCENARIO="mediator_ping", USERS="3", SPAWN_RATE="3", RUN_TIME="60s", WAIT_MIN="0.5",
                             WAIT_MAX="1", AGENT_TIMEOUT="5")  # fmt: skip
    finally:
        if mediator and "resumed" not in events:
            with contextlib.suppress(ProcessLookupError):
                os.kill(mediator[0], signal.SIGCONT)
    run_dir = only_run_dir(results)
    result = subprocess.CompletedProcess([], run.returncode, run.output, "")
    try:
        assert "resumed" in events, f"the mediator was never paused and resumed: {events}"
        assert run.elapsed < 150, f"the run took {run.elapsed:.0f} s for RUN_TIME=60s"
        assert run.returncode == 1, describe(result, run_dir)
        pings = steps_by_key(run_dir)[("didcomm", "ping_mediator")]
        assert pings.failures > 0, describe(result, run_dir)
        assert events["successes_at_resume"] == events["paused"], f"pings succeeded while paused: {events}"
        assert pings.count - pings.failures > events["successes_at_resume"] + 5, (
            f"holders did not recover after the mediator resumed: {pings} {events}"
        )
        harness = [f for f in read_failures(run_dir) if f.request_type == "harness"]
        assert not harness, f"the paused mediator was blamed on the harness: {harness}"
        assert "failures of the harness (agents, ports, protocol): 0" in run.output
        assert_complete_bundle(run_dir, "complete", 1)
        assert_nothing_left(run, own_state, base_port, results)
    finally:
        local_down(own_state)


def test_a_killed_postgresql_is_the_targets_failure_and_nothing_is_left_running(tmp_path):
    """SIGKILL the embedded target's PostgreSQL mid-run: the mediator can no longer read its wallets,
    so pings fail as the target's; the run ends on time with a complete bundle, and nothing of the
    target (ACA-Py, PostgreSQL's children) outlives it."""
    own_state, base_port = paths.STATE_DIR / "test-killed-postgres", 9250
    results = tmp_path / "results"
    killed: list[int] = []

    def kill_postgresql(_process) -> None:
        if not killed and history_rows(results) > 8:
            server = postmaster(own_state, base_port)
            if server is not None:
                server.kill()
                killed.append(server.pid)

    local_down(own_state)
    try:
        run = run_with_fault(tmp_path, own_state, base_port, kill_postgresql, timeout=240,
                             SCENARIO="mediator_ping", USERS="3", SPAWN_RATE="3", RUN_TIME="40s", WAIT_MIN="0.5",
                             WAIT_MAX="1", AGENT_TIMEOUT="5")  # fmt: skip
        run_dir = only_run_dir(results)
        result = subprocess.CompletedProcess([], run.returncode, run.output, "")
        assert killed, "PostgreSQL was never killed"
        assert run.elapsed < 150, f"the run took {run.elapsed:.0f} s for RUN_TIME=40s"
        assert run.returncode == 1, describe(result, run_dir)
        pings = steps_by_key(run_dir)[("didcomm", "ping_mediator")]
        assert pings.count > pings.failures > 0, describe(result, run_dir)
        harness = [f for f in read_failures(run_dir) if f.request_type == "harness"]
        assert not harness, f"the database's death was blamed on the harness: {harness}"
        assert_complete_bundle(run_dir, "complete", 1)
        postgres = [label for label in run.labels.values() if label.startswith("postgres ")]
        assert len(postgres) > 2, f"PostgreSQL's processes were not seen: {run.labels}"
        assert_nothing_left(run, own_state, base_port, results)
    finally:
        local_down(own_state)


def test_one_ctrl_c_ends_the_run_with_130_an_incomplete_bundle_and_the_target_stopped(tmp_path):
    """One Ctrl-C in the terminal (SIGINT to the whole foreground process group: akrida and Locust):
    exit 130, the bundle written and marked incomplete, the embedded target stopped, nothing left."""
    own_state, base_port = paths.STATE_DIR / "test-sigint-target", 9300
    results = tmp_path / "results"
    interrupted: list[float] = []

    def ctrl_c(process) -> None:
        if not interrupted and history_rows(results) > 4:
            os.killpg(process.pid, signal.SIGINT)  # akrida leads its own group, as a job in a terminal does
            interrupted.append(time.monotonic())

    local_down(own_state)
    try:
        run = run_with_fault(tmp_path, own_state, base_port, ctrl_c, timeout=240, new_session=True,
                             SCENARIO="mediator_ping", USERS="3", SPAWN_RATE="3", RUN_TIME="5m")  # fmt: skip
        run_dir = only_run_dir(results)
        assert interrupted, "the run was never interrupted"
        assert run.returncode == 130, f"exit {run.returncode}\n{run.output[-3000:]}"
        assert run.ended - interrupted[0] < 90, f"stopping took {run.ended - interrupted[0]:.0f} s"
        assert "again: still stopping" not in run.output, "one Ctrl-C was taken for two"
        assert_complete_bundle(run_dir, "incomplete", 130)
        assert "INCOMPLETE" in (run_dir / "summary.md").read_text()
        assert_nothing_left(run, own_state, base_port, results)
    finally:
        local_down(own_state)
