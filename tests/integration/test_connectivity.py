"""Holders' connections to the mediator, for real: dropped and reconnected (drop_connection, STORM_AT),
taken offline and back (go_offline, go_online, mediator_churn), and a mediator restarted mid-run.

Each test uses an embedded target of its own (ports 9500 and 9550, state folders of their own), so
that restarting or storming it disturbs no other test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from akrida import paths
from akrida.agent import AgentConfig, CommandFailed, HostPool, StartOptions
from akrida.controllers import AcapyAdmin
from akrida.report.connectivity import read_storm
from akrida.report.delivery import read_delivery_by_strategy
from akrida.report.stats import read_failures
from akrida.report.timeline import read_timeline
from akrida.sockets import listening
from tests.integration.helpers import akrida, describe, only_run_dir, steps_by_key
from tests.integration.test_faults import agents_of_run

pytestmark = pytest.mark.integration

OWN_STATE, BASE_PORT = paths.STATE_DIR / "test-connectivity", 9500
RESTART_STATE, RESTART_PORT = paths.STATE_DIR / "test-restarted-mediator", 9550


def local(state: Path, *arguments: str, **environment: str) -> subprocess.CompletedProcess:
    """`akrida local ARGUMENTS` on the test's own embedded target."""
    return subprocess.run(
        [sys.executable, "-m", "akrida.cli", "--env-file", "/dev/null", "local", *arguments], cwd=paths.ROOT,
        env={**os.environ, "AKRIDA_LOCAL_STATE_DIR": str(state), **environment}, capture_output=True, text=True,
        timeout=240,
    )  # fmt: skip


@pytest.fixture(scope="module")
def own_target() -> Iterator[dict]:
    """An embedded target on 9500 for this module alone; its state.json as a dict."""
    local(OWN_STATE, "down")
    started = local(OWN_STATE, "up", LOCAL_BASE_PORT=str(BASE_PORT))
    assert started.returncode == 0, started.stdout + started.stderr
    try:
        yield json.loads((OWN_STATE / "state.json").read_text())
    finally:
        local(OWN_STATE, "down")


def target_settings(state: dict) -> dict[str, str]:
    return {"MEDIATION_URL": state["mediation_url"], "ISSUER_URL": state["issuer_admin_url"],
            "ISSUER_API_KEY": state["admin_api_key"]}  # fmt: skip


def test_a_dropped_holder_reconnects_by_itself_and_an_offline_one_gets_its_messages_back_online(own_target, tmp_path):
    pool = HostPool(AgentConfig(timeout=20, log_dir=tmp_path), 2)
    issuer = AcapyAdmin(own_target["issuer_admin_url"], {"x-api-key": own_target["admin_api_key"]})
    try:
        holder = pool.open()
        holder.start(StartOptions(mediator_invitation_url=own_target["mediation_url"]))
        invitation = issuer.create_invitation()
        connection = holder.receive_invitation(invitation.url).connection_id
        issuer_side = issuer.wait_for_connection(invitation.invitation_id, 20)

        dropped = holder.drop_connection(timeout_ms=10_000)
        assert dropped.closed_sockets == 1 and dropped.reconnect_ms is not None and dropped.reconnect_ms < 5000
        # The new socket is the one the mediator delivers on: a message arrives with no ping to open one.
        issuer.send_message(issuer_side, "after the drop")
        assert holder.receive_message(connection, 10_000).content == "after the drop"

        assert holder.go_offline().closed_sockets == 1
        with pytest.raises(CommandFailed, match="drop_connection: the holder is offline") as refused:
            holder.drop_connection()
        assert refused.value.kind == "request"
        issuer.send_message(issuer_side, "while offline")
        with pytest.raises(CommandFailed) as waited:  # offline for real: nothing comes in
            holder.receive_message(connection, 3000)
        assert waited.value.kind == "timeout"
        assert holder.go_online().ms >= 0
        assert holder.receive_message(connection, 10_000).content == "while offline"
        with pytest.raises(CommandFailed, match="already online"):
            holder.go_online()
    finally:
        pool.close_all()


@pytest.mark.parametrize("scenario", ["mediator_hold", "mediator_ping"])
def test_a_reconnect_storm_drops_every_holder_at_once_and_all_reconnect(own_target, tmp_path, scenario):
    began = time.monotonic()
    result = akrida("run", results=tmp_path, SCENARIO=scenario, USERS="5", SPAWN_RATE="5", RUN_TIME="40s",
                    STORM_AT="25s", HOLD_PING_INTERVAL="2s", WAIT_MIN="0.5", WAIT_MAX="1", AGENT_TIMEOUT="10",
                    HOLDERS_PER_PROCESS="5", **target_settings(own_target))  # fmt: skip
    run_dir = only_run_dir(tmp_path)
    assert time.monotonic() - began < 90
    storm = read_storm(run_dir)
    assert storm is not None, describe(result, run_dir)
    assert storm.holders == 5 and len(storm.reconnect_ms) == 5, storm
    assert storm.not_reconnected == 0 and storm.harness_errors == 0, storm
    assert storm.time_to_share(1.0) is not None and storm.time_to_share(1.0) < 5000, storm
    reconnects = steps_by_key(run_dir)[("didcomm", "reconnect")]
    assert (reconnects.count, reconnects.failures) == (5, 0)
    summary = (run_dir / "summary.md").read_text()
    assert "reconnect storm at" in summary and "connected again: 50% in" in summary, summary
    assert "100% in" in summary and "failures of the system under test during the storm:" in summary
    assert not [f for f in read_failures(run_dir) if f.request_type == "harness"], describe(result, run_dir)
    print(f"{scenario} storm: reconnected in ms {sorted(storm.reconnect_ms)}; failures during {storm.failures_during}")


def test_mediator_churn_counts_every_message_sent_while_holders_were_offline(own_target, tmp_path):
    began = time.monotonic()
    result = akrida("run", results=tmp_path, SCENARIO="mediator_churn", USERS="3", SPAWN_RATE="3", RUN_TIME="40s",
                    CHURN_ONLINE="3s", CHURN_OFFLINE="4s", CHURN_MESSAGES="2", AGENT_TIMEOUT="6",
                    HOLDERS_PER_PROCESS="3", **target_settings(own_target))  # fmt: skip
    run_dir = only_run_dir(tmp_path)
    assert time.monotonic() - began < 90
    steps = steps_by_key(run_dir)
    online, pickups = steps[("didcomm", "go_online")], steps[("didcomm", "pickup")]
    assert steps[("didcomm", "go_offline")].failures == 0 and online.failures == 0, describe(result, run_dir)
    assert online.count >= 3 and pickups.count >= 3, describe(result, run_dir)
    by_strategy = read_delivery_by_strategy(run_dir)
    assert set(by_strategy) == {"implicit"}, by_strategy
    counts = by_strategy["implicit"]
    assert counts.sent == steps[("admin", "send_message")].count - steps[("admin", "send_message")].failures
    assert counts.sent == counts.delivered + counts.stranded + counts.late + counts.lost, counts
    # Every reconnection brought messages in (ACA-Py 1.7 hands over one queued message per message the
    # holder sends: a spell's second message comes, stranded, when the holder asks again).
    assert counts.delivered >= 1 and counts.delivered + counts.stranded >= pickups.count - 3, (counts, pickups)
    assert counts.duplicated == 0, counts
    # A pickup that missed messages failed as the target's; the harness had nothing to do with it.
    assert pickups.failures == sum(
        f.occurrences for f in read_failures(run_dir) if f.name == "pickup" and f.request_type == "didcomm"
    )
    assert not [f for f in read_failures(run_dir) if f.request_type == "harness"], describe(result, run_dir)
    summary = (run_dir / "summary.md").read_text()
    assert f"pickup implicit: messages sent {counts.sent}, delivered in time {counts.delivered}" in summary, summary
    print(f"churn: {counts.line()}; pickup p50 {pickups.median_ms:.0f} ms p95 {pickups.p95_ms:.0f} ms, "
          f"{pickups.failures}/{pickups.count} pickups incomplete")  # fmt: skip


def test_a_restarted_mediator_is_an_outage_of_the_target_and_holders_reconnect_by_themselves(tmp_path):
    """Restart the embedded mediator mid-run (down 15 s): holders of mediator_message, which never ping,
    get messages again only once Credo reconnected their WebSocket by itself; the failures meanwhile are
    the target's, the summary shows the outage and its recovery, and nothing is left running."""
    results = tmp_path / "results"
    events: dict[str, float] = {}

    def restart_mid_run() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            time.sleep(1)
            history = list(results.glob("*/locust_stats_history.csv"))
            if history and history[0].read_text().count("\n") > 12 and (RESTART_STATE / "state.json").is_file():
                events["stopping"] = time.time()
                subprocess.run(
                    [sys.executable, "-m", "akrida.local.stack", "restart-mediator", "15"], cwd=paths.ROOT,
                    env={**os.environ, "AKRIDA_LOCAL_STATE_DIR": str(RESTART_STATE)}, check=True, timeout=90,
                    capture_output=True,
                )  # fmt: skip
                events["back"] = time.time()
                return

    local(RESTART_STATE, "down")
    restarter = threading.Thread(target=restart_mid_run, daemon=True)
    restarter.start()
    began = time.monotonic()
    try:
        result = akrida("run", results=results, SCENARIO="mediator_message", USERS="3", SPAWN_RATE="3",
                        RUN_TIME="60s", WAIT_MIN="0.5", WAIT_MAX="1", AGENT_TIMEOUT="8", HOLDERS_PER_PROCESS="3",
                        LOCAL_BASE_PORT=str(RESTART_PORT), AKRIDA_LOCAL_STATE_DIR=str(RESTART_STATE),
                        timeout=200)  # fmt: skip
    finally:
        restarter.join(timeout=100)
        local(RESTART_STATE, "down")
    elapsed = time.monotonic() - began
    run_dir = only_run_dir(results)
    assert "back" in events, f"the mediator was not restarted: {events}"
    assert result.returncode == 1, describe(result, run_dir)  # the outage failed steps: the target's
    assert elapsed < 150, f"the run took {elapsed:.0f} s"
    messages = steps_by_key(run_dir)[("didcomm", "basic_message")]
    assert messages.failures > 0, describe(result, run_dir)
    assert not [f for f in read_failures(run_dir) if f.request_type == "harness"], describe(result, run_dir)
    # Holders reconnected by themselves, soon: messages came through again within seconds of the
    # mediator being back (Credo's own back-off, uncapped, would wait as long again as the outage).
    timeline = read_timeline(run_dir)
    assert timeline is not None
    successes = sorted(
        second for (second, kind, name), times in timeline.times.items()
        if (kind, name) == ("didcomm", "basic_message") and sum(times.values()) > timeline.failures[second, kind, name]
    )  # fmt: skip
    after = [second for second in successes if second >= events["back"]]
    assert after, f"no message got through after the mediator came back at {events['back']:.0f}: {successes}"
    assert after[0] - events["back"] < 10, f"messages flowed again only {after[0] - events['back']:.0f}s after"
    summary = (run_dir / "summary.md").read_text()
    assert "target outage: failing from" in summary and "recovered" in summary, summary
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert not agents_of_run(results), "agents outlived the run"
    assert not any(listening("127.0.0.1", port) for port in range(RESTART_PORT, RESTART_PORT + 10))
    outage_line = next(line for line in summary.splitlines() if "target outage" in line)
    print(f"restart: down {events['back'] - events['stopping']:.1f}s; first message after "
          f"{after[0] - events['back']:.0f}s; {outage_line}")  # fmt: skip
