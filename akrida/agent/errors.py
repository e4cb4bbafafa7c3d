"""What can go wrong between the driver and a holder agent, and whose fault it is.

`harness` is True when the fault is ours (the agent process, its protocol, our resources) and False
when the system under test failed (it refused, broke an exchange or did not answer in time).
Scenarios report the two under different Locust request types so readers can tell them apart.
"""

from __future__ import annotations

from typing import Any


class AgentError(Exception):
    harness = True


class CommandFailed(AgentError):
    """The agent replied {"error": 1}. Its `kind` says whose fault it was (see agent/PROTOCOL.md)."""

    HARNESS_KINDS = frozenset({"request", "local"})

    def __init__(self, command: str, kind: str, message: str):
        self.command = command
        self.kind = kind
        self.harness = kind in self.HARNESS_KINDS
        self.timing: Any = None  # the reply's stamps (akrida.agent.messages.Timing), when it had them
        super().__init__(f"{command} failed ({kind}): {message}")


class AgentCrashed(AgentError):
    """The agent process exited or closed its stdout."""


class AgentHung(AgentError):
    """The agent did not reply within the driver's read timeout, which is above the agent's own."""


class ProtocolViolation(AgentError):
    """The agent wrote something on stdout that is not a reply."""


class PortPoolExhausted(AgentError):
    """Every port of AGENT_PORT_RANGE is taken."""


class AgentNotBuilt(AgentError):
    """The agent or its native libraries are not installed."""
