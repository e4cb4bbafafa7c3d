"""What all holders of one Locust process share: settings, the agent hosts, ports and target clients."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from akrida.agent import AgentConfig, HostPool, PortPool
from akrida.agent.limits import raise_open_files_limit
from akrida.controllers import AcapyAdmin, issuer_for
from akrida.report.delivery import DeliveryCounts
from akrida.settings import Settings

RUN_DIR_VARIABLE = "AKRIDA_RUN_DIR"


@dataclass
class Runtime:
    settings: Settings
    run_dir: Path | None = None
    delivery: DeliveryCounts = field(default_factory=DeliveryCounts)

    @cached_property
    def agent_config(self) -> AgentConfig:
        log_dir = self.run_dir / "agents" / f"{os.uname().nodename}-{os.getpid()}" if self.run_dir else None
        return AgentConfig(
            timeout=self.settings.agent_timeout,
            log_level=self.settings.agent_log_level,
            log_dir=log_dir,
            log_max_bytes=self.settings.agent_log_max_bytes,
        )

    @cached_property
    def hosts(self) -> HostPool:
        # Each holder's WebSocket is a file: thousands of holders need the soft limit raised.
        raise_open_files_limit()
        return HostPool(self.agent_config, self.settings.holders_per_process)

    @cached_property
    def ports(self) -> PortPool:
        return PortPool(*self.settings.agent_port_range)

    @cached_property
    def issuer(self) -> AcapyAdmin:
        if not self.settings.issuer_url:
            raise RuntimeError("ISSUER_URL is not set: this scenario needs the issuer's admin API")
        settings = self.settings
        return issuer_for(settings.issuer_type, settings.issuer_url, settings.admin_headers(), settings.agent_timeout)

    def kill_all_agents(self) -> None:
        """The last line of defence at exit: no agent outlives the run."""
        if "hosts" in self.__dict__:
            self.hosts.kill_all()


_runtime: Runtime | None = None


def get_runtime() -> Runtime:
    global _runtime
    if _runtime is None:
        run_dir = os.environ.get(RUN_DIR_VARIABLE)
        _runtime = Runtime(Settings.load(), Path(run_dir) if run_dir else None)
    return _runtime
