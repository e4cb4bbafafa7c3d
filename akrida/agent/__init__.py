"""The Python side of the agent protocol: holder subprocesses and their ports."""

from akrida.agent.errors import (
    AgentCrashed,
    AgentError,
    AgentHung,
    AgentNotBuilt,
    CommandFailed,
    PortPoolExhausted,
    ProtocolViolation,
)
from akrida.agent.ports import PortPool
from akrida.agent.process import AgentConfig, AgentProcess

__all__ = [
    "AgentConfig",
    "AgentCrashed",
    "AgentError",
    "AgentHung",
    "AgentNotBuilt",
    "AgentProcess",
    "CommandFailed",
    "PortPool",
    "PortPoolExhausted",
    "ProtocolViolation",
]
