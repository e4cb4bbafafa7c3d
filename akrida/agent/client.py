"""A typed client of one holder: each protocol command is a method with typed arguments and result."""

from __future__ import annotations

from typing import Any, TypeVar

from akrida.agent.errors import AgentError, AgentHung, CommandFailed, ProtocolViolation
from akrida.agent.host import AgentHost
from akrida.agent.messages import (
    Connected,
    CredentialStored,
    Deleted,
    DeleteOobRecord,
    DidKey,
    DiscoverFeatures,
    Dropped,
    Features,
    ForConnection,
    Forwarded,
    ForwardMessages,
    Invitation,
    LoopDelay,
    MediatorSockets,
    Message,
    NoArguments,
    Pinged,
    PingMediator,
    PresentationDone,
    ReceiveInvitation,
    Started,
    StartOptions,
    Status,
    Timing,
    WentOffline,
    WentOnline,
    from_wire,
    to_wire,
)

T = TypeVar("T")

# How long a host gets to answer a handle-less `status` after one of its holders gave no reply:
# answered, only that holder is hung; silent, the whole host is.
HOST_CHECK_SECONDS = 5.0


class HolderClient:
    """One holder, addressed by `handle` on its agent host.

    `timeout_ms` on a method overrides the agent's default wait for that command. Failures raise the
    AgentError subclasses of akrida.agent.errors, whose `harness` flag says whose fault they are.
    """

    def __init__(self, host: AgentHost, handle: str):
        self.host = host
        self.handle = handle
        # The stamps of the last reply (None: no reply, or an agent that sends none). One Locust user
        # drives one client, one command at a time, so the last reply is the one its step just awaited.
        self.timing: Timing | None = None

    @property
    def name(self) -> str:
        return f"{self.host.name}/{self.handle}"

    @property
    def alive(self) -> bool:
        return self.host.alive and self.handle in self.host.handles

    def start(self, options: StartOptions, timeout_ms: int | None = None) -> Started:
        try:
            return self._call("start", options, Started, timeout_ms)
        except AgentError:
            self.host.handles.discard(self.handle)  # a failed start leaves no holder behind, on either side
            raise

    def ping_mediator(self, timeout_ms: int | None = None, response_requested: bool | None = None) -> Pinged:
        """A trust ping to the mediator; `response_requested=False` returns once it is sent."""
        return self._call("ping_mediator", PingMediator(response_requested), Pinged, timeout_ms)

    def discover_features(self, match: str | None = None, timeout_ms: int | None = None) -> Features:
        """The mediator's protocols whose ids match `match` (discover-features 1.0)."""
        return self._call("discover_features", DiscoverFeatures(match), Features, timeout_ms)

    def drop_connection(self, timeout_ms: int | None = None) -> Dropped:
        """Drops the holder's WebSocket to the mediator; returns once Credo has reconnected by itself."""
        return self._call("drop_connection", NoArguments(), Dropped, timeout_ms)

    def mediator_sockets(self) -> MediatorSockets:
        """The holder's open WebSockets to the mediator, by TCP address (to silence one with a packet filter)."""
        return self._call("mediator_sockets", NoArguments(), MediatorSockets)

    def go_offline(self, timeout_ms: int | None = None) -> WentOffline:
        """Stops message pickup and closes the socket to the mediator; the wallet stays."""
        return self._call("go_offline", NoArguments(), WentOffline, timeout_ms)

    def go_online(self, timeout_ms: int | None = None) -> WentOnline:
        """Starts message pickup again (PICKUP_STRATEGY): what the mediator queued comes in."""
        return self._call("go_online", NoArguments(), WentOnline, timeout_ms)

    def create_invitation(self) -> Invitation:
        """A single-use invitation to this holder (through its mediator), for a sender to accept."""
        return self._call("create_invitation", NoArguments(), Invitation)

    def forward_messages(
        self,
        contents: list[str],
        *,
        connection_id: str | None = None,
        out_of_band_id: str | None = None,
        timeout_ms: int | None = None,
    ) -> Forwarded:
        """Packs one basic message per content in forward messages and posts them to the holder's mediator."""
        arguments = ForwardMessages(contents, connection_id, out_of_band_id)
        return self._call("forward_messages", arguments, Forwarded, timeout_ms)

    def receive_invitation(self, invitation_url: str, timeout_ms: int | None = None) -> Connected:
        return self._call("receiveInvitation", ReceiveInvitation(invitation_url), Connected, timeout_ms)

    def receive_message(self, connection_id: str | None = None, timeout_ms: int | None = None) -> Message:
        return self._call("receiveMessage", ForConnection(connection_id), Message, timeout_ms)

    def create_did_key(self) -> DidKey:
        return self._call("createDidKey", NoArguments(), DidKey)

    def receive_credential(self, connection_id: str | None = None, timeout_ms: int | None = None) -> CredentialStored:
        return self._call("receiveCredential", ForConnection(connection_id), CredentialStored, timeout_ms)

    def presentation_exchange(
        self, connection_id: str | None = None, timeout_ms: int | None = None
    ) -> PresentationDone:
        return self._call("presentationExchange", ForConnection(connection_id), PresentationDone, timeout_ms)

    def delete_oob_record(self, out_of_band_id: str) -> Deleted:
        return self._call("deleteOobRecordById", DeleteOobRecord(out_of_band_id), Deleted)

    def status(self) -> Status:
        return self._call("status", NoArguments(), Status)

    def event_loop_delay(self) -> LoopDelay:
        """The agent process's event-loop delay since the previous call (the whole process's)."""
        return self._call("event_loop_delay", NoArguments(), LoopDelay)

    def shutdown(self, timeout: float = 10.0) -> None:
        """Closes this holder's wallet alone; its neighbours on the host keep running."""
        try:
            self._call("shutdown", NoArguments(), None, int(timeout * 1000), read_timeout=timeout + 2.0)
        finally:
            self.host.handles.discard(self.handle)

    def _call(
        self, command: str, arguments: Any, result: type[T] | None, timeout_ms: int | None = None,
        read_timeout: float | None = None,
    ) -> T:  # fmt: skip
        wire = to_wire(arguments)
        if timeout_ms is not None:
            wire["timeoutMs"] = timeout_ms
        self.timing = None
        try:
            reply, self.timing = self.host.request_timed(command, wire, holder=self.handle, read_timeout=read_timeout)
        except CommandFailed as failure:
            self.timing = failure.timing
            raise
        except AgentHung:
            # Only this holder is declared hung, unless the host itself no longer answers: then the
            # host is killed and each of its holders fails as a harness failure.
            if not self.host.responsive(HOST_CHECK_SECONDS):
                self.host.kill(reason=AgentHung(f"agent host {self.host.name} stopped answering; killed"))
            raise
        if result is None:
            return reply
        try:
            return from_wire(result, reply)
        except TypeError as error:
            raise ProtocolViolation(f"{self.name}: the reply to {command} does not fit the protocol: {error}") from None
