"""Whose fault a failure is: the system under test's, or Akrida's own (the harness's)."""

from __future__ import annotations

from akrida.agent.errors import AgentError
from akrida.controllers.base import ControllerError


class TargetFailure(Exception):
    """The system under test answered wrongly (delivered the wrong message, rejected a valid proof)."""


def is_harness_failure(error: BaseException) -> bool:
    """Agent errors say for themselves; admin API errors and wrong answers are the target's;
    anything else is a bug or a resource problem on our side."""
    if isinstance(error, AgentError):
        return error.harness
    return not isinstance(error, ControllerError | TargetFailure)
