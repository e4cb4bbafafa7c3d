"""AGENT_SCRIPT with AGENT_PROTOCOL=seed under `akrida run`, against the real embedded target.

The agent is tests/seed_agent.py, a small Python agent of the seed protocol. It is not a DIDComm
agent (no wallet, no mediation): its `start` decodes the invitation in its MEDIATION_URL and reaches
the real mediator's endpoint, and its `ping_mediator` times an HTTP answer from it. What this shows
is Akrida's side: one process per holder, each with its own invitation, the run's rows and
manifest, and the egress warning.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from akrida import paths
from tests.integration.helpers import akrida, describe, only_run_dir, steps_by_key

pytestmark = pytest.mark.integration

SEED = paths.ROOT / "tests" / "seed_agent.py"


def test_a_seed_agent_serves_mediator_ping_one_holder_per_process(target, tmp_path):
    result = akrida("run", results=tmp_path, SCENARIO="mediator_ping", USERS="4", SPAWN_RATE="4", RUN_TIME="12s",
                    WAIT_MIN="0.5", WAIT_MAX="1", AGENT_SCRIPT=str(SEED), AGENT_PROTOCOL="seed",
                    MEDIATOR_INVITATIONS="2")  # fmt: skip
    run_dir = only_run_dir(tmp_path)
    assert result.returncode == 0, describe(result, run_dir)
    assert "egress allowlist (EGRESS_ALLOW)" in result.stderr and "OFF for this agent" in result.stderr
    steps = steps_by_key(run_dir)
    assert steps[("didcomm", "startup")].count == 4 and steps[("didcomm", "ping_mediator")].count >= 8
    assert all(step.failures == 0 for step in steps.values()), describe(result, run_dir)
    # One process per holder, each given one of the run's invitations in its environment.
    logs = sorted((run_dir / "agents").rglob("*.log"))
    invitations = [line.rsplit(" ", 1)[1] for log in logs for line in log.read_text().splitlines()
                   if "mediator invitation" in line]  # fmt: skip
    assert len(logs) == 4 and len(invitations) == 4 and len(set(invitations)) == 2, invitations
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["agent"]["sha256"] == hashlib.sha256(SEED.read_bytes()).hexdigest()
    assert manifest["agent"]["protocol"] == "seed" and manifest["agent"]["egress_allowlist"].startswith("off")


def test_a_scenario_the_seed_cannot_serve_is_refused_before_anything_starts(tmp_path):
    result = akrida("run", results=tmp_path, SCENARIO="issue", AGENT_SCRIPT=str(SEED), AGENT_PROTOCOL="seed")
    assert result.returncode == 2, describe(result)
    assert "SCENARIO=issue needs holder commands that AGENT_PROTOCOL=seed does not carry" in result.stderr
    assert not any(tmp_path.iterdir())
