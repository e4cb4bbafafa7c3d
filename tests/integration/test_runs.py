"""Short headless Locust runs through `akrida run`, as a user starts them, against the real target."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from akrida import paths
from akrida.controllers import AcapyAdmin
from akrida.invitation import decode_invitation
from akrida.report.arrivals import read_arrivals
from akrida.report.bundle import rebuild
from akrida.report.delivery import read_delivery
from akrida.report.health import judge, read_health
from akrida.report.schedule import read_schedule
from akrida.report.stats import read_failures
from akrida.report.windows import read_user_counts
from akrida.sockets import listening
from tests.integration.helpers import akrida, describe, only_run_dir, steps_by_key

pytestmark = pytest.mark.integration

LOCUST_FILES = ("locust_stats.csv", "locust_failures.csv", "locust_stats_history.csv", "report.html")

# Every step each scenario must report, as (request type, name).
EXPECTED_STEPS = {
    "mediator_ping": {("didcomm", "startup"), ("didcomm", "ping_mediator")},
    "mediator_hold": {("didcomm", "startup"), ("didcomm", "ping_mediator")},
    "mediator_message": {
        ("didcomm", "startup"),
        ("admin", "create_invitation"),
        ("didcomm", "receive_invitation"),
        ("admin", "issuer_connection"),
        ("didcomm", "basic_message"),
    },
    "connection": {("didcomm", "startup"), ("admin", "create_invitation"), ("didcomm", "receive_invitation")},
    "liveness": {("admin", "liveness")},
    "issue": {("didcomm", "startup"), ("didcomm", "receive_invitation"), ("didcomm", "create_did_key"),
              ("admin", "issuer_did"), ("didcomm", "receive_credential")},
    "present": {("didcomm", "startup"), ("didcomm", "receive_credential"), ("didcomm", "present_proof")},
    "mix": {("didcomm", "receive_credential"), ("didcomm", "present_proof")},
}  # fmt: skip

# The steps whose time the agents' stamps split into the target's and the generator's queueing.
STAMPED_STEPS = {
    "mediator_ping": {"startup", "ping_mediator"},
    "mediator_hold": {"startup", "ping_mediator"},
    "mediator_message": {"startup", "receive_invitation"},
    "connection": {"startup", "receive_invitation"},
    "liveness": set(),
    "issue": {"startup", "receive_invitation", "receive_credential"},
    "present": {"startup", "receive_credential", "present_proof"},
    "mix": {"receive_credential", "present_proof"},
}


# Dense: five holders packed into agent processes of three (so two processes); and one per process.
MODES = {"dense": "3", "process-per-holder": "1"}


@pytest.fixture(scope="module")
def scenario_runs(target, tmp_path_factory) -> Callable[[str], dict[str, tuple[subprocess.CompletedProcess, Path]]]:
    """Each scenario's runs in both modes, made side by side on first use (both against the session's
    target) and kept for the other mode's test."""
    made: dict[str, dict[str, tuple[subprocess.CompletedProcess, Path]]] = {}

    def runs_of(scenario: str) -> dict[str, tuple[subprocess.CompletedProcess, Path]]:
        if scenario not in made:
            folders = {mode: tmp_path_factory.mktemp(f"{scenario}-{mode}") for mode in MODES}

            def run(mode: str) -> subprocess.CompletedProcess:
                return akrida("run", results=folders[mode], SCENARIO=scenario, USERS="5", SPAWN_RATE="5",
                              RUN_TIME="20s", WAIT_MIN="0.5", WAIT_MAX="1", CONNECTIONS_PER_USER="2",
                              HOLDERS_PER_PROCESS=MODES[mode], ISSUE_WEIGHT="1", PRESENT_WEIGHT="1")  # fmt: skip

            with ThreadPoolExecutor(len(MODES)) as pool:
                results = dict(zip(MODES, pool.map(run, MODES), strict=True))
            made[scenario] = {mode: (results[mode], folders[mode]) for mode in MODES}
        return made[scenario]

    return runs_of


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("scenario", sorted(EXPECTED_STEPS))
def test_scenario_runs_clean(scenario, mode, scenario_runs):
    result, results = scenario_runs(scenario)[mode]
    run_dir = only_run_dir(results)
    assert result.returncode == 0, describe(result, run_dir)
    assert "embedded target: already running" in result.stdout  # the session's target was used
    for name in LOCUST_FILES:
        assert (run_dir / name).is_file(), f"{name} missing"
    steps = steps_by_key(run_dir)
    assert EXPECTED_STEPS[scenario] <= set(steps), f"missing steps: {EXPECTED_STEPS[scenario] - set(steps)}"
    assert all(step.failures == 0 for step in steps.values()), describe(result, run_dir)
    assert not any(step.harness for step in steps.values())
    assert "failures of the system under test: 0" in result.stdout
    record = read_schedule(run_dir)
    stamped = set(record.split.target) if record is not None else set()
    assert STAMPED_STEPS[scenario] <= stamped, f"not split by the agents' stamps: {STAMPED_STEPS[scenario] - stamped}"
    if scenario == "mediator_message":
        delivery = read_delivery(run_dir)
        assert delivery.sent > 0 and delivery.lost == 0 and delivery.delivered + delivery.late == delivery.sent


def test_mediator_hold_keeps_every_holder_connected_and_pinging_on_its_interval(target, tmp_path):
    result = akrida("run", results=tmp_path, SCENARIO="mediator_hold", USERS="6", SPAWN_RATE="6",
                    RUN_TIME="24s", HOLD_PING_INTERVAL="4s")  # fmt: skip
    run_dir = only_run_dir(tmp_path)
    assert result.returncode == 0, describe(result, run_dir)
    steps = steps_by_key(run_dir)
    assert steps[("didcomm", "startup")].count == 6 and steps[("didcomm", "startup")].failures == 0
    # One ping at once, then one every 3-5 s for about 20 s: 4 to 8 per holder, not WAIT_MIN's 1-2 s pace.
    pings = steps[("didcomm", "ping_mediator")]
    assert 6 * 4 <= pings.count <= 6 * 8 and pings.failures == 0, pings
    # Every holder stayed connected: the generator's samples saw all six live at once.
    assert max(sample.live_holders for sample in read_health(run_dir)) == 6


def test_stages_ramp_up_hold_and_end_the_run(target, tmp_path):
    started = time.monotonic()
    result = akrida("run", results=tmp_path, SCENARIO="mediator_ping", STAGES="4s:4,10s:4,4s:0")
    elapsed = time.monotonic() - started
    run_dir = only_run_dir(tmp_path)
    assert result.returncode == 0, describe(result, run_dir)
    assert "stages: 4 holders over 4s, 4 holders over 10s, 0 holders over 4s" in result.stdout
    assert steps_by_key(run_dir)[("didcomm", "startup")].count == 4  # the plateau kept its holders
    assert max(sample.live_holders for sample in read_health(run_dir)) == 4
    assert elapsed < 90, f"the staged run took {elapsed:.0f} s for 18 s of stages"
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert (manifest["users"], manifest["run_time_s"]) == (4, 18)


def test_arrival_rate_starts_holders_by_the_clock_and_the_summary_keeps_the_ramp_apart(target, tmp_path):
    """The open model for real: one holder a second up to 4, then the plateau is the steady-state window."""
    result = akrida("run", results=tmp_path, SCENARIO="mediator_ping", ARRIVAL_RATE="1", USERS="4",
                    RUN_TIME="30s", WAIT_MIN="0.5", WAIT_MAX="1")  # fmt: skip
    run_dir = only_run_dir(tmp_path)
    assert result.returncode == 0, describe(result, run_dir)
    assert "4 holders arriving at 1/s (open model), 30s" in result.stdout
    arrivals = read_arrivals(run_dir)
    assert arrivals is not None and (arrivals.due, arrivals.started, arrivals.late, arrivals.missed) == (4, 4, 0, 0)
    # Locust's own record of the count: it rose one a second, it did not jump to 4.
    counts = read_user_counts(run_dir)
    first = next(stamp for stamp, users in counts if users >= 1)
    full = next(stamp for stamp, users in counts if users == 4)
    assert 2 <= full - first <= 5, counts
    findings = rebuild(run_dir)
    (window,) = findings.windows
    assert window.window.users == 4 and window.window.seconds >= 20
    assert window.window.first >= full  # the ramp is not in it
    assert window.steps is not None, "no timeline/ was written: the window has no figures"
    pings = next(step for step in window.steps if step.name == "ping_mediator")
    whole_run = steps_by_key(run_dir)[("didcomm", "ping_mediator")]
    assert 0 < pings.requests < whole_run.count and pings.failures == 0
    assert 0 < pings.p50_ms <= pings.p95_ms <= pings.p99_ms
    assert "steady-state window 1: 4 holders from" in result.stdout
    assert "arrivals at 1/s (ARRIVAL_RATE): 4 due, 4 started, 0 late" in result.stdout
    assert "## Load shape" in (run_dir / "summary.md").read_text()


def test_a_dense_run_mediates_every_holder(target, tmp_path):
    """50 real Credo holders in two agent processes, all mediated by the real mediator, spread evenly
    over the five fresh invitations the embedded mediator made for the run."""
    result = akrida("run", results=tmp_path, SCENARIO="mediator_ping", USERS="50", SPAWN_RATE="25",
                    RUN_TIME="45s", WAIT_MIN="2", WAIT_MAX="4", HOLDERS_PER_PROCESS="25",
                    MEDIATOR_INVITATIONS="5")  # fmt: skip
    run_dir = only_run_dir(tmp_path)
    assert result.returncode == 0, describe(result, run_dir)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    invitations = manifest["config"]["MEDIATION_URL"].split()
    assert len(invitations) == 5 and target.mediation_url not in invitations  # fresh ones, for this run
    mediator = AcapyAdmin(target.mediator_admin_url, {"x-api-key": target.admin_api_key})
    completed = [
        len(
            mediator.request(
                "GET", "/connections", params={"invitation_msg_id": decode_invitation(url)["@id"], "state": "active"}
            )["results"]
        )
        for url in invitations
    ]
    assert completed == [10] * 5, f"active connections per invitation: {completed}"
    steps = steps_by_key(run_dir)
    assert steps[("didcomm", "startup")].count == 50 and steps[("didcomm", "startup")].failures == 0
    assert steps[("didcomm", "ping_mediator")].count >= 50 and steps[("didcomm", "ping_mediator")].failures == 0
    assert not any(step.harness for step in steps.values())
    health = judge(read_health(run_dir))
    assert (health.peak_live_holders, health.peak_agent_hosts) == (50, 2)
    assert len(list((run_dir / "agents").rglob("agent-*.log"))) == 2
    assert "peak live holders 50 in 2 agent process(es)" in result.stdout
    per_holder = float(re.search(r"PSS per holder ([\d.]+) MiB \(Locust and agents, at 50 holders\)", result.stdout)[1])
    assert 0 < per_holder < 130  # the cost of a process each, which dense hosting must beat


def test_connection_without_mediation_uses_inbound_ports(target, tmp_path):
    result = akrida("run", results=tmp_path, SCENARIO="connection", WITH_MEDIATION="false", USERS="3",
                    SPAWN_RATE="3", RUN_TIME="15s", AGENT_PORT_RANGE="20600-20609")  # fmt: skip
    run_dir = only_run_dir(tmp_path)
    assert result.returncode == 0, describe(result, run_dir)
    assert steps_by_key(run_dir)[("didcomm", "receive_invitation")].count >= 3


def test_port_exhaustion_is_a_clear_harness_failure(target, tmp_path):
    # Three ports for three holders on paper, but another program holds one of them.
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 20702))
        squatter.listen()
        result = akrida("run", results=tmp_path, SCENARIO="connection", WITH_MEDIATION="false", USERS="3",
                        SPAWN_RATE="3", RUN_TIME="10s", AGENT_PORT_RANGE="20700-20702")  # fmt: skip
    run_dir = only_run_dir(tmp_path)
    assert result.returncode == 1, describe(result, run_dir)
    failures = [f for f in read_failures(run_dir) if f.request_type == "harness" and f.name == "startup"]
    assert failures, describe(result, run_dir)
    assert "no free port left in AGENT_PORT_RANGE=20700-20702" in failures[0].error
    assert "widen AGENT_PORT_RANGE" in failures[0].error
    # The two holders that got a port did their work.
    assert steps_by_key(run_dir)[("didcomm", "receive_invitation")].failures == 0


def test_run_brings_up_and_stops_its_own_embedded_target(tmp_path):
    """`make run` on a machine where no target is running: start one, run, stop it, keep its logs."""
    own_state = paths.STATE_DIR / "test-own-target"  # apart from the session's target
    result = akrida("run", results=tmp_path / "results", USERS="2", SPAWN_RATE="2", RUN_TIME="10s",
                    LOCAL_BASE_PORT="8400", AKRIDA_LOCAL_STATE_DIR=str(own_state))  # fmt: skip
    run_dir = only_run_dir(tmp_path / "results")
    assert result.returncode == 0, describe(result, run_dir)
    assert "embedded target: ready" in result.stdout
    assert "embedded target: stopping PostgreSQL" in result.stdout
    for log in ("mediator.log", "issuer.log", "postgres.log"):
        assert (run_dir / "target" / log).is_file(), log
    assert steps_by_key(run_dir)[("didcomm", "ping_mediator")].count > 0
    for port in range(8400, 8406):
        assert not listening("127.0.0.1", port), f"port {port} still answers after the run"
