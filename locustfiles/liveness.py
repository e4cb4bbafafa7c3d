"""Locust entry file for the liveness scenario: `locust -f locustfiles/liveness.py`."""

from akrida.scenarios.liveness import LivenessUser

__all__ = ["LivenessUser"]
