"""mediator_forward: basic messages packed as DIDComm `forward` messages and posted straight to the mediator.

The issuer's admin API saturates long before a mediator does (mediator_message sends through it).
Here a forward sender of the Locust process's own (akrida/scenarios/forward_sender.py) connects to each
holder once (`sender_invitation`, `receive_invitation`) and every iteration packs FORWARD_BATCH basic
messages for the holder and posts them to its mediator (`forward_post`: packing and posting, all of
them); the holder, online all along, waits for them (`forwarded_message`: from before the post until
the last arrived). Both are split into the target's time and the generator's queueing (the run's
latency split): `forward_post` by the posts' round trips with the mediator, `forwarded_message` from
the first post leaving the sender to the last message reaching the holder. What has not arrived
AGENT_TIMEOUT after the post, the holder asks for as mediator_churn does (trust pings asking no
answer, one per missing message): what comes then was stranded at the mediator, what never comes is
lost, and the step fails as the target's failure.
Every message is counted in the run's delivery report (sent, delivered, stranded, late, lost).
"""

from __future__ import annotations

import random
import time
import uuid

from akrida.agent import HolderClient
from akrida.agent.messages import Message
from akrida.scenarios.mediator_churn import MediatorChurnUser
from akrida.scenarios.steps import step


class MediatorForwardUser(MediatorChurnUser):
    last_arrival_ms = 0.0  # the latest arrival of the iteration's messages (Message.received_at_ms)

    def prepare(self) -> None:
        self.ledger.forget()  # a new agent has a new connection: the old one's messages leave the count
        self._connect_to_sender()

    def _connect_to_sender(self) -> None:
        with step(self.environment, "sender_invitation"):
            invitation = self.runtime.forward_sender.invite()
        connected = self.holder.call("receive_invitation", HolderClient.receive_invitation, invitation.url)
        self.holder.facts["sender_invitation"] = invitation
        self.holder.facts["holder_connection_id"] = connected.connection_id

    def wait_time(self) -> float:
        return random.uniform(self.settings.wait_min, self.settings.wait_max)

    def iteration(self) -> None:
        sender = self.runtime.forward_sender
        if self.holder.facts["sender_invitation"].generation != sender.generation:
            self.ledger.forget()  # the sender was restarted: it knows this holder no more
            self._connect_to_sender()
        contents = [f"akrida forward #{next(self.sequence)} {uuid.uuid4()}" for _ in range(self.settings.forward_batch)]
        split = self.runtime.schedule.split
        self.last_arrival_ms = 0.0
        began = time.monotonic()
        with step(self.environment, "forwarded_message"):
            with step(self.environment, "forward_post"):
                forwarded, timing = sender.send(self.holder.facts["sender_invitation"], contents)
                if timing is not None and timing.target_ms is not None:
                    split.record("forward_post", (time.monotonic() - began) * 1000, timing.target_ms)
            for content in contents:
                self.ledger.sent(content)
            self._pick_up(began, "forwarded to the mediator", "they were posted")
            # Every message came in time (_pick_up raises otherwise). The target's time runs from the first
            # post leaving the sender to the last message reaching the holder, both on the host's monotonic
            # clock; packing, the pipes and the agents' event loops before and after are the generator's.
            target_ms = max(0.0, self.last_arrival_ms - forwarded.posted_at_ms)
            split.record("forwarded_message", (time.monotonic() - began) * 1000, target_ms)

    def _receive(self, timeout_ms: int, asks: int = 0) -> Message:
        message = super()._receive(timeout_ms, asks)
        self.last_arrival_ms = max(self.last_arrival_ms, message.received_at_ms)
        return message
