"""Phones that vanish, for real: a holder's connection silenced by the kernel's packet filter (its
socket left open on both sides) against the real embedded ACA-Py 1.7 mediator, and what the mediator
did with the messages sent meanwhile. Needs root (nftables); only the test's own loopback connection
is touched, and every rule is gone afterwards, also when the test fails."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

from akrida.agent import AgentConfig, CommandFailed, HolderClient, HostPool, StartOptions
from akrida.agent.silence import Connection, Silencer, silence_tables
from akrida.report.delivery import Arrival, DeliveryCounts, MessageLedger, read_delivery
from tests.integration.helpers import akrida, describe, only_run_dir, steps_by_key

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="dropping packets with nftables needs root"),
]

# ACA-Py's WebSocket heartbeat (its defaults: a ping every 3 s, the socket closed when the pong is not
# back within half that): past this, the mediator has found out that the silenced socket is dead.
MEDIATOR_NOTICED_S = 6.0


@pytest.fixture
def silencer() -> Iterator[Silencer]:
    silencer = Silencer()
    try:
        yield silencer
    finally:
        silencer.close()
    assert silencer.table not in silence_tables()


def pick_up(holder: HolderClient, connection: str, ledger: MessageLedger) -> None:
    """As mediator_churn after coming back: take what comes, then ask (pings asking no answer) for the rest."""
    for asks in range(len(ledger.awaited) + 2):
        if asks:
            holder.ping_mediator(2000, response_requested=False)
        while ledger.awaited:
            try:
                content = holder.receive_message(connection, 3000 if not asks else 2000).content
            except CommandFailed as error:
                assert error.kind == "timeout", error
                break
            assert ledger.arrived(content, asks) is not Arrival.UNKNOWN, content
        if not ledger.awaited:
            return
    ledger.give_up()


def test_a_silenced_holder_keeps_its_socket_and_what_the_mediator_forwarded_into_it_is_lost(
    target, issuer, silencer, tmp_path
):
    pool = HostPool(AgentConfig(timeout=20, log_dir=tmp_path), 1)
    try:
        holder = pool.open()
        holder.start(StartOptions(mediator_invitation_url=target.mediation_url))
        invitation = issuer.create_invitation()
        connection = holder.receive_invitation(invitation.url).connection_id
        issuer_side = issuer.wait_for_connection(invitation.invitation_id, 20)

        (socket,) = holder.mediator_sockets().sockets
        silenced = Connection.of(socket)
        # Only the test's own loopback connection, to the test target's own WebSocket port.
        assert silenced.loopback and target.base_port <= silenced.remote_port < target.base_port + 100, silenced
        silencer.silence(silenced, 60)
        assert silencer.silenced() == [silenced.element()]
        counts = DeliveryCounts()
        ledger = MessageLedger(counts)

        issuer.send_message(issuer_side, "before the mediator noticed")
        ledger.sent("before the mediator noticed")
        with pytest.raises(CommandFailed) as waited:  # the mediator wrote it into the socket: nothing came
            holder.receive_message(connection, 3000)
        assert waited.value.kind == "timeout"
        # Silence is not a close: the holder's socket is as open as before, nothing told it otherwise.
        assert holder.mediator_sockets().sockets == [socket]

        time.sleep(MEDIATOR_NOTICED_S - 3)
        issuer.send_message(issuer_side, "after the mediator noticed")
        ledger.sent("after the mediator noticed")

        # Back, as a phone on a new network: the old socket is abandoned while still silenced.
        assert holder.drop_connection(timeout_ms=10_000).closed_sockets == 1
        silencer.restore(silenced)
        assert silencer.silenced() == []
        (new_socket,) = holder.mediator_sockets().sockets
        assert new_socket.local_port != socket.local_port

        pick_up(holder, connection, ledger)
        # What the mediator kept after it noticed arrives; what it wrote into the dead socket is lost.
        assert ledger.received == {"after the mediator noticed"}, counts
        assert (counts.sent, counts.delivered + counts.stranded, counts.lost) == (2, 1, 1), counts
        print(f"silenced holder on ACA-Py 1.7: {counts.line()}")
    finally:
        pool.close_all()


def test_mediator_churn_with_silent_disconnects_counts_every_message_and_leaves_no_rule(target, tmp_path):
    before = set(silence_tables())
    result = akrida("run", results=tmp_path, SCENARIO="mediator_churn", CHURN_DISCONNECT="silent", USERS="2",
                    SPAWN_RATE="2", RUN_TIME="35s", CHURN_ONLINE="2s", CHURN_OFFLINE="8s", CHURN_MESSAGES="2",
                    AGENT_TIMEOUT="5", HOLDERS_PER_PROCESS="2", timeout=150)  # fmt: skip
    run_dir = only_run_dir(tmp_path)
    assert set(silence_tables()) <= before, describe(result, run_dir)  # the run's own table is gone
    steps = steps_by_key(run_dir)
    silenced, back = steps[("didcomm", "go_silent")], steps[("didcomm", "come_back")]
    assert silenced.count >= 2 and silenced.failures == 0 and back.failures == 0, describe(result, run_dir)
    assert ("didcomm", "go_offline") not in steps, describe(result, run_dir)  # nothing was closed
    counts = read_delivery(run_dir)
    assert counts is not None and counts.sent >= 2, describe(result, run_dir)
    # Every message is one of delivered, stranded, late or lost: none is counted twice or missed.
    assert counts.delivered + counts.stranded + counts.late + counts.lost == counts.sent, counts
    summary = (run_dir / "summary.md").read_text()
    assert f"messages sent {counts.sent}, delivered in time {counts.delivered}" in summary, summary
    print(f"silent churn on ACA-Py 1.7: {counts.line()}")
