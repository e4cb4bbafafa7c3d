"""The egress allowlist: the hosts the settings name (akrida/scenarios/egress.py), and the real agent
refusing every other one as its own failure, naming the host (agent/src/guard.ts)."""

from __future__ import annotations

import base64
import json
import subprocess

import pytest

from akrida.agent import AgentConfig
from akrida.controllers import ControllerError
from akrida.egress import ALLOWED_HOSTS_VARIABLE, agent_environment, allowed_hosts
from akrida.settings import Settings
from tests.unit.test_agent_protocol import SCRIPT

CLOSED_PORT = 20997  # nothing listens there; fetch refuses low "bad ports" such as 9 before connecting
RECIPIENT = "did:key:z6MkpTHR8VNsBxYAAWHut2Geadd9jSwuBV8xRoAnwWsdvktH"  # an Ed25519 did:key


def invitation_url(endpoint: str) -> str:
    """An out-of-band invitation whose one service is `endpoint` (its URL itself is http)."""
    message = {
        "@type": "https://didcomm.org/out-of-band/1.1/invitation",
        "@id": "akrida-egress-test",
        "handshake_protocols": ["https://didcomm.org/didexchange/1.1"],
        "services": [
            {"id": "#inline", "type": "did-communication", "recipientKeys": [RECIPIENT], "serviceEndpoint": endpoint}
        ],
    }
    encoded = base64.urlsafe_b64encode(json.dumps(message).encode()).decode().rstrip("=")
    return f"http://invitations.example/?oob={encoded}"


class Issuer:
    def __init__(self, endpoints: list[str] | None):
        self._endpoints = endpoints

    def endpoints(self) -> list[str]:
        if self._endpoints is None:
            raise ControllerError("GET /status/config: no answer")
        return self._endpoints


def load(**values: str) -> Settings:
    return Settings.load(values, env_file=None)


def test_the_hosts_named_by_the_mediator_the_issuer_and_egress_allow_are_allowed():
    settings = load(
        MEDIATION_URL=invitation_url("wss://mediator.example:443/ws"),
        ISSUER_URL="http://issuer-admin.example:8031",
        EGRESS_ALLOW="ledger.example, 10.0.0.7",
    )
    hosts = allowed_hosts(settings, Issuer(["https://issuer.example/didcomm", "ws://issuer.example:8022"]))
    assert hosts == ("10.0.0.7", "issuer-admin.example", "issuer.example", "ledger.example", "mediator.example")
    assert agent_environment(hosts) == {
        ALLOWED_HOSTS_VARIABLE: "10.0.0.7,issuer-admin.example,issuer.example,ledger.example,mediator.example"
    }


def test_an_issuer_whose_config_cannot_be_read_still_allows_its_admin_host():
    settings = load(MEDIATION_URL=invitation_url("http://127.0.0.1:8100"), ISSUER_URL="http://127.0.0.9:8031")
    assert allowed_hosts(settings, Issuer(None)) == ("127.0.0.1", "127.0.0.9")


def test_mediator_forward_lets_holders_reach_the_forward_sender_and_nothing_more():
    mediator = invitation_url("http://mediator.example:8100")
    forward = load(SCENARIO="mediator_forward", MEDIATION_URL=mediator, AGENT_ENDPOINT_HOST="10.1.2.3")
    assert allowed_hosts(forward, None) == ("10.1.2.3", "mediator.example")
    ping = load(SCENARIO="mediator_ping", MEDIATION_URL=mediator, AGENT_ENDPOINT_HOST="10.1.2.3")
    assert allowed_hosts(ping, None) == ("mediator.example",)


def test_egress_allow_star_turns_the_allowlist_off():
    settings = load(MEDIATION_URL=invitation_url("http://127.0.0.1:8100"), EGRESS_ALLOW="*")
    assert allowed_hosts(settings, None) is None
    assert agent_environment(None) == {}


@pytest.mark.parametrize("raw", ["http://host.example", "a b", "host/path", "*,host.example"])
def test_egress_allow_refuses_what_is_not_a_host_list(raw):
    with pytest.raises(ValueError, match="EGRESS_ALLOW"):
        load(EGRESS_ALLOW=raw)


def start_holder(allowed: str | None) -> dict:
    """One `start` against a mediator invitation on 127.0.0.1 (a closed port), with `allowed` as the
    agent's allowlist; returns the reply."""
    environment = AgentConfig(script=SCRIPT, timeout=10).environment()
    environment.pop(ALLOWED_HOSTS_VARIABLE, None)
    if allowed is not None:
        environment[ALLOWED_HOSTS_VARIABLE] = allowed
    request = {
        "cmd": "start",
        "id": 1,
        "mediatorInvitationUrl": invitation_url(f"http://127.0.0.1:{CLOSED_PORT}"),
        "timeoutMs": 8000,
    }
    process = subprocess.run(
        ["node", str(SCRIPT)], input=json.dumps(request) + "\n", capture_output=True, text=True,
        env=environment, timeout=60,
    )  # fmt: skip
    return json.loads(process.stdout.splitlines()[0])


def test_the_agent_refuses_a_host_no_setting_names_as_its_own_failure_naming_it():
    reply = start_holder("127.0.0.2")
    assert reply["error"] == 1 and reply["kind"] == "local", reply
    assert "egress allowlist refused a connection to 127.0.0.1" in reply["result"]
    assert "EGRESS_ALLOW" in reply["result"]


def test_a_named_host_is_reached_and_its_failure_stays_the_targets():
    reply = start_holder("127.0.0.1")
    assert reply["error"] == 1 and reply["kind"] in ("failed", "timeout"), reply
    assert "egress allowlist" not in reply["result"]
