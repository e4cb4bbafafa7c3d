"""Locust entry file for the mix scenario: `locust -f locustfiles/mix.py`."""

from akrida.scenarios.credentials import MixUser
from akrida.scenarios.shapes import stages_shape

StagesShape = stages_shape()  # STAGES, or None: USERS, SPAWN_RATE and RUN_TIME

__all__ = ["MixUser", "StagesShape"]
