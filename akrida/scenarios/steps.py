"""Timing each step of a scenario as a Locust request event, with failures put on the right side.

Request types:
- `didcomm`: a step the holder performs against the target (startup, ping_mediator, …);
- `admin`:   a call to the target's admin API (create_invitation, liveness, …);
- `harness`: a failure of Akrida itself (agent crash, hang, protocol error, ports exhausted).
A failure of the system under test keeps the step's own type; a harness failure is reported under
`harness` with the step's name, so a reader can tell at a glance which side failed.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from locust.env import Environment
from locust.exception import RescheduleTask

from akrida.catalog import ADMIN, DIDCOMM, HARNESS
from akrida.scenarios.attribution import TargetFailure, is_harness_failure

__all__ = ["ADMIN", "DIDCOMM", "HARNESS", "StepFailed", "TargetFailure", "fire", "step"]


class StepFailed(RescheduleTask):
    """Ends the current iteration after a failed step; the failure has already been reported."""

    def __init__(self, cause: BaseException, harness: bool):
        super().__init__(str(cause))
        self.cause = cause
        self.harness = harness


def fire(environment: Environment, request_type: str, name: str, started: float,
         exception: BaseException | None = None) -> None:  # fmt: skip
    environment.events.request.fire(
        request_type=request_type,
        name=name,
        response_time=(time.perf_counter() - started) * 1000,
        response_length=0,
        exception=exception,
        context={},
    )


@contextmanager
def step(
    environment: Environment, name: str, request_type: str = DIDCOMM, started: float | None = None
) -> Iterator[None]:
    """Times the block as one request event named `name`; raises StepFailed if it fails. `started` (a
    time.perf_counter()) times it from an earlier moment: when a scheduled request was due."""
    started = time.perf_counter() if started is None else started
    try:
        yield
    except StepFailed:
        raise  # a nested step already reported it
    except Exception as error:
        harness = is_harness_failure(error)
        fire(environment, HARNESS if harness else request_type, name, started, error)
        raise StepFailed(error, harness) from error
    fire(environment, request_type, name, started)
