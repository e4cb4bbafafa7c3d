"""The examples/ scenario files, run by `akrida run SCENARIO=examples/….py` as a user would, against
the real embedded target (ACA-Py mediator and issuer, real Credo holders)."""

from __future__ import annotations

import hashlib
import json

import pytest

from akrida import paths
from tests.integration.helpers import akrida, describe, only_run_dir, steps_by_key

pytestmark = pytest.mark.integration


def manifest_files(run_dir) -> dict[str, str]:
    manifest = json.loads((run_dir / "manifest.json").read_text())
    return {file["path"]: file["sha256"] for file in manifest["user_scenario"]["files"]}


def test_the_credential_loop_takes_credentials_and_answers_proofs(target, tmp_path):
    example = paths.ROOT / "examples" / "credential_loop.py"
    result = akrida("run", results=tmp_path, SCENARIO=str(example), USERS="3", SPAWN_RATE="3", RUN_TIME="25s",
                    WAIT_MIN="0.5", WAIT_MAX="1", PROOFS_PER_CREDENTIAL="2")  # fmt: skip
    run_dir = only_run_dir(tmp_path)
    assert result.returncode == 0, describe(result, run_dir)
    steps = steps_by_key(run_dir)
    taken, answered = steps[("didcomm", "take_credential")], steps[("didcomm", "answer_proof")]
    assert taken.count >= 3 and answered.count >= 2 * 3, describe(result, run_dir)
    # Two proofs per credential (its own setting reached the holders): about twice as many proofs.
    assert answered.count >= 2 * taken.count - 3
    assert all(step.failures == 0 for step in steps.values()), describe(result, run_dir)
    assert manifest_files(run_dir) == {str(example): hashlib.sha256(example.read_bytes()).hexdigest()}
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["user_scenario"]["settings"] == {"PROOFS_PER_CREDENTIAL": "2"}
    assert run_dir.name.endswith("-credential_loop")


def test_the_phone_opens_the_app_picks_up_pings_and_closes_it(target, tmp_path):
    example = paths.ROOT / "examples" / "phone.py"
    result = akrida("run", results=tmp_path, SCENARIO=str(example), USERS="3", SPAWN_RATE="3", RUN_TIME="30s",
                    PHONE_INTERVAL="4s")  # fmt: skip
    run_dir = only_run_dir(tmp_path)
    assert result.returncode == 0, describe(result, run_dir)
    steps = steps_by_key(run_dir)
    for name in ("online", "pick_up", "ping_mediator", "offline"):
        assert steps[("didcomm", name)].count >= 3, f"{name}: {describe(result, run_dir)}"
    # Every message written while the app was closed was picked up (but those of openings the run's end cut short).
    assert 0 <= steps[("admin", "send_message")].count - steps[("didcomm", "pick_up")].count <= 3
    assert all(step.failures == 0 for step in steps.values()), describe(result, run_dir)
    assert manifest_files(run_dir) == {str(example): hashlib.sha256(example.read_bytes()).hexdigest()}
