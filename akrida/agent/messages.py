"""The typed arguments and results of the agent protocol's commands.

Field names are the protocol's camelCase names written in snake_case; `to_wire` and `from_wire`
translate. agent/protocol.schema.json is the one schema these dataclasses, the TypeScript agent and
agent/PROTOCOL.md are checked against (tests/unit/test_protocol_schema.py).
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

PickupStrategy = Literal["implicit", "pickup_v1", "pickup_v2", "pickup_v2_live", "none"]

T = TypeVar("T")


def wire_name(name: str) -> str:
    """`mediator_invitation_url` -> `mediatorInvitationUrl`."""
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def python_name(name: str) -> str:
    """`mediatorInvitationUrl` -> `mediator_invitation_url`."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def to_wire(arguments: Any) -> dict[str, Any]:
    """The set fields of an arguments dataclass, with the protocol's names; None means 'not sent'."""
    values = {wire_name(f.name): getattr(arguments, f.name) for f in dataclasses.fields(arguments)}
    return {name: value for name, value in values.items() if value is not None}


def from_wire(cls: type[T], value: Any) -> T:
    """Builds `cls` from a reply's result, nested dataclasses included. Raises TypeError on a mismatch."""
    if not isinstance(value, dict):
        raise TypeError(f"{cls.__name__}: expected a JSON object, got {type(value).__name__}")
    hints = typing.get_type_hints(cls)
    given = {python_name(key): item for key, item in value.items()}
    known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    missing = [name for name in known if name not in given and _required(cls, name)]
    if missing:
        raise TypeError(f"{cls.__name__}: the reply lacks {', '.join(wire_name(name) for name in sorted(missing))}")
    built = {name: _convert(hints[name], item) for name, item in given.items() if name in known}
    return cls(**built)


def _required(cls: type, name: str) -> bool:
    spec = cls.__dataclass_fields__[name]  # type: ignore[attr-defined]
    return spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING


def _convert(hint: Any, value: Any) -> Any:
    if typing.get_origin(hint) is list and isinstance(value, list):
        (item,) = typing.get_args(hint)
        return [_convert(item, element) for element in value]
    options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    for option in options:
        if dataclasses.is_dataclass(option) and isinstance(value, dict):
            return from_wire(option, value)  # type: ignore[arg-type]
    return value


# --- arguments -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StartOptions:
    """How to start one holder. With `mediator_invitation_url` it takes mediation; without, it
    listens on `inbound_port` and announces `endpoint`."""

    mediator_invitation_url: str | None = None
    pickup_strategy: PickupStrategy | None = None
    inbound_port: int | None = None
    inbound_host: str | None = None
    endpoint: str | None = None
    label: str | None = None
    ledger_genesis_path: str | None = None
    log_level: str | None = None
    # A wallet kept on disk between runs (HOLDER_WALLETS=keep): its folder, and its raw askar key.
    wallet_path: str | None = None
    wallet_key: str | None = dataclasses.field(default=None, repr=False)


@dataclass(frozen=True)
class ReceiveInvitation:
    invitation_url: str


@dataclass(frozen=True)
class ForConnection:
    """Arguments of receiveMessage, receiveCredential and presentationExchange."""

    connection_id: str | None = None


@dataclass(frozen=True)
class DeleteOobRecord:
    out_of_band_id: str


@dataclass(frozen=True)
class PingMediator:
    """Arguments of ping_mediator. False: a ping that asks no answer, which is how a holder asks ACA-Py's
    implicit pickup for its next queued message (an answer would take the one place it has)."""

    response_requested: bool | None = None


@dataclass(frozen=True)
class DiscoverFeatures:
    """Arguments of discover_features: the protocol ids asked about (`*` wildcards)."""

    match: str | None = None


@dataclass(frozen=True)
class ForwardMessages:
    """Arguments of forward_messages: one basic message per content, to the holder of the sender's connection
    (`connection_id`) or of the single-use invitation it accepted (`out_of_band_id`); exactly one of the two."""

    contents: list[str]
    connection_id: str | None = None
    out_of_band_id: str | None = None


@dataclass(frozen=True)
class NoArguments:
    pass


# --- results ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mediation:
    state: str | None
    connection_id: str | None
    endpoint: str | None
    routing_keys: list[str]
    pickup_strategy: str


@dataclass(frozen=True)
class Started:
    holder: str | None
    label: str
    endpoints: list[str]
    mediation: Mediation | None
    ms: int
    returning: bool  # a kept wallet that existed: the holder reused its connections and mediation


@dataclass(frozen=True)
class Pinged:
    connection_id: str
    round_trip_ms: int


@dataclass(frozen=True)
class Features:
    protocols: list[str]
    ms: int


@dataclass(frozen=True)
class Connected:
    connection_id: str
    out_of_band_id: str
    invitation_id: str
    their_label: str | None
    ms: int


@dataclass(frozen=True)
class Invitation:
    invitation_url: str
    out_of_band_id: str


@dataclass(frozen=True)
class Forwarded:
    sent: int
    pack_ms: int
    post_ms: int
    endpoint: str
    posted_at_ms: float  # the first post's start on the host's monotonic clock: time.monotonic() * 1000


@dataclass(frozen=True)
class Message:
    connection_id: str
    content: str
    sent_time: str
    received_at_ms: float  # its arrival at the holder on the host's monotonic clock: time.monotonic() * 1000


@dataclass(frozen=True)
class DidKey:
    did: str


@dataclass(frozen=True)
class CredentialStored:
    credential_exchange_id: str
    thread_id: str
    ms: int


@dataclass(frozen=True)
class PresentationDone:
    proof_exchange_id: str
    thread_id: str
    ms: int


@dataclass(frozen=True)
class Deleted:
    deleted: str


@dataclass(frozen=True)
class Dropped:
    closed_sockets: int
    reconnect_ms: int | None  # None: no socket to the mediator was open, so none was dropped


@dataclass(frozen=True)
class SocketAddress:
    """One TCP connection to the mediator, as the holder's side sees it."""

    local_address: str
    local_port: int
    remote_address: str
    remote_port: int


@dataclass(frozen=True)
class MediatorSockets:
    sockets: list[SocketAddress]


@dataclass(frozen=True)
class WentOffline:
    closed_sockets: int


@dataclass(frozen=True)
class WentOnline:
    ms: int


@dataclass(frozen=True)
class Versions:
    node: str
    credo: str


@dataclass(frozen=True)
class Status:
    started: bool
    label: str | None
    holders: int
    pid: int
    uptime_ms: int
    rss_bytes: int
    heap_used_bytes: int
    pending_messages: int
    versions: Versions


@dataclass(frozen=True)
class LoopDelay:
    """How late the agent process's event loop ran its callbacks over the last `period_ms`."""

    p50_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    period_ms: float


@dataclass(frozen=True)
class Timing:
    """A reply's stamps (PROTOCOL.md, "Timing stamps"): the agent's whole handling of the command and,
    for a command that waited on the target, the sum of its waits for the target's answers (None otherwise)."""

    agent_ms: float
    target_ms: float | None = None


@dataclass(frozen=True)
class Command:
    """One command of the protocol: its wire name and the dataclasses of its arguments and result."""

    name: str
    arguments: type
    result: type | None  # None: the result is the string "ok"


COMMANDS: dict[str, Command] = {
    command.name: command
    for command in (
        Command("start", StartOptions, Started),
        Command("ping_mediator", PingMediator, Pinged),
        Command("discover_features", DiscoverFeatures, Features),
        Command("drop_connection", NoArguments, Dropped),
        Command("mediator_sockets", NoArguments, MediatorSockets),
        Command("go_offline", NoArguments, WentOffline),
        Command("go_online", NoArguments, WentOnline),
        Command("create_invitation", NoArguments, Invitation),
        Command("forward_messages", ForwardMessages, Forwarded),
        Command("receiveInvitation", ReceiveInvitation, Connected),
        Command("receiveMessage", ForConnection, Message),
        Command("createDidKey", NoArguments, DidKey),
        Command("receiveCredential", ForConnection, CredentialStored),
        Command("presentationExchange", ForConnection, PresentationDone),
        Command("deleteOobRecordById", DeleteOobRecord, Deleted),
        Command("status", NoArguments, Status),
        Command("event_loop_delay", NoArguments, LoopDelay),
        Command("shutdown", NoArguments, None),
    )
}
