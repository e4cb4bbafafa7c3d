"""mediator_hold: how many wallets can the mediator hold? Holders take mediation and stay connected,
mostly idle, as mobile wallets do; each trust-pings the mediator every HOLD_PING_INTERVAL.

Measures: `startup` (wallet, connection, mediation grant: the rate at which the mediator onboards)
and `ping_mediator` (is a held connection still served, and how fast). The number of holders
connected over time is in the run's generator health (live holders), charted in generator.png.
"""

from __future__ import annotations

import random

from akrida.agent import HolderClient
from akrida.scenarios.base import HolderUser

# Pings spread over ±JITTER of the interval, so thousands of holders started together do not
# ping together forever after.
JITTER = 0.25


class MediatorHoldUser(HolderUser):
    def iteration(self) -> None:
        self.holder.call("ping_mediator", HolderClient.ping_mediator)

    def closed_wait(self) -> float:
        interval = self.settings.hold_ping_interval
        return random.uniform(interval * (1 - JITTER), interval * (1 + JITTER))

    def mean_interval(self) -> float:
        return float(self.settings.hold_ping_interval)
