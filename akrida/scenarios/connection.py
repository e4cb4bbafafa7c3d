"""connection: each holder accepts CONNECTIONS_PER_USER fresh invitations from the issuer per iteration.

Measures: `create_invitation` (issuer admin API) and `receive_invitation` (the holder's DID exchange
with the issuer, until the connection is complete on the holder's side). Works with and without
mediation; without it, each holder listens on a port of AGENT_PORT_RANGE.
"""

from akrida.agent import HolderClient
from akrida.scenarios.base import HolderUser
from akrida.scenarios.steps import ADMIN, step


class ConnectionUser(HolderUser):
    def iteration(self) -> None:
        for _ in range(self.settings.connections_per_user):
            with step(self.environment, "create_invitation", ADMIN):
                invitation = self.runtime.issuer.create_invitation()
            self.holder.call("receive_invitation", HolderClient.receive_invitation, invitation.url)
