"""Locust entry file for the liveness scenario: `locust -f locustfiles/liveness.py`."""

from akrida.scenarios.liveness import LivenessUser
from akrida.scenarios.shapes import stages_shape

StagesShape = stages_shape()  # STAGES, or None: USERS, SPAWN_RATE and RUN_TIME

__all__ = ["LivenessUser", "StagesShape"]
