"""One simulated holder as a scenario sees it: a Credo holder that is started, used, and restarted."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar, cast

import gevent
from locust.env import Environment

from akrida.agent import AgentCrashed, AgentError, HolderClient, StartOptions
from akrida.agent.messages import PickupStrategy
from akrida.scenarios.runtime import Runtime
from akrida.scenarios.steps import DIDCOMM, HARNESS, fire, step
from akrida.scenarios.wallets import KeptWallet

MAX_BACKOFF = 30.0
T = TypeVar("T")


class Holder:
    """Owns one holder, hosted in one of the process's agent hosts, for one Locust user.

    A dead, hung or confused holder is marked broken by the step that found out; the next
    iteration closes it and starts a new one; each successful restart is counted as
    `harness agent_restart` (a failed one shows as a `startup` failure). When a whole host dies,
    each of its holders finds out on its own and is counted once.
    """

    def __init__(self, environment: Environment, runtime: Runtime):
        self.environment = environment
        self.runtime = runtime
        self.agent: HolderClient | None = None
        self.port: int | None = None
        self.started = False
        self.broken = False
        self.restarts = 0
        self.failed_starts = 0
        self.facts: dict[str, Any] = {}  # what a scenario learned (connection ids …), reset on restart
        self.offline = False  # between go_offline and go_online (mediator_churn)
        self.wallet: KeptWallet | None = None  # HOLDER_WALLETS=keep: this user's wallet, run after run
        self.due: float | None = None  # SCHEDULE on a clock: when the iteration's request was due (perf_counter)
        runtime.holders.add(self)

    @property
    def ready(self) -> bool:
        return self.started and not self.broken and self.agent is not None and self.agent.alive

    def ensure_started(self) -> None:
        """Starts the holder if it is not running; restarts it (counted) if it broke.

        After failed starts it backs off (1 s, 2 s, 4 s … up to MAX_BACKOFF), so a target that is
        down does not turn the generator into a storm of wallet creations.
        """
        if self.ready:
            return
        if self.failed_starts:
            gevent.sleep(min(2 ** (self.failed_starts - 1), MAX_BACKOFF))
        restarting = self.agent is not None or self.broken
        began = time.perf_counter()
        if self.agent is not None and not self.broken and not self.agent.alive:
            # Its host died between steps, so no step has reported it yet.
            crash = AgentCrashed(f"holder {self.agent.name} was lost between steps (its agent host exited)")
            fire(self.environment, HARNESS, "agent_crash", began, crash)
        self.stop(graceful=False)
        try:
            self.start()
        except Exception:
            self.failed_starts += 1  # reported by the startup step
            raise
        self.failed_starts = 0
        if restarting:
            self.restarts += 1
            fire(self.environment, HARNESS, "agent_restart", began)

    @property
    def client(self) -> HolderClient:
        """The started holder's client; scenarios use it once `ensure_started()` succeeded."""
        if self.agent is None:
            raise AgentCrashed("the holder is not started")
        return self.agent

    def start(self) -> None:
        settings = self.runtime.settings
        invitation = self.runtime.next_invitation() if settings.with_mediation else ""
        if settings.holder_wallets == "keep" and settings.with_mediation and self.wallet is None:
            self.wallet = self.runtime.wallets.take(invitation)
        if self.wallet is not None and self.wallet.invitation_url:
            invitation = self.wallet.invitation_url  # Credo knows its mediator by the invitation it took
        # A returning holder's start is a reconnection, timed apart from a new holder's sign-up.
        name = "reconnect" if self.wallet is not None and self.wallet.returning else "startup"
        with step(self.environment, name):
            options = StartOptions(log_level=settings.agent_log_level)
            if settings.credential_format == "indy" and settings.ledger_genesis_file:
                options = replace(options, ledger_genesis_path=str(settings.ledger_genesis_file.resolve()))
            if self.wallet is not None:
                options = replace(options, wallet_path=str(self.wallet.folder.resolve()), wallet_key=self.wallet.key)
            if settings.with_mediation:
                options = replace(
                    options,
                    mediator_invitation_url=invitation,
                    # Settings checked it against PICKUP_STRATEGIES, the same names as the protocol's.
                    pickup_strategy=cast(PickupStrategy, settings.pickup_strategy),
                )
            else:
                self.port = self.runtime.ports.acquire()
                options = replace(
                    options,
                    inbound_port=self.port,
                    inbound_host=settings.agent_listen_host,
                    endpoint=f"http://{settings.agent_endpoint_host}:{self.port}",
                )
            self.agent = self.runtime.hosts.open()
            try:
                self.facts = {"start": self.timed(name, HolderClient.start, options)}
            except AgentError:
                self.broken = True
                raise
        if self.wallet is not None and not self.wallet.returning:
            self.wallet.remember(invitation)
            self.wallet = replace(self.wallet, invitation_url=invitation)
        self.started = True
        self.broken = False
        self.offline = False

    def take_due(self) -> float | None:
        """When the iteration's scheduled request was due (once: the next step is timed from its own start)."""
        due, self.due = self.due, None
        return due

    def call(self, name: str, command: Callable[..., T], *arguments: Any, request_type: str = DIDCOMM) -> T:
        """Runs one command of the holder's client as the step `name`, for example
        `holder.call("receive_invitation", HolderClient.receive_invitation, url)`. A scheduled iteration's
        first step is timed from when it was due."""
        with step(self.environment, name, request_type, started=self.take_due()):
            return self.timed(name, command, *arguments)

    def timed(self, name: str, command: Callable[..., T], *arguments: Any) -> T:
        """Runs one command of the holder's client inside a step that times more than the command (an
        admin call first, for example): the agent's stamps split the command's own time, as `name`, into
        the target's time and our queueing."""
        agent = self.agent
        assert agent is not None, "ensure_started() first"
        sent = time.perf_counter()
        try:
            return command(agent, *arguments)
        finally:
            if agent.timing is not None and agent.timing.target_ms is not None:
                self.runtime.schedule.split.record(name, (time.perf_counter() - sent) * 1000, agent.timing.target_ms)

    def stop(self, graceful: bool = True) -> None:
        agent, self.agent = self.agent, None
        if agent is not None:
            self.runtime.hosts.release(agent, graceful=graceful)
        if self.port is not None:
            self.runtime.ports.release(self.port)
            self.port = None
        self.started = False
