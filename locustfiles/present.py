"""Locust entry file for the present scenario: `locust -f locustfiles/present.py`."""

from akrida.scenarios.credentials import PresentUser
from akrida.scenarios.shapes import stages_shape

StagesShape = stages_shape()  # STAGES, or None: USERS, SPAWN_RATE and RUN_TIME

__all__ = ["PresentUser", "StagesShape"]
