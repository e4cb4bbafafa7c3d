"""Real Credo holders against the real embedded ACA-Py mediator and issuer, one flow at a time.

Each holder's requests and results are checked against agent/protocol.schema.json on the way.
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from akrida.agent import AgentConfig, CommandFailed, HolderClient, StartOptions
from tests.integration.helpers import invitation_to, receive_asking
from tests.protocol import CheckedHost

pytestmark = pytest.mark.integration


@pytest.fixture
def host(tmp_path):
    # Generous: a message the mediator holds back for a while is late, not lost (the load tests count both).
    host = CheckedHost(AgentConfig(timeout=90, log_dir=tmp_path), "agent", capacity=4)
    host.spawn()
    yield host
    host.close()


@pytest.fixture
def holder(host):
    host.handles.add("holder")
    client = HolderClient(host, "holder")
    yield client
    if client.alive:
        client.shutdown()


def test_start_with_mediation_and_ping(holder, target):
    started = holder.start(StartOptions(mediator_invitation_url=target.mediation_url))
    assert started.mediation.state == "granted"
    assert started.mediation.pickup_strategy == "Implicit"
    assert started.mediation.routing_keys, "a granted mediation gives routing keys"
    pinged = holder.ping_mediator()
    assert pinged.connection_id == started.mediation.connection_id
    assert pinged.round_trip_ms >= 0


def test_holders_of_one_process_have_their_own_mediation_and_wallet(host, target):
    clients = []
    for name in ("first", "second", "third"):
        host.handles.add(name)
        clients.append(HolderClient(host, name))
    started = [client.start(StartOptions(mediator_invitation_url=target.mediation_url)) for client in clients]
    assert len({s.mediation.connection_id for s in started}) == 3, "each holder has its own mediator connection"
    assert len({s.label for s in started}) == 3
    pings = [client.ping_mediator() for client in clients]
    assert [p.connection_id for p in pings] == [s.mediation.connection_id for s in started]
    clients[1].shutdown()  # one wallet closed: its neighbours keep their mediation
    assert clients[0].ping_mediator().connection_id == started[0].mediation.connection_id
    assert clients[2].ping_mediator().connection_id == started[2].mediation.connection_id
    with pytest.raises(CommandFailed, match='unknown holder "second"'):
        host.request("ping_mediator", holder="second")


def test_connect_through_an_issuer_invitation(holder, target, issuer):
    holder.start(StartOptions(mediator_invitation_url=target.mediation_url))
    invitation = issuer.create_invitation()
    connected = holder.receive_invitation(invitation.url)
    assert connected.their_label == "akrida-issuer"
    assert connected.invitation_id == invitation.invitation_id
    assert issuer.wait_for_connection(invitation.invitation_id, timeout=30)
    # The out-of-band record can be removed once connected, and only once.
    assert holder.delete_oob_record(connected.out_of_band_id).deleted == connected.out_of_band_id
    with pytest.raises(CommandFailed, match="no out-of-band record"):
        holder.delete_oob_record(connected.out_of_band_id)


def test_receive_basic_messages_through_the_mediator(holder, target, issuer, tmp_path):
    holder.start(StartOptions(mediator_invitation_url=target.mediation_url))
    invitation = issuer.create_invitation()
    connected = holder.receive_invitation(invitation.url)
    issuer_connection = issuer.wait_for_connection(invitation.invitation_id, timeout=30)
    # Sent at once, so most reach the mediator while its socket to the holder is busy with another: those
    # it keeps queued, and only a wallet that asks again gets them (receive_asking).
    contents = [f"hello {uuid.uuid4()}" for _ in range(6)]
    with ThreadPoolExecutor(len(contents)) as pool:
        list(pool.map(lambda content: issuer.send_message(issuer_connection, content), contents))
    try:
        received = [receive_asking(holder, connected.connection_id) for _ in contents]
    except CommandFailed as error:
        raise AssertionError(f"{error}; the agent's log ends:\n{agent_log_tail(tmp_path)}") from error
    assert sorted(received) == sorted(contents)


def agent_log_tail(folder: Path, lines: int = 60) -> str:
    logs = sorted(folder.rglob("*.log*"))
    return "\n".join(line for path in logs for line in path.read_text(errors="replace").splitlines()[-lines:])


def test_connect_without_mediation_on_an_inbound_port(holder, issuer):
    started = holder.start(StartOptions(inbound_port=20500, endpoint="http://127.0.0.1:20500"))
    assert started.mediation is None and started.endpoints == ["http://127.0.0.1:20500"]
    invitation = issuer.create_invitation()
    holder.receive_invitation(invitation.url)
    issuer_connection = issuer.wait_for_connection(invitation.invitation_id, timeout=30)
    issuer.send_message(issuer_connection, "direct")
    assert holder.receive_message().content == "direct"


def test_unreachable_mediator_is_the_targets_failure(holder):
    with pytest.raises(CommandFailed) as caught:
        holder.start(StartOptions(mediator_invitation_url=invitation_to("http://127.0.0.1:9")), timeout_ms=10000)
    assert caught.value.kind in ("failed", "timeout")
    assert not caught.value.harness
