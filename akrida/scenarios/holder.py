"""One simulated holder as a scenario sees it: a Credo agent that is started, used, and restarted."""

from __future__ import annotations

import time
from typing import Any

import gevent
from locust.env import Environment

from akrida.agent import AgentCrashed, AgentError, AgentProcess
from akrida.scenarios.runtime import Runtime
from akrida.scenarios.steps import DIDCOMM, HARNESS, fire, step

MAX_BACKOFF = 30.0


class Holder:
    """Owns one agent process for one Locust user.

    A dead, hung or confused agent is marked broken by the step that found out; the next
    iteration kills it and starts a new one; each successful restart is counted as
    `harness agent_restart` (a failed one shows as a `startup` failure).
    """

    def __init__(self, environment: Environment, runtime: Runtime):
        self.environment = environment
        self.runtime = runtime
        self.agent: AgentProcess | None = None
        self.port: int | None = None
        self.started = False
        self.broken = False
        self.restarts = 0
        self.failed_starts = 0
        self.facts: dict[str, Any] = {}  # what a scenario learned (connection ids …), reset on restart

    @property
    def ready(self) -> bool:
        return self.started and not self.broken and self.agent is not None and self.agent.alive

    def ensure_started(self) -> None:
        """Starts the agent if it is not running; restarts it (counted) if it broke.

        After failed starts it backs off (1 s, 2 s, 4 s … up to MAX_BACKOFF), so a target that is
        down does not turn the generator into a fork bomb of agent processes.
        """
        if self.ready:
            return
        if self.failed_starts:
            gevent.sleep(min(2 ** (self.failed_starts - 1), MAX_BACKOFF))
        restarting = self.agent is not None or self.broken
        began = time.perf_counter()
        if self.agent is not None and not self.broken and not self.agent.alive:
            # Died between steps, so no step has reported it yet.
            crash = AgentCrashed(f"agent {self.agent.name} exited between steps (exit code {self.agent.exit_code})")
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

    def start(self) -> None:
        settings = self.runtime.settings
        with step(self.environment, "startup"):
            arguments: dict[str, Any] = {"logLevel": settings.agent_log_level}
            if settings.credential_format == "indy" and settings.ledger_genesis_file:
                arguments["ledgerGenesisPath"] = str(settings.ledger_genesis_file.resolve())
            if settings.with_mediation:
                arguments["mediatorInvitationUrl"] = settings.mediation_url
                arguments["pickupStrategy"] = settings.pickup_strategy
            else:
                self.port = self.runtime.ports.acquire()
                arguments["inboundPort"] = self.port
                arguments["endpoint"] = f"http://{settings.agent_endpoint_host}:{self.port}"
            self.agent = AgentProcess(self.runtime.agent_config, self.runtime.next_agent_name())
            self.runtime.agents.add(self.agent)
            try:
                self.agent.spawn()
                self.facts = {"start": self.agent.call("start", **arguments)}
            except AgentError as error:
                self.broken = True
                raise error
        self.started = True
        self.broken = False

    def call(self, name: str, command: str, request_type: str = DIDCOMM, **arguments: Any) -> Any:
        """Runs one agent command as the step `name`."""
        assert self.agent is not None, "ensure_started() first"
        with step(self.environment, name, request_type):
            return self.agent.call(command, **arguments)

    def stop(self, graceful: bool = True) -> None:
        agent, self.agent = self.agent, None
        if agent is not None:
            if graceful and agent.alive:
                agent.shutdown(timeout=10.0)
            else:
                agent.kill()
            self.runtime.agents.discard(agent)
        if self.port is not None:
            self.runtime.ports.release(self.port)
            self.port = None
        self.started = False
