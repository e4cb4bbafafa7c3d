"""mediator_ping: holders connect to the mediator and trust-ping it, over and over.

Measures: `startup` (spawn, wallet, connection and mediation grant) and `ping_mediator` (round trip;
with SCHEDULE=fixed or poisson, from when the ping was due). The agent's stamps give the target's own
round trip apart from the generator's queueing (the summary's "How the latencies were timed").
"""

from akrida.agent import HolderClient
from akrida.scenarios.base import HolderUser


class MediatorPingUser(HolderUser):
    def iteration(self) -> None:
        self.holder.call("ping_mediator", HolderClient.ping_mediator)
