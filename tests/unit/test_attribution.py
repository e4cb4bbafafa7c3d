"""Failure attribution: the rule that puts each failure on the target's side or on Akrida's."""

import pytest

from akrida.agent import AgentCrashed, AgentHung, CommandFailed, PortPoolExhausted, ProtocolViolation
from akrida.controllers import ControllerError, TargetUnreachable
from akrida.scenarios.attribution import TargetFailure, is_harness_failure


@pytest.mark.parametrize(
    "error",
    [
        CommandFailed("ping_mediator", "timeout", "no answer"),
        CommandFailed("start", "failed", "mediation refused"),
        ControllerError("POST /present-proof-2.0/send-request failed (500)"),
        TargetUnreachable("ISSUER_URL cannot be reached"),
        TargetFailure("the verifier did not verify the presentation (state abandoned)"),
    ],
)
def test_failures_of_the_system_under_test(error):
    assert not is_harness_failure(error)


@pytest.mark.parametrize(
    "error",
    [
        CommandFailed("start", "request", "bad argument"),
        CommandFailed("start", "local", "wallet failed"),
        AgentCrashed("exited"),
        AgentHung("no reply"),
        ProtocolViolation("not JSON"),
        PortPoolExhausted("no free port"),
        KeyError("a bug in a scenario"),
    ],
)
def test_failures_of_the_harness(error):
    assert is_harness_failure(error)
