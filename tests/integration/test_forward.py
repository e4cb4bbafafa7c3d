"""The direct forward sender, for real: akrida's own agent packs basic messages in DIDComm `forward`
messages and posts them to the embedded ACA-Py 1.7 mediator, which delivers them to held Credo holders
with no issuer's admin API in between (forward_messages, SCENARIO=mediator_forward)."""

from __future__ import annotations

import time

import pytest

from akrida.agent import AgentConfig, CommandFailed, HostPool, StartOptions
from akrida.invitation import decode_invitation, service_endpoints
from akrida.report.delivery import read_delivery
from akrida.report.schedule import read_schedule
from tests.integration.conftest import TEST_BASE_PORT
from tests.integration.helpers import akrida, describe, only_run_dir, receive_asking, steps_by_key

pytestmark = pytest.mark.integration

# Past the embedded target's ports (LOCAL_PORT_SPAN from the base): the sender's inbound ports.
SENDER_PORTS = (TEST_BASE_PORT + 50, TEST_BASE_PORT + 59)


def test_the_forward_sender_delivers_to_held_holders_through_the_mediator(target, tmp_path):
    pool = HostPool(AgentConfig(timeout=20, log_dir=tmp_path), 3)
    port = SENDER_PORTS[0]
    mediator_endpoints = service_endpoints(decode_invitation(target.mediation_url))
    try:
        sender = pool.open()
        sender.start(StartOptions(label="forward-sender", inbound_port=port, endpoint=f"http://127.0.0.1:{port}"))
        holders = []
        for _ in range(2):
            holder = pool.open()
            holder.start(StartOptions(mediator_invitation_url=target.mediation_url))
            invitation = sender.create_invitation()
            connection = holder.receive_invitation(invitation.invitation_url).connection_id
            holders.append((holder, connection, invitation.out_of_band_id))

        for number, (holder, connection, out_of_band_id) in enumerate(holders):
            contents = [f"forward {number}.{n}" for n in range(3)]
            forwarded = sender.forward_messages(contents, out_of_band_id=out_of_band_id, timeout_ms=10_000)
            # Posted to the mediator, which is where the holder's DID document sends its messages.
            assert forwarded.sent == 3 and forwarded.endpoint in mediator_endpoints, forwarded
            # Posted one after another, some may reach the mediator while its socket to the holder is
            # busy with the one before: those it keeps queued until the holder asks (receive_asking).
            received = [receive_asking(holder, connection) for _ in contents]
            assert sorted(received) == contents  # each holder got its own, and all of them

        with pytest.raises(CommandFailed, match="has 0 connections") as unknown:
            sender.forward_messages(["x"], out_of_band_id="no-such-invitation")
        assert unknown.value.kind == "request"
    finally:
        pool.close_all()


def test_mediator_forward_pushes_messages_past_the_issuer_and_counts_every_one(target, tmp_path):
    began = time.monotonic()
    result = akrida("run", results=tmp_path, SCENARIO="mediator_forward", USERS="2", SPAWN_RATE="2",
                    RUN_TIME="30s", FORWARD_BATCH="3", WAIT_MIN="0.2", WAIT_MAX="0.5", AGENT_TIMEOUT="10",
                    HOLDERS_PER_PROCESS="2", AGENT_PORT_RANGE=f"{SENDER_PORTS[0]}-{SENDER_PORTS[1]}",
                    timeout=150)  # fmt: skip
    run_dir = only_run_dir(tmp_path)
    assert time.monotonic() - began < 120, describe(result, run_dir)
    steps = steps_by_key(run_dir)
    assert ("admin", "send_message") not in steps, describe(result, run_dir)  # no issuer in the way
    assert steps[("didcomm", "forward_post")].failures == 0, describe(result, run_dir)
    assert steps[("didcomm", "forwarded_message")].count >= 2, describe(result, run_dir)
    counts = read_delivery(run_dir)
    assert counts is not None and counts.sent == 3 * steps[("didcomm", "forward_post")].count, counts
    # ACA-Py's implicit pickup may keep some of a batch queued until the holder speaks (stranded);
    # nothing is lost, and every message is one of delivered, stranded, late.
    assert counts.lost == 0 and counts.delivered > 0, counts
    assert counts.delivered + counts.stranded + counts.late == counts.sent, counts
    # Each post and each batch that came in full is split into the target's time and our queueing.
    split = read_schedule(run_dir)
    assert split is not None, describe(result, run_dir)
    stamped = {name: sum(times.values()) for name, times in split.split.target.items()}
    post, batch = steps[("didcomm", "forward_post")], steps[("didcomm", "forwarded_message")]
    assert stamped.get("forward_post") == post.count, stamped
    assert stamped.get("forwarded_message") == batch.count - batch.failures, stamped
    summary = (run_dir / "summary.md").read_text().split("## How the latencies were timed")[1]
    assert "| forward_post |" in summary and "| forwarded_message |" in summary, summary
    print(f"mediator_forward on ACA-Py 1.7: {counts.line()}")
