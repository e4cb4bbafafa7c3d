"""What all holders of one Locust process share: settings, the agent hosts, ports and target clients.

It lives on Locust's Environment (`runtime_of(environment)`), made from the process's Locust
arguments at the start of each test (on a worker, once the master's arguments have arrived).
"""

from __future__ import annotations

import itertools
import os
import random
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from gevent.lock import Semaphore
from locust.env import Environment
from locust.runners import WorkerRunner

from akrida import paths
from akrida.agent import AgentConfig, AgentHost, HostPool, PortPool
from akrida.agent.host import launch_command
from akrida.agent.limits import raise_open_files_limit
from akrida.agent.silence import Silencer
from akrida.controllers import AcapyAdmin, issuer_for
from akrida.egress import agent_environment, allowed_hosts
from akrida.redact import protect_output
from akrida.report.connectivity import StormRecord
from akrida.report.delivery import DeliveryCounts
from akrida.report.schedule import ScheduleRecord
from akrida.report.timeline import Timeline
from akrida.scenarios.forward_sender import ForwardSender
from akrida.scenarios.options import settings_from
from akrida.scenarios.wallets import WalletShelf
from akrida.settings import Settings

ATTRIBUTE = "akrida_runtime"  # the attribute of Locust's Environment that holds the runtime


@dataclass
class Runtime:
    settings: Settings
    run_dir: Path | None = None
    delivery: DeliveryCounts = field(default_factory=DeliveryCounts)
    timeline: Timeline = field(default_factory=Timeline)  # response times by second, for steady-state windows
    schedule: ScheduleRecord = field(default_factory=ScheduleRecord)  # SCHEDULE's counts; target vs queueing
    storm: StormRecord | None = None  # set when STORM_AT's storm has begun
    # Every holder of this process's users, for actions on all of them at once (a reconnect storm).
    holders: weakref.WeakSet[Any] = field(default_factory=weakref.WeakSet)
    process_name: str = "local"  # "worker-<index>" on a worker of a distributed run

    def __post_init__(self) -> None:
        self.delivery.pickup_strategy = self.settings.pickup_strategy
        self.schedule.counts.schedule = self.settings.schedule

    @cached_property
    def agent_config(self) -> AgentConfig:
        log_dir = self.run_dir / "agents" / f"{os.uname().nodename}-{os.getpid()}" if self.run_dir else None
        config = AgentConfig(
            protocol=self.settings.agent_protocol,
            timeout=self.settings.agent_timeout,
            log_level=self.settings.agent_log_level,
            log_dir=log_dir,
            log_max_bytes=self.settings.agent_log_max_bytes,
            extra_env=agent_environment(self.allowed_hosts),
        )
        script = self.settings.agent_script
        if script is not None:  # AGENT_SCRIPT: an agent of the user's own
            config = replace(config, script=script.resolve(), command=launch_command(script))
        return config

    @cached_property
    def allowed_hosts(self) -> tuple[str, ...] | None:
        """The hosts this process's holders may connect to (None: every host, EGRESS_ALLOW=*)."""
        return allowed_hosts(self.settings, self.issuer if self.settings.issuer_url else None)

    @property
    def hosts(self) -> HostPool:
        """The process's one pool of agent hosts. Made on first use, under a lock: making it asks the
        issuer for its endpoints (allowed_hosts), which yields to other users' greenlets, and each
        of them would otherwise make a pool of its own, with hosts of its own."""
        with self._making_hosts:
            return self._host_pool

    @cached_property
    def _making_hosts(self) -> Semaphore:
        return Semaphore()

    @cached_property
    def _host_pool(self) -> HostPool:
        # Each holder's WebSocket is a file: thousands of holders need the soft limit raised.
        raise_open_files_limit()
        return HostPool(self.agent_config, self.settings.holders_per_process)

    @cached_property
    def ports(self) -> PortPool:
        return PortPool(*self.settings.agent_port_range, host=self.settings.agent_listen_host)

    @cached_property
    def issuer(self) -> AcapyAdmin:
        if not self.settings.issuer_url:
            raise RuntimeError("ISSUER_URL is not set: this scenario needs the issuer's admin API")
        settings = self.settings
        return issuer_for(settings.issuer_type, settings.issuer_url, settings.admin_headers(), settings.agent_timeout)

    @cached_property
    def wallets(self) -> WalletShelf:
        """HOLDER_WALLETS=keep: this process's shelf of kept wallets (a worker has one of its own)."""
        return WalletShelf(self.settings.wallets_dir, self.process_name)

    @cached_property
    def forward_sender(self) -> ForwardSender:
        """mediator_forward: this process's direct sender of forward messages (a Node process of its own)."""
        settings = self.settings
        return ForwardSender(self.agent_config, self.ports, settings.agent_listen_host, settings.agent_endpoint_host)

    @cached_property
    def silencer(self) -> Silencer:
        """CHURN_DISCONNECT=silent: this process's packet filter of silenced holder connections."""
        return Silencer()

    def close_silencer(self) -> None:
        """Every silenced connection speaks again (at the end of a test, and at exit)."""
        if "silencer" in self.__dict__:
            self.silencer.close()

    def next_invitation(self) -> str:
        """The mediator invitation for the next holder to start: MEDIATION_URL's invitations in turn."""
        return next(self._invitations, "")

    @cached_property
    def _invitations(self) -> Iterator[str]:
        urls = self.settings.mediation_urls
        # Each process starts at a random one, so that several processes with few users each still
        # spread their holders over all of them.
        return itertools.islice(itertools.cycle(urls), random.randrange(len(urls)), None) if urls else iter(())

    def agent_hosts(self) -> list[AgentHost]:
        """The agent processes made so far (none before the first holder: asking makes no pool)."""
        return list(self._host_pool.hosts) if "_host_pool" in self.__dict__ else []

    def kill_all_agents(self) -> None:
        """The last line of defence at exit: no agent outlives the run."""
        if "_host_pool" in self.__dict__:
            self._host_pool.kill_all()
        if "forward_sender" in self.__dict__:
            self.forward_sender.kill()


def runtime_of(environment: Environment) -> Runtime:
    """The runtime of this Locust process, made on first use."""
    runtime = getattr(environment, ATTRIBUTE, None)
    if runtime is None:
        runtime = renew_runtime(environment)
    return runtime


def renew_runtime(environment: Environment) -> Runtime:
    """A fresh runtime from the current arguments (a new test may bring new ones from the web UI)."""
    previous = getattr(environment, ATTRIBUTE, None)
    if previous is not None:
        previous.close_silencer()
        previous.kill_all_agents()  # the previous test's users are gone; their agents go with them
    run_dir = os.environ.get(paths.RUN_DIR_VARIABLE)
    runtime = Runtime(settings_from(environment.parsed_options), Path(run_dir) if run_dir else None)
    if isinstance(environment.runner, WorkerRunner):
        runtime.process_name = f"worker-{environment.runner.worker_index}"
    protect_output(runtime.settings.secret_values())
    setattr(environment, ATTRIBUTE, runtime)
    return runtime
