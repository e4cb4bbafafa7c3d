"""A pool of inbound ports for holders that run without a mediator."""

from __future__ import annotations

from akrida.agent.errors import PortPoolExhausted
from akrida.sockets import bindable


class PortPool:
    """Hands out ports from FIRST-LAST that are free right now; raises when none is left.

    Ports held by other programs are skipped rather than handed out, so a busy machine shrinks the
    pool instead of making holders fail with EADDRINUSE later.
    """

    def __init__(self, first: int, last: int, setting: str = "AGENT_PORT_RANGE", host: str = "127.0.0.1"):
        if not 0 < first <= last <= 65535:
            raise ValueError(f"bad port range {first}-{last}")
        self.first, self.last, self.setting, self.host = first, last, setting, host
        self._free = list(range(last, first - 1, -1))  # pop() hands out the lowest first
        self._taken: set[int] = set()

    def acquire(self) -> int:
        while self._free:
            port = self._free.pop()
            if bindable(self.host, port):
                self._taken.add(port)
                return port
            # In use by another program: leave it out of this pool for good.
        raise PortPoolExhausted(
            f"no free port left in {self.setting}={self.first}-{self.last} "
            f"({len(self._taken)} held by this run's holders, the rest in use elsewhere): "
            f"widen {self.setting} or run fewer users per process"
        )

    def release(self, port: int) -> None:
        if port in self._taken:
            self._taken.remove(port)
            self._free.append(port)

    @property
    def in_use(self) -> int:
        return len(self._taken)

    def __len__(self) -> int:
        return self.last - self.first + 1
