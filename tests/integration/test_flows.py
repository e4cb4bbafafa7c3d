"""Real Credo holders against the real embedded ACA-Py mediator and issuer, one flow at a time."""

from __future__ import annotations

import uuid

import pytest

from akrida.agent import AgentConfig, AgentProcess, CommandFailed
from tests.integration.helpers import invitation_to

pytestmark = pytest.mark.integration


@pytest.fixture
def holder(tmp_path):
    # Generous: a message the mediator holds back for a while is late, not lost (the load tests count both).
    agent = AgentProcess(AgentConfig(timeout=90, log_dir=tmp_path), "holder")
    agent.spawn()
    yield agent
    agent.shutdown()


def test_start_with_mediation_and_ping(holder, target):
    started = holder.call("start", mediatorInvitationUrl=target.mediation_url)
    assert started["mediation"]["state"] == "granted"
    assert started["mediation"]["pickupStrategy"] == "Implicit"
    assert started["mediation"]["routingKeys"], "a granted mediation gives routing keys"
    pinged = holder.call("ping_mediator")
    assert pinged["connectionId"] == started["mediation"]["connectionId"]
    assert pinged["roundTripMs"] >= 0


def test_connect_through_an_issuer_invitation(holder, target, issuer):
    holder.call("start", mediatorInvitationUrl=target.mediation_url)
    invitation = issuer.create_invitation()
    connected = holder.call("receiveInvitation", invitationUrl=invitation.url)
    assert connected["theirLabel"] == "akrida-issuer"
    assert connected["invitationId"] == invitation.invitation_id
    assert issuer.wait_for_connection(invitation.invitation_id, timeout=30)
    # The out-of-band record can be removed once connected, and only once.
    assert holder.call("deleteOobRecordById", outOfBandId=connected["outOfBandId"]) == {
        "deleted": connected["outOfBandId"]
    }
    with pytest.raises(CommandFailed, match="no out-of-band record"):
        holder.call("deleteOobRecordById", outOfBandId=connected["outOfBandId"])


def test_receive_basic_messages_through_the_mediator(holder, target, issuer):
    holder.call("start", mediatorInvitationUrl=target.mediation_url)
    invitation = issuer.create_invitation()
    connected = holder.call("receiveInvitation", invitationUrl=invitation.url)
    issuer_connection = issuer.wait_for_connection(invitation.invitation_id, timeout=30)
    contents = [f"hello {uuid.uuid4()}" for _ in range(3)]
    for content in contents:
        issuer.send_message(issuer_connection, content)
    received = [holder.call("receiveMessage", connectionId=connected["connectionId"])["content"] for _ in contents]
    assert sorted(received) == sorted(contents)


def test_connect_without_mediation_on_an_inbound_port(holder, issuer):
    started = holder.call("start", inboundPort=20500, endpoint="http://127.0.0.1:20500")
    assert started["mediation"] is None
    invitation = issuer.create_invitation()
    holder.call("receiveInvitation", invitationUrl=invitation.url)
    issuer_connection = issuer.wait_for_connection(invitation.invitation_id, timeout=30)
    issuer.send_message(issuer_connection, "direct")
    assert holder.call("receiveMessage")["content"] == "direct"


def test_unreachable_mediator_is_the_targets_failure(holder):
    with pytest.raises(CommandFailed) as caught:
        holder.call("start", mediatorInvitationUrl=invitation_to("http://127.0.0.1:9"), timeoutMs=10000)
    assert caught.value.kind in ("failed", "timeout")
    assert not caught.value.harness
