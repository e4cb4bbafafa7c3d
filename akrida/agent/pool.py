"""The agent hosts of one Locust process: holders packed into processes of at most N holders."""

from __future__ import annotations

import contextlib
import itertools

import gevent
from gevent.lock import Semaphore

from akrida.agent.client import HolderClient
from akrida.agent.errors import AgentError
from akrida.agent.host import AgentConfig, AgentHost
from akrida.agent.seed import SeedAgentHost


class HostPool:
    """Places each new holder on a live host with room, spawning a host when none has any.

    With `holders_per_process=1` every holder has a process of its own, as before dense hosting.
    A host that died is dropped; the holders that were on it fail (each once, as a harness failure)
    and their restarts land on a new host.
    """

    def __init__(self, config: AgentConfig, holders_per_process: int):
        if holders_per_process < 1:
            raise ValueError(f"holders_per_process must be at least 1, not {holders_per_process}")
        self.config = config
        self.holders_per_process = holders_per_process
        self.hosts: list[AgentHost] = []
        self._host_numbers = itertools.count(1)
        self._holder_numbers = itertools.count(1)
        self._placing = Semaphore()

    def open(self) -> HolderClient:
        """A client for a new holder slot; send it `start` next."""
        handle = f"holder-{next(self._holder_numbers):05d}"
        return HolderClient(self._place(handle), handle)

    def release(self, client: HolderClient, graceful: bool = True, timeout: float = 10.0) -> None:
        """Closes the holder's wallet (or, for a holder alone in its process, the process)."""
        host = client.host
        if not graceful and host.capacity == 1:
            host.kill()
        elif host.alive and client.handle in host.handles:
            with contextlib.suppress(AgentError):
                client.shutdown(timeout=timeout if graceful else min(timeout, 5.0))
        host.handles.discard(client.handle)
        if not host.alive:
            self._drop(host)

    @property
    def live_hosts(self) -> int:
        return sum(1 for host in self.hosts if host.alive)

    @property
    def live_holders(self) -> int:
        return sum(len(host.handles) for host in self.hosts if host.alive)

    def close_all(self, timeout: float = 10.0) -> None:
        """Ends every host's stdin (each closes its wallets) and waits for them in parallel."""
        try:
            gevent.joinall(
                [gevent.spawn(host.close, timeout) for host in self.hosts], timeout=timeout + 5, raise_error=True
            )
        finally:
            self.kill_all()

    def kill_all(self) -> None:
        """The last line of defence at exit: no agent outlives the run."""
        for host in self.hosts:
            host.kill(grace=1.0)
        self.hosts.clear()

    def _place(self, handle: str) -> AgentHost:
        """Reserves a slot for `handle` on a live host with room, or on a new host."""
        # Spawning yields to other greenlets; holding the lock meanwhile makes them wait for this
        # host and fill it, instead of each spawning a host of its own.
        with self._placing:
            host = next((h for h in self.hosts if h.alive and h.room > 0), None)
            for dead in [h for h in self.hosts if not h.alive]:
                self._drop(dead)
            if host is None:
                kind = SeedAgentHost if self.config.protocol == "seed" else AgentHost  # a seed agent: one holder
                host = kind(self.config, f"agent-{next(self._host_numbers):03d}", self.holders_per_process)
                host.spawn()
                self.hosts.append(host)
            host.handles.add(handle)
            return host

    def _drop(self, host: AgentHost) -> None:
        host.kill()  # reaps the process and closes its pipes; a no-op after the first time
        with contextlib.suppress(ValueError):
            self.hosts.remove(host)
