"""liveness: plain HTTP users poll the issuer's /status/live; a baseline for its admin API.

No holder agents: this measures the admin API and the harness's own ceiling.
"""

from locust import User, between, task

from akrida.scenarios import hooks  # noqa: F401 - registers the per-process listeners
from akrida.scenarios.runtime import runtime_of
from akrida.scenarios.steps import ADMIN, StepFailed, TargetFailure, step


class LivenessUser(User):
    wait_time = between(0.5, 1.0)

    @task
    def live(self) -> None:
        issuer = runtime_of(self.environment).issuer
        try:
            with step(self.environment, "liveness", ADMIN):
                if not issuer.is_live():
                    raise TargetFailure("the issuer says it is not alive")
        except StepFailed:
            pass
