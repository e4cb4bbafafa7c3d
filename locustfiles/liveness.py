"""Locust entry file for the liveness scenario: `locust -f locustfiles/liveness.py`."""

from akrida.scenarios.liveness import LivenessUser
from akrida.scenarios.shapes import load_shape

LoadShape = load_shape()  # STAGES or ARRIVAL_RATE; None: USERS, SPAWN_RATE and RUN_TIME

__all__ = ["LivenessUser", "LoadShape"]
