"""The direct forward sender of mediator_forward: one Credo agent per Locust process, in a Node process
of its own, that packs DIDComm `forward` messages for the process's holders and posts them straight to
their mediator (agent/PROTOCOL.md, forward_messages). No issuer's admin API is in the way, so message
volume at the mediator can be pushed to the mediator's own limit.

The sender has no mediator: it listens on a port of AGENT_PORT_RANGE (AGENT_LISTEN_HOST) and is
reached at AGENT_ENDPOINT_HOST, where the holders send it their side of the DID exchange. It invites
each holder with a single-use invitation and names the connection by that invitation's id.
"""

from __future__ import annotations

from dataclasses import dataclass

from gevent.lock import Semaphore

from akrida.agent import AgentConfig, HolderClient, HostPool, PortPool, StartOptions
from akrida.agent.messages import Forwarded, Timing


@dataclass(frozen=True)
class SenderInvitation:
    url: str
    out_of_band_id: str
    generation: int  # which sender made it: a restarted sender knows none of the old connections


class ForwardSender:
    """Started on first use; started again (a new generation) if its process died."""

    def __init__(self, config: AgentConfig, ports: PortPool, listen_host: str, endpoint_host: str):
        self.pool = HostPool(config, 1)  # a process of its own: packing does not share a loop with holders
        self.ports = ports
        self.listen_host = listen_host
        self.endpoint_host = endpoint_host
        self.client: HolderClient | None = None
        self.port: int | None = None
        self.generation = 0
        self._starting = Semaphore()

    def _ready(self) -> HolderClient:
        with self._starting:  # the first users arrive together: one of them starts it, the others wait
            if self.client is not None and self.client.alive:
                return self.client
            self.close()
            self.port = self.ports.acquire()
            client = self.pool.open()
            client.start(
                StartOptions(
                    label="akrida-forward-sender",
                    inbound_port=self.port,
                    inbound_host=self.listen_host,
                    endpoint=f"http://{self.endpoint_host}:{self.port}",
                )
            )
            self.client = client
            self.generation += 1
            return client

    def invite(self) -> SenderInvitation:
        client = self._ready()
        invitation = client.create_invitation()
        return SenderInvitation(invitation.invitation_url, invitation.out_of_band_id, self.generation)

    def send(
        self, invitation: SenderInvitation, contents: list[str], timeout_ms: int | None = None
    ) -> tuple[Forwarded, Timing | None]:
        """Posts the messages; returns what was posted and the reply's stamps (the posts' round trips)."""
        client = self._ready()
        forwarded = client.forward_messages(contents, out_of_band_id=invitation.out_of_band_id, timeout_ms=timeout_ms)
        return forwarded, client.timing  # read at once: the client is shared, and its next command replaces it

    def close(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            self.pool.release(client, graceful=False)
        if self.port is not None:
            self.ports.release(self.port)
            self.port = None

    def kill(self) -> None:
        self.pool.kill_all()
