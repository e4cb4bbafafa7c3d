"""AnonCreds on a local Indy ledger, as a user runs it: `akrida local up --ledger`, bootstrap, runs.

The ISSUER_TYPE=acapy tests at the end use the 1.0 protocols (issue-credential 1.0, present-proof
1.0) against a real, older ACA-Py (aries-cloudagent 1.0.1, the last release that has them) on the
same ledger, with real Credo holders under Locust. ACA-Py 1.7, the embedded target, dropped them."""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import re
import secrets
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from akrida import ledgers, paths
from akrida.agent import AgentConfig, HolderClient, StartOptions
from akrida.controllers import AcapyAdmin, AcapyAdminV1
from akrida.controllers.base import ControllerTimeout
from akrida.local.acapy import ISSUER_ARGS
from akrida.local.ledger import TRUSTEE_SEED
from akrida.local.processes import running_with, terminate
from akrida.local.stack import bootstrap_anoncreds
from akrida.scenarios.credential_content import indy_attributes, indy_proof_request
from tests.integration.helpers import akrida, describe, only_run_dir, steps_by_key
from tests.protocol import CheckedHost

pytestmark = pytest.mark.integration

# Its own state and ports: apart from the session's embedded target.
LEDGER_SETTINGS = {"AKRIDA_LOCAL_STATE_DIR": str(paths.STATE_DIR / "test-ledger"), "LOCAL_BASE_PORT": "8500"}


def indy_nodes() -> list[int]:
    return running_with(b"indy_wrapper.py")


@pytest.fixture(scope="module")
def ledger(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ledger")
    akrida("local", "down", results=folder, **LEDGER_SETTINGS)  # leftovers of an aborted session
    try:
        # Long enough for ACA-Py's revocation setup to be tried on three credential definitions.
        up = akrida("local", "up", "--ledger", results=folder, timeout=1200, **LEDGER_SETTINGS)
        assert up.returncode == 0, describe(up)
    except BaseException:
        # A start killed by the timeout could not stop what it had started: the pool, its PostgreSQL.
        akrida("local", "down", results=folder, **LEDGER_SETTINGS)
        raise
    yield up.stdout
    down = akrida("local", "down", results=folder, **LEDGER_SETTINGS)
    assert down.returncode == 0, describe(down)
    assert "stopping the local Indy ledger" in down.stdout
    assert not indy_nodes(), "an Indy node outlived `akrida local down`"


def test_ledger_target_starts_and_bootstraps(ledger, tmp_path):
    assert "Indy ledger genesis file:" in ledger
    assert re.search(r"credential definition \(CRED_DEF_ID\): \w+:3:CL:\d+:akrida", ledger)
    status = json.loads(akrida("local", "status", results=tmp_path, **LEDGER_SETTINGS).stdout)
    assert status["running"] and status["genesis_file"]
    assert sorted(name for name in status["processes"] if name.startswith("indy-node")) == [
        "indy-node1", "indy-node2", "indy-node3", "indy-node4"
    ]  # fmt: skip

    # The issuer, trustee of the local ledger, writes another schema and credential definition.
    indy = akrida("target", "bootstrap", "--format", "indy", results=tmp_path, **LEDGER_SETTINGS)
    assert indy.returncode == 0, describe(indy)
    assert re.fullmatch(r"CRED_DEF_ID=\w+:3:CL:\d+:akrida\n", indy.stdout), indy.stdout
    # JSON-LD needs no ledger: the issuer's did:key.
    jsonld = akrida("target", "bootstrap", results=tmp_path, **LEDGER_SETTINGS)
    assert jsonld.returncode == 0, describe(jsonld)
    assert re.fullmatch(r"ISSUER_DID=did:key:z6Mk\w+\n", jsonld.stdout)


def test_a_revocable_credential_definitions_registries_are_awaited(ledger, tmp_path):
    """What `local up --ledger` does when ACA-Py answers 504 while it still makes the registries: wait."""
    status = json.loads(akrida("local", "status", results=tmp_path, **LEDGER_SETTINGS).stdout)
    state = json.loads((Path(LEDGER_SETTINGS["AKRIDA_LOCAL_STATE_DIR"]) / "state.json").read_text())
    issuer = AcapyAdmin(status["issuer_admin_url"], {"x-api-key": state["admin_api_key"]}, timeout=30)
    issuer.wait_for_revocation_registries(state["revocable_cred_def_id"], 30)  # active: returns at once
    with pytest.raises(ControllerTimeout, match="has no active revocation registry 3s after"):
        issuer.wait_for_revocation_registries(state["cred_def_id"], 3)  # not revocable: never any


@pytest.mark.parametrize("scenario", ["issue", "present", "issue_revoke"])
def test_anoncreds_scenarios_run_clean(ledger, scenario, tmp_path):
    result = akrida("run", results=tmp_path, SCENARIO=scenario, CREDENTIAL_FORMAT="indy", USERS="3",
                    SPAWN_RATE="3", RUN_TIME="20s", WAIT_MIN="0.5", WAIT_MAX="1", **LEDGER_SETTINGS)  # fmt: skip
    run_dir = only_run_dir(tmp_path)
    assert result.returncode == 0, describe(result, run_dir)
    assert "is known to the issuer" in result.stdout
    steps = steps_by_key(run_dir)
    expected = {"issue": ("didcomm", "receive_credential"), "present": ("didcomm", "present_proof"),
                "issue_revoke": ("admin", "revoke_credential")}[scenario]  # fmt: skip
    assert steps[expected].count >= 3 and steps[expected].failures == 0, describe(result, run_dir)
    assert all(step.failures == 0 for step in steps.values())


def test_unknown_cred_def_is_a_clear_error_before_load(ledger, tmp_path):
    bogus = "V4SGRU86Z58d6TV7PBUe6f:3:CL:999999:nope"
    result = akrida("run", results=tmp_path, SCENARIO="issue", CREDENTIAL_FORMAT="indy", CRED_DEF_ID=bogus,
                    **LEDGER_SETTINGS)  # fmt: skip
    assert result.returncode == 3, describe(result)
    assert f"CRED_DEF_ID={bogus} is not a credential definition the issuer" in result.stderr
    assert "akrida target bootstrap --format indy" in result.stderr
    assert "running issue" not in result.stdout


def test_bootstrap_without_a_target_says_what_to_do(tmp_path):
    result = akrida("target", "bootstrap", results=tmp_path, AKRIDA_LOCAL_STATE_DIR=str(tmp_path / "none"))
    assert result.returncode == 3
    assert "`akrida local up` first" in result.stderr


def test_revocation_is_reflected_in_the_next_proof(ledger, tmp_path):
    """Issue a revocable credential, prove it (with a predicate), revoke it, prove again: the holder
    still answers, and the verifier now refuses the proof."""
    status = json.loads(akrida("local", "status", results=tmp_path, **LEDGER_SETTINGS).stdout)
    state = json.loads((Path(LEDGER_SETTINGS["AKRIDA_LOCAL_STATE_DIR"]) / "state.json").read_text())
    issuer = AcapyAdmin(status["issuer_admin_url"], {"x-api-key": state["admin_api_key"]}, timeout=120)
    cred_def = state["revocable_cred_def_id"]
    assert cred_def, "the ledger target has no revocable credential definition"
    host = CheckedHost(AgentConfig(timeout=90, log_dir=tmp_path), "revocation-agent")
    host.spawn()
    host.handles.add("holder")
    holder = HolderClient(host, "holder")
    try:
        holder.start(
            StartOptions(mediator_invitation_url=status["mediation_url"], ledger_genesis_path=status["genesis_file"])
        )
        invitation = issuer.create_invitation()
        holder.receive_invitation(invitation.url)
        connection = issuer.wait_for_connection(invitation.invitation_id, timeout=60)
        exchange = issuer.offer_indy_credential(connection, cred_def, indy_attributes(1))
        holder.receive_credential()

        def prove() -> bool:
            request = indy_proof_request(cred_def, non_revoked_at=int(time.time()))
            presentation = issuer.request_indy_presentation(connection, request)
            holder.presentation_exchange()
            return issuer.wait_for_verification(presentation, timeout=90)[1]

        assert prove(), "a valid credential must prove"
        issuer.revoke(exchange)
        time.sleep(2)  # the non-revocation interval must start after the revocation's ledger time
        assert not prove(), "a revoked credential must no longer prove"
    finally:
        host.close()


def test_a_verifier_rejection_in_a_run_is_a_failure_of_the_system_under_test(ledger, tmp_path):
    """A Locust run of `present` asking for non-revocation; mid-run the issuer revokes every
    credential. The verifier then refuses the proofs: each refusal counts as a failure of
    `didcomm present_proof` (the system under test), none as a harness failure."""
    status = json.loads(akrida("local", "status", results=tmp_path, **LEDGER_SETTINGS).stdout)
    state = json.loads((Path(LEDGER_SETTINGS["AKRIDA_LOCAL_STATE_DIR"]) / "state.json").read_text())
    issuer = AcapyAdmin(status["issuer_admin_url"], {"x-api-key": state["admin_api_key"]}, timeout=120)
    cred_def = state["revocable_cred_def_id"]

    def verified_presentations() -> int:
        records = issuer.request("GET", "/present-proof-2.0/records", params={"state": "done"})["results"]
        return sum(record.get("verified") == "true" for record in records)

    def issued_exchanges() -> list[str]:
        records = issuer.request("GET", "/issue-credential-2.0/records", params={"state": "done"})["results"]
        return [
            record["cred_ex_record"]["cred_ex_id"]
            for record in records
            if cred_def in json.dumps(record["cred_ex_record"].get("by_format", {}))
        ]

    verified_before = verified_presentations()
    environment = dict(os.environ)
    environment.update(LEDGER_SETTINGS)
    environment.update(
        RESULTS_DIR=str(tmp_path), SCENARIO="present", CREDENTIAL_FORMAT="indy", CRED_DEF_ID=cred_def,
        PROOF_NON_REVOKED="true", USERS="2", SPAWN_RATE="2", RUN_TIME="75s", WAIT_MIN="1", WAIT_MAX="2",
    )  # fmt: skip
    run = subprocess.Popen(
        [sys.executable, "-m", "akrida.cli", "--env-file", "/dev/null", "run"],
        cwd=paths.ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while verified_presentations() < verified_before + 2:
            assert run.poll() is None, run.communicate()
            assert time.monotonic() < deadline, "no presentation was verified before the revocation"
            time.sleep(1)
        for exchange in issued_exchanges():
            issuer.revoke(exchange)
        stdout, stderr = run.communicate(timeout=300)
    finally:
        if run.poll() is None:
            run.kill()
    result = subprocess.CompletedProcess(run.args, run.returncode, stdout, stderr)
    run_dir = only_run_dir(tmp_path)
    assert result.returncode == 1, describe(result, run_dir)
    steps = steps_by_key(run_dir)
    proofs = steps[("didcomm", "present_proof")]
    assert proofs.failures >= 1, describe(result, run_dir)
    assert proofs.count > proofs.failures, "the proofs before the revocation passed"
    assert all(step.failures == 0 for key, step in steps.items() if key[0] == "harness"), describe(result, run_dir)
    assert "failures of the harness (agents, ports, protocol): 0" in result.stdout
    assert "did not verify the presentation" in (run_dir / "locust_failures.csv").read_text()


LEGACY_ACAPY = paths.STATE_DIR / "acapy-legacy-venv" / "bin" / "aca-py"
HTTP_PORT, ADMIN_PORT = 8520, 8521


@pytest.fixture(scope="module")
def legacy_issuer(ledger, tmp_path_factory):
    assert LEGACY_ACAPY.is_file(), "aries-cloudagent 1.0.1 is missing: `make setup-legacy-acapy` installs it"
    folder = tmp_path_factory.mktemp("legacy-issuer")
    status = json.loads(akrida("local", "status", results=folder, **LEDGER_SETTINGS).stdout)
    api_key = secrets.token_urlsafe(16)
    command = [
        str(LEGACY_ACAPY), "start", "--label", "akrida-legacy-issuer",
        "--inbound-transport", "http", "127.0.0.1", str(HTTP_PORT),
        "--outbound-transport", "http", "--outbound-transport", "ws",
        "--endpoint", f"http://127.0.0.1:{HTTP_PORT}",
        "--admin", "127.0.0.1", str(ADMIN_PORT),
        "--genesis-file", status["genesis_file"],
        "--wallet-type", "askar", "--wallet-name", "akrida_legacy_issuer",
        "--auto-provision", "--recreate-wallet", "--log-level", "warning",
        *ISSUER_ARGS,
    ]  # fmt: skip
    environment = {
        **os.environ,
        "ACAPY_ADMIN_API_KEY": api_key,
        "ACAPY_WALLET_KEY": secrets.token_urlsafe(16),
        # The local ledger's test trustee, so this issuer may write its schema and cred-def.
        "ACAPY_WALLET_SEED": TRUSTEE_SEED,
        "ACAPY_WALLET_ALLOW_INSECURE_SEED": "true",
        "HOME": str(folder),
    }
    log = folder / "acapy.log"
    with open(log, "ab") as output:
        process = subprocess.Popen(command, env=environment, stdout=output, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, cwd=folder, start_new_session=True)  # fmt: skip
    try:
        admin = f"http://127.0.0.1:{ADMIN_PORT}"
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            try:
                if requests.get(f"{admin}/status/ready", timeout=2).json().get("ready"):
                    break
            except (requests.RequestException, ValueError):
                pass
            time.sleep(0.5)
        issuer = AcapyAdminV1(admin, {"x-api-key": api_key}, timeout=120)
        yield {
            "admin": issuer,
            "settings": {
                **LEDGER_SETTINGS,
                "ISSUER_TYPE": "acapy",
                "ISSUER_URL": admin,
                "ISSUER_API_KEY": api_key,
                "MEDIATION_URL": status["mediation_url"],
                "CREDENTIAL_FORMAT": "indy",
                "CRED_DEF_ID": bootstrap_anoncreds(issuer),
                "LEDGER_GENESIS_FILE": status["genesis_file"],
            },
        }
    finally:
        terminate(process.pid, b"aca-py", grace=10)


@pytest.mark.parametrize("scenario", ["issue", "present"])
def test_v1_endpoints_issue_and_verify_under_load(legacy_issuer, scenario, tmp_path: Path):
    issuer = legacy_issuer["admin"]
    result = akrida("run", results=tmp_path, SCENARIO=scenario, USERS="2", SPAWN_RATE="2", RUN_TIME="20s",
                    WAIT_MIN="0.5", WAIT_MAX="1", **legacy_issuer["settings"])  # fmt: skip
    run_dir = only_run_dir(tmp_path)
    assert result.returncode == 0, describe(result, run_dir)
    steps = steps_by_key(run_dir)
    step = ("didcomm", "receive_credential" if scenario == "issue" else "present_proof")
    assert steps[step].count >= 2 and steps[step].failures == 0, describe(result, run_dir)
    assert all(entry.failures == 0 for entry in steps.values()), describe(result, run_dir)
    # The exchanges went over the 1.0 protocols: the agent's 1.0 records hold them.
    issued = issuer.request("GET", "/issue-credential/records", params={"state": "credential_acked"})["results"]
    assert issued, "no issue-credential 1.0 exchange reached credential_acked"
    if scenario == "present":
        verified = issuer.request("GET", "/present-proof/records", params={"state": "verified"})["results"]
        assert any(record.get("verified") == "true" for record in verified)


def test_v1_against_an_acapy_without_the_1_0_protocols_is_a_clear_error(ledger, tmp_path: Path):
    # The ledger target's issuer is ACA-Py 1.7, which dropped the 1.0 protocols.
    result = akrida("run", results=tmp_path, SCENARIO="issue", CREDENTIAL_FORMAT="indy", ISSUER_TYPE="acapy",
                    **LEDGER_SETTINGS)  # fmt: skip
    assert result.returncode == 3, describe(result)
    assert "ISSUER_TYPE=acapy needs the issue-credential 1.0 and present-proof 1.0 endpoints" in result.stderr
    assert "set ISSUER_TYPE=acapy_v2" in result.stderr
    assert "running issue" not in result.stdout


def test_v1_with_json_ld_is_refused_before_anything_starts(tmp_path: Path):
    result = akrida("run", results=tmp_path, SCENARIO="issue", ISSUER_TYPE="acapy")
    assert result.returncode == 2, describe(result)
    assert "ISSUER_TYPE=acapy (the 1.0 protocols) carries AnonCreds only: set CREDENTIAL_FORMAT=indy" in result.stderr


def test_a_ledger_named_by_its_genesis_url_is_fetched_and_used(ledger, tmp_path):
    """LEDGER_NETWORK with a genesis URL (the local ledger's file, served on 127.0.0.1): the run fetches
    it, hands it to the holders, and issues AnonCreds credentials with it."""
    status = json.loads(akrida("local", "status", results=tmp_path, **LEDGER_SETTINGS).stdout)
    genesis = Path(status["genesis_file"]).read_bytes()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(genesis)

        def log_message(self, *_args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/genesis"
    fetched = ledgers.GENESIS_DIR / f"url-{hashlib.sha256(url.encode()).hexdigest()[:16]}.txn"
    try:
        result = akrida("run", results=tmp_path, SCENARIO="issue", CREDENTIAL_FORMAT="indy", USERS="2",
                        SPAWN_RATE="2", RUN_TIME="15s", LEDGER_NETWORK=url, **LEDGER_SETTINGS)  # fmt: skip
        run_dir = only_run_dir(tmp_path)
        assert result.returncode == 0, describe(result, run_dir)
        assert fetched.read_bytes() == genesis
        manifest = json.loads((run_dir / "manifest.json").read_text())
        assert manifest["target"]["ledger"] == url
        assert manifest["config"]["LEDGER_GENESIS_FILE"] == str(fetched)
        assert steps_by_key(run_dir)[("didcomm", "receive_credential")].failures == 0
    finally:
        server.shutdown()
        fetched.unlink(missing_ok=True)
