"""Faults and bad input: the harness must say clearly what went wrong and keep what it has."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
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
