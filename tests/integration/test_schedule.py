"""SCHEDULE on a clock against the closed loop, and the agent's timing stamps, with a real ACA-Py
mediator and real Credo holders: the mediator is paused (SIGSTOP) and resumed (SIGCONT)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import gevent
import pytest

from akrida.agent import AgentConfig, HolderClient, HostPool, StartOptions
from akrida.agent.messages import Forwarded, Timing
from akrida.local.stack import TargetInfo
from akrida.report.loop_delay import read_loop_samples
from akrida.report.schedule import read_schedule
from akrida.scenarios.credential_content import credential
from tests.integration.conftest import TEST_BASE_PORT
from tests.integration.helpers import akrida, describe, only_run_dir, run_dirs, steps_by_key

pytestmark = pytest.mark.integration

# Under ACA-Py's 10 s deadline for opening a wallet session (acapy_agent/askar/profile.py): a stop that
# long makes the mediator drop the message it was opening a session for, a failure this test is not about.
PAUSE_S = 8.0
SCHEDULES = ("fixed", "closed")
SENDER_PORT = TEST_BASE_PORT + 70  # the forward sender's inbound port, past the target's and other files'


@contextlib.contextmanager
def paused(pid: int):
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def pause_mediator_mid_run(target: TargetInfo, folders: list[Path], events: dict[str, float]) -> None:
    """Once every run's holders have pinged for a while, stops the mediator for PAUSE_S."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        time.sleep(0.5)
        histories = [next(folder.glob("*/locust_stats_history.csv"), None) for folder in folders]
        # Pinging, every holder started, in every run.
        if all(history and history.read_text().count("ping_mediator") >= 8 for history in histories):
            with paused(target.pids["mediator"]):
                events["paused"] = time.time()
                time.sleep(PAUSE_S)
            events["resumed"] = time.time()
            return


@dataclass
class PausedRun:
    result: subprocess.CompletedProcess
    run_dir: Path | None
    events: dict[str, float]


@pytest.fixture(scope="module")
def paused_runs(target, tmp_path_factory) -> dict[str, PausedRun]:
    """One run on a clock and one in the closed loop, side by side, through the same 10 s pause of the
    mediator: 2 holders each, pinging every 0.3 s for 70 s."""
    folders = {schedule: tmp_path_factory.mktemp(schedule) for schedule in SCHEDULES}
    events: dict[str, float] = {}
    pauser = threading.Thread(target=pause_mediator_mid_run, args=(target, list(folders.values()), events), daemon=True)
    pauser.start()

    def run(schedule: str) -> subprocess.CompletedProcess:
        return akrida("run", results=folders[schedule], timeout=240, SCENARIO="mediator_ping", USERS="2",
                      SPAWN_RATE="2", RUN_TIME="70s", WAIT_MIN="0.3", WAIT_MAX="0.3", AGENT_TIMEOUT="30",
                      SCHEDULE=schedule, **target.as_environment())  # fmt: skip

    try:
        with ThreadPoolExecutor(len(SCHEDULES)) as pool:
            results = dict(zip(SCHEDULES, pool.map(run, SCHEDULES), strict=True))
    finally:
        pauser.join(timeout=PAUSE_S + 5)
        with contextlib.suppress(ProcessLookupError):
            os.kill(target.pids["mediator"], signal.SIGCONT)  # never leave the shared target stopped
    return {
        schedule: PausedRun(result, only_run_dir(folders[schedule]) if run_dirs(folders[schedule]) else None, events)
        for schedule, result in results.items()
    }


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_a_paused_mediator_shows_on_a_clock_and_hides_in_the_closed_loop(paused_runs, schedule):
    """On a clock, every ping that fell due in the pause goes out late and is timed from when it was due:
    the p99 is about the pause, and the late sends are counted. In the closed loop each holder sends one
    ping that waits out the pause and then simply asks less: one slow ping per holder among a hundred and
    more, so the p99 hides the stall (only the max shows it) and no send is late. The closed loop hides it
    only with enough pings per holder: over 100 (0.3 s apart, plus the ping's own time, over the run)
    keeps one slow ping under 1 %."""
    result, run_dir = paused_runs[schedule].result, paused_runs[schedule].run_dir
    assert "resumed" in paused_runs[schedule].events, f"the mediator was never paused: {describe(result, run_dir)}"
    assert run_dir is not None and result.returncode == 0, describe(result, run_dir)
    ping = steps_by_key(run_dir)[("didcomm", "ping_mediator")]
    assert ping.failures == 0, describe(result, run_dir)
    record = read_schedule(run_dir)
    assert record is not None, "no schedule record was written"
    summary = (run_dir / "summary.md").read_text()
    p99_ms = ping.latency("99%")
    if schedule == "fixed":
        counts = record.counts
        # About 8 s / 0.3 s = 26 pings per holder fell due in the pause: all went out late, behind.
        assert counts.late >= 2 * 20 and counts.late_behind >= 2 * 20, counts
        assert counts.worst_late_ms >= 0.9 * PAUSE_S * 1000, counts
        assert 0.8 * PAUSE_S * 1000 <= p99_ms <= 2.5 * PAUSE_S * 1000, ping
        assert f"fixed schedule: {counts.due} requests came due, {counts.late} went out late" in summary
    else:
        assert ping.count > 2 * 100, ping  # enough pings per holder that one stalled each stays past the p99
        assert record.counts.due == 0 and record.counts.late == 0, record.counts
        assert p99_ms < 0.5 * PAUSE_S * 1000, ping  # one stalled ping per holder, among a hundred and more
        assert ping.latency("max") >= 0.9 * PAUSE_S * 1000, ping  # the stall happened: it shows only at the max
        assert "closed loop (SCHEDULE=closed)" in summary and "went out late" not in summary
    # Either way the summary splits the pings' time into the target's round trip and the generator's queueing.
    assert record.split.target["ping_mediator"], record.split
    assert "| ping_mediator |" in summary.split("## How the latencies were timed")[1]
    assert read_loop_samples(run_dir), "no event-loop delay was sampled"


def test_stamps_tell_the_targets_round_trip_from_the_generators_queueing(target):
    """A stopped agent process delays the ping on our side: queueing, not the target's. A stopped mediator
    delays it on the target's side: the target's round trip. The agent's event loop shows its own stop."""
    pool = HostPool(AgentConfig(timeout=30), holders_per_process=1)
    holder = pool.open()
    try:
        holder.start(StartOptions(mediator_invitation_url=target.mediation_url))
        holder.ping_mediator()
        holder.event_loop_delay()  # a new period starts here

        agent_pid = holder.host.pid
        assert agent_pid is not None
        driver_ms, timing = timed_ping(holder, pause_pid=agent_pid)
        assert timing is not None and timing.target_ms is not None, timing
        assert driver_ms - timing.target_ms >= 3500, (driver_ms, timing)  # the 4 s stop was ours
        assert timing.target_ms < 2000, (driver_ms, timing)
        assert holder.event_loop_delay().max_ms >= 3000  # the loop ran nothing while the process was stopped

        driver_ms, timing = timed_ping(holder, pause_pid=target.pids["mediator"])
        assert timing is not None and timing.target_ms is not None, timing
        assert timing.target_ms >= 3500, (driver_ms, timing)  # the 4 s stop was the target's
        assert driver_ms - timing.target_ms < 2000, (driver_ms, timing)
        assert timing.agent_ms >= timing.target_ms
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(target.pids["mediator"], signal.SIGCONT)
        pool.kill_all()


def test_a_start_and_a_connection_are_stamped_with_the_targets_time(target, issuer):
    """A start waits on the mediator twice (connection, grant), a connection once (the issuer's response
    comes through the mediator): a mediator stopped meanwhile is the target's time, the holder's own
    work is not."""
    pool = HostPool(AgentConfig(timeout=30), holders_per_process=1)
    holder = pool.open()
    try:
        holder.event_loop_delay()  # the agent process is up: the stop falls on the start alone
        options = StartOptions(mediator_invitation_url=target.mediation_url)
        driver_ms, timing = timed(holder, target.pids["mediator"], HolderClient.start, options)
        assert timing is not None and timing.target_ms is not None, timing
        assert timing.target_ms >= 0.9 * STOP_S * 1000, (driver_ms, timing)
        assert timing.target_ms < timing.agent_ms <= driver_ms, (driver_ms, timing)  # creating the wallet was ours

        invitation = issuer.create_invitation()
        driver_ms, timing = timed(holder, target.pids["mediator"], HolderClient.receive_invitation, invitation.url)
        assert timing is not None and timing.target_ms is not None, timing
        assert timing.target_ms >= 0.9 * STOP_S * 1000, (driver_ms, timing)
        assert timing.target_ms <= timing.agent_ms <= driver_ms, (driver_ms, timing)

        agent_pid = holder.host.pid
        assert agent_pid is not None
        invitation = issuer.create_invitation()
        driver_ms, timing = timed(holder, agent_pid, HolderClient.receive_invitation, invitation.url)
        assert timing is not None and timing.target_ms is not None, timing
        assert driver_ms - timing.target_ms >= 0.9 * STOP_S * 1000, (driver_ms, timing)  # the stop was ours
        assert timing.target_ms < 0.5 * STOP_S * 1000, (driver_ms, timing)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(target.pids["mediator"], signal.SIGCONT)
        pool.kill_all()


def test_a_credential_is_stamped_with_the_issuers_time(target, issuer):
    """The offer is in before the command: what the holder then waits for is the issuer answering its
    request, so an issuer stopped meanwhile is the target's time."""
    pool = HostPool(AgentConfig(timeout=30), holders_per_process=1)
    holder = pool.open()
    try:
        holder.start(StartOptions(mediator_invitation_url=target.mediation_url))
        invitation = issuer.create_invitation()
        connected = holder.receive_invitation(invitation.url)
        connection = issuer.wait_for_connection(invitation.invitation_id, timeout=30)
        offer = credential(issuer.create_did_key(), holder.create_did_key().did, 1)
        issuer.offer_ld_credential(connection, offer)
        time.sleep(2)  # the offer reaches the holder, which keeps it for the command
        driver_ms, timing = timed(
            holder, target.pids["issuer"], HolderClient.receive_credential, connected.connection_id
        )
        assert timing is not None and timing.target_ms is not None, timing
        assert timing.target_ms >= 0.9 * STOP_S * 1000, (driver_ms, timing)
        assert timing.target_ms <= timing.agent_ms <= driver_ms, (driver_ms, timing)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(target.pids["issuer"], signal.SIGCONT)
        pool.kill_all()


def test_a_forward_is_stamped_with_the_mediators_time(target):
    """The forward sender's posts wait on the mediator: a mediator stopped meanwhile is the target's time,
    from the first post to the last message's arrival at the holder (two processes, one host clock). A
    sender process stopped before it reads the command is the generator's: the posts leave late."""
    pool = HostPool(AgentConfig(timeout=30), holders_per_process=1)
    port = SENDER_PORT
    try:
        sender = pool.open()
        sender.start(StartOptions(label="forward-sender", inbound_port=port, endpoint=f"http://127.0.0.1:{port}"))
        holder = pool.open()
        holder.start(StartOptions(mediator_invitation_url=target.mediation_url))
        invitation = sender.create_invitation()
        connection = holder.receive_invitation(invitation.invitation_url).connection_id

        def forward_one(pause_pid: int) -> tuple[float, Timing | None, float]:
            """The driver's time and stamps for one forward, and the message's arrival less its post."""
            driver_ms, timing = timed(sender, pause_pid, send_one, invitation.out_of_band_id)
            posted_at_ms = sent[-1].posted_at_ms
            message = holder.receive_message(connection, timeout_ms=20_000)
            return driver_ms, timing, message.received_at_ms - posted_at_ms

        sent: list[Forwarded] = []

        def send_one(client: HolderClient, out_of_band_id: str) -> None:
            sent.append(client.forward_messages(["stamped"], out_of_band_id=out_of_band_id, timeout_ms=20_000))

        driver_ms, timing, delivered_ms = forward_one(target.pids["mediator"])
        assert timing is not None and timing.target_ms is not None, timing
        assert timing.target_ms >= 0.9 * STOP_S * 1000, (driver_ms, timing)  # the post waited on the mediator
        assert timing.target_ms <= timing.agent_ms <= driver_ms, (driver_ms, timing)
        assert 0.9 * STOP_S * 1000 <= delivered_ms <= driver_ms + 5000, (delivered_ms, driver_ms)

        sender_pid = sender.host.pid
        assert sender_pid is not None
        driver_ms, timing, delivered_ms = forward_one(sender_pid)
        assert timing is not None and timing.target_ms is not None, timing
        assert driver_ms - timing.target_ms >= 0.9 * STOP_S * 1000, (driver_ms, timing)  # the stop was ours
        assert timing.target_ms < 0.5 * STOP_S * 1000, (driver_ms, timing)
        assert 0 < delivered_ms < 0.5 * STOP_S * 1000, delivered_ms  # posted after the stop: the clocks agree
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(target.pids["mediator"], signal.SIGCONT)
        pool.kill_all()


STOP_S = 3.0


def timed(
    holder: HolderClient, pause_pid: int, command: Callable[..., object], *arguments: object
) -> tuple[float, Timing | None]:
    """Runs `holder`'s command with `pause_pid` stopped for its first STOP_S; the driver's time and the stamps."""
    with paused(pause_pid):
        began = time.perf_counter()
        running = gevent.spawn(command, holder, *arguments)
        gevent.sleep(STOP_S)
    running.get(timeout=60)
    return (time.perf_counter() - began) * 1000, holder.timing


def timed_ping(holder: HolderClient, pause_pid: int) -> tuple[float, object]:
    """Stops `pause_pid` for 4 s with a ping sent meanwhile; the driver's time for it, and its stamps."""
    with paused(pause_pid):
        began = time.perf_counter()
        ping = gevent.spawn(holder.ping_mediator)
        gevent.sleep(4)
    ping.get(timeout=60)
    return (time.perf_counter() - began) * 1000, holder.timing
