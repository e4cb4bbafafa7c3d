"""A user's own scenario for the cluster tests: shipped to every worker host with the run, with a
module beside it (naming.py) and a setting of its own (PINGER_STEP)."""

from __future__ import annotations

from naming import step_name

from akrida.scenarios.api import HolderClient, HolderUser, setting

PINGER_STEP = setting("PINGER_STEP", str, "The name of the ping's row in Locust's statistics.", default="ping")


class Pinger(HolderUser):
    needs_mediator = True
    needs_issuer = False

    def iteration(self) -> None:
        self.holder.call(step_name(PINGER_STEP.value(self.environment)), HolderClient.ping_mediator)
