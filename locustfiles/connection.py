"""Locust entry file for the connection scenario: `locust -f locustfiles/connection.py`."""

from akrida.scenarios.connection import ConnectionUser
from akrida.scenarios.shapes import load_shape

LoadShape = load_shape()  # STAGES or ARRIVAL_RATE; None: USERS, SPAWN_RATE and RUN_TIME

__all__ = ["ConnectionUser", "LoadShape"]
