"""Whose fault a failure is: the system under test's, or Akrida's own (the harness's); and whether it
was a timeout, whose wait is kept out of the latency of successes."""

from __future__ import annotations

from akrida.agent.errors import AgentError, AgentHung, CommandFailed
from akrida.controllers.base import ControllerError, ControllerTimeout


class TargetFailure(Exception):
    """The system under test answered wrongly (delivered the wrong message, rejected a valid proof)."""


def is_harness_failure(error: BaseException) -> bool:
    """Agent errors say for themselves; admin API errors and wrong answers are the target's;
    anything else is a bug or a resource problem on our side."""
    if isinstance(error, AgentError):
        return error.harness
    return not isinstance(error, ControllerError | TargetFailure)


def is_timeout(error: BaseException | None) -> bool:
    """A wait that ran out: the agent's own (kind `timeout`), the driver's read timeout above it, or an
    admin API call or poll with no answer in time."""
    if isinstance(error, CommandFailed):
        return error.kind == "timeout"
    return isinstance(error, AgentHung | ControllerTimeout | TimeoutError)
