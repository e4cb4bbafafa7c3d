"""mediator_message: the issuer sends basic messages that reach each holder through the mediator.

Each holder connects to the issuer once (`create_invitation`, `receive_invitation`, `issuer_connection`);
then every iteration the issuer sends one message and the holder waits for it: `basic_message` is the
time from the admin API call to the holder having it. A message that never arrives, or arrives
changed, is a failure of the system under test.
"""

import uuid

from akrida.scenarios.base import HolderUser
from akrida.scenarios.steps import ADMIN, TargetFailure, step


class MediatorMessageUser(HolderUser):
    def prepare(self) -> None:
        issuer = self.runtime.issuer
        with step(self.environment, "create_invitation", ADMIN):
            invitation = issuer.create_invitation()
        connected = self.holder.call("receive_invitation", "receiveInvitation", invitationUrl=invitation.url)
        with step(self.environment, "issuer_connection", ADMIN):
            issuer_side = issuer.wait_for_connection(invitation.invitation_id, self.settings.agent_timeout)
        self.holder.facts["issuer_connection_id"] = issuer_side
        self.holder.facts["holder_connection_id"] = connected["connectionId"]

    def iteration(self) -> None:
        content = f"akrida {uuid.uuid4()}"
        with step(self.environment, "basic_message"):
            self.runtime.issuer.send_message(self.holder.facts["issuer_connection_id"], content)
            received = self.holder.agent.call("receiveMessage", connectionId=self.holder.facts["holder_connection_id"])
            if received.get("content") != content:
                raise TargetFailure(f"expected message {content!r}, received {received.get('content')!r}")
