"""The Python side of the agent protocol: agent hosts, the typed holder client, and their ports."""

from akrida.agent.client import HolderClient
from akrida.agent.errors import (
    AgentCrashed,
    AgentError,
    AgentHung,
    AgentNotBuilt,
    CommandFailed,
    PortPoolExhausted,
    ProtocolViolation,
)
from akrida.agent.host import AgentConfig, AgentHost
from akrida.agent.messages import StartOptions
from akrida.agent.pool import HostPool
from akrida.agent.ports import PortPool

__all__ = [
    "AgentConfig",
    "AgentCrashed",
    "AgentError",
    "AgentHost",
    "AgentHung",
    "AgentNotBuilt",
    "CommandFailed",
    "HolderClient",
    "HostPool",
    "PortPool",
    "PortPoolExhausted",
    "ProtocolViolation",
    "StartOptions",
]
