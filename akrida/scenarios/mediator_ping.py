"""mediator_ping: holders connect to the mediator and trust-ping it, over and over.

Measures: `startup` (spawn, wallet, connection and mediation grant) and `ping_mediator` (round trip).
"""

from akrida.agent import HolderClient
from akrida.scenarios.base import HolderUser


class MediatorPingUser(HolderUser):
    def iteration(self) -> None:
        self.holder.call("ping_mediator", HolderClient.ping_mediator)
