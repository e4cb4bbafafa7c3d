"""Locust entry file for the connection scenario: `locust -f locustfiles/connection.py`."""

from akrida.scenarios.connection import ConnectionUser
from akrida.scenarios.shapes import stages_shape

StagesShape = stages_shape()  # STAGES, or None: USERS, SPAWN_RATE and RUN_TIME

__all__ = ["ConnectionUser", "StagesShape"]
