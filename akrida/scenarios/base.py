"""The Locust user class every holder scenario builds on."""

from __future__ import annotations

import random
from contextlib import AbstractContextManager

from locust import User, task
from locust.env import Environment

from akrida.agent import AgentError, HolderClient
from akrida.controllers import AcapyAdmin
from akrida.scenarios import hooks  # noqa: F401 - registers the per-process listeners
from akrida.scenarios.clock import Clock
from akrida.scenarios.holder import Holder
from akrida.scenarios.runtime import runtime_of
from akrida.scenarios.steps import ADMIN, DIDCOMM, StepFailed, step


class HolderUser(User):
    """One Locust user = one real Credo holder (packed with others into an agent process).

    Subclasses implement `prepare()` (once per agent life: connect to the issuer, …) and
    `iteration()` (what the holder repeats). Both run their steps through `self.holder`.
    """

    abstract = True
    # What the scenario needs of the target; a scenario file of one's own says so here, and a run
    # refuses settings that cannot give it (catalog scenarios say it in akrida/catalog.py).
    needs_mediator = False
    needs_issuer = False

    def __init__(self, environment: Environment):
        super().__init__(environment)
        self.runtime = runtime_of(environment)
        self.settings = self.runtime.settings
        self.holder = Holder(environment, self.runtime)
        self.prepared = False
        self.clock: Clock | None = None  # SCHEDULE=fixed or poisson, from the first iteration on

    def on_start(self) -> None:
        try:
            self._ensure_ready()
        except StepFailed as failure:
            # Reported already; the first iteration tries again (restarting a broken agent).
            if failure.harness and isinstance(failure.cause, AgentError):
                self.holder.broken = True

    def on_stop(self) -> None:
        if self.clock is not None:
            self.clock.count_unsent()
        self.holder.stop()

    def wait_time(self) -> float:
        # On a clock, the clock waits (in _iterate); Locust's own wait would come on top of it.
        return 0.0 if self.settings.schedule != "closed" else self.closed_wait()

    def closed_wait(self) -> float:
        """The closed loop's wait after each iteration."""
        return random.uniform(self.settings.wait_min, self.settings.wait_max)

    def mean_interval(self) -> float:
        """On a clock: the mean time between one holder's requests."""
        return (self.settings.wait_min + self.settings.wait_max) / 2

    @task
    def _iterate(self) -> None:
        try:
            self._ensure_ready()
            if self.settings.schedule != "closed":
                if self.clock is None:  # starts once the holder is ready: its sign-up is no request of the schedule
                    self.clock = Clock(self.settings.schedule, self.mean_interval(), self.runtime.schedule.counts)
                self.holder.due = self.clock.wait()
            self.iteration()
        except StepFailed as failure:
            if failure.harness and isinstance(failure.cause, AgentError):
                self.holder.broken = True  # restarted at the next iteration
            raise

    def _ensure_ready(self) -> None:
        if not self.holder.ready:
            self.prepared = False
            self.holder.ensure_started()
        if not self.prepared:
            self.prepare()
            self.prepared = True

    def prepare(self) -> None:
        """Runs after every (re)start of the agent."""

    @property
    def issuer(self) -> AcapyAdmin:
        """The issuer's (and verifier's) admin API client."""
        return self.runtime.issuer

    def step(self, name: str, request_type: str = DIDCOMM) -> AbstractContextManager[None]:
        """`with self.step("name"):` times the block as one row of Locust's statistics (`didcomm`, or
        `admin` for admin API calls); a failure in it is reported on the side it belongs to."""
        return step(self.environment, name, request_type)

    def connect_to_issuer(self) -> None:
        """Connects the holder to the issuer; records both sides' connection ids in holder.facts."""
        issuer = self.runtime.issuer
        with step(self.environment, "create_invitation", ADMIN):
            invitation = issuer.create_invitation()
        connected = self.holder.call("receive_invitation", HolderClient.receive_invitation, invitation.url)
        with step(self.environment, "issuer_connection", ADMIN):
            issuer_side = issuer.wait_for_connection(invitation.invitation_id, self.settings.agent_timeout)
        self.holder.facts["issuer_connection_id"] = issuer_side
        self.holder.facts["holder_connection_id"] = connected.connection_id

    def iteration(self) -> None:
        raise NotImplementedError
