"""mediator_forward: basic messages packed as DIDComm `forward` messages and posted straight to the mediator.

The issuer's admin API saturates long before a mediator does (mediator_message sends through it).
Here a forward sender of the Locust process's own (akrida/scenarios/forward_sender.py) connects to each
holder once (`sender_invitation`, `receive_invitation`) and every iteration packs FORWARD_BATCH basic
messages for the holder and posts them to its mediator (`forward_post`: packing and posting); the
holder waits for all of them (`forwarded_message`: from before the post until the last arrived). A
message that never arrives, or arrives changed, is the target's failure; every one is counted (sent,
delivered, late, lost) in the run's delivery report, as mediator_message's are.
"""

from __future__ import annotations

import uuid

from akrida.agent import HolderClient
from akrida.scenarios.mediator_message import MediatorMessageUser
from akrida.scenarios.steps import step


class MediatorForwardUser(MediatorMessageUser):
    def prepare(self) -> None:
        self.runtime.delivery.sent -= len(self.outstanding)  # as mediator_message: the old agent's are gone
        self.outstanding.clear()
        self._connect_to_sender()

    def _connect_to_sender(self) -> None:
        with step(self.environment, "sender_invitation"):
            invitation = self.runtime.forward_sender.invite()
        connected = self.holder.call("receive_invitation", HolderClient.receive_invitation, invitation.url)
        self.holder.facts["sender_invitation"] = invitation
        self.holder.facts["holder_connection_id"] = connected.connection_id

    def iteration(self) -> None:
        sender = self.runtime.forward_sender
        if self.holder.facts["sender_invitation"].generation != sender.generation:
            self._connect_to_sender()  # the sender was restarted: it knows this holder no more
        contents = [f"akrida forward #{next(self.sequence)} {uuid.uuid4()}" for _ in range(self.settings.forward_batch)]
        with step(self.environment, "forwarded_message"):
            with step(self.environment, "forward_post"):
                sender.send(self.holder.facts["sender_invitation"], contents)
            self.runtime.delivery.sent += len(contents)
            self.outstanding.update(contents)
            for content in contents:
                self._receive(content)
