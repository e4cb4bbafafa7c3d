"""Locust entry file for the present scenario: `locust -f locustfiles/present.py`."""

from akrida.scenarios.credentials import PresentUser
from akrida.scenarios.shapes import load_shape

LoadShape = load_shape()  # STAGES or ARRIVAL_RATE; None: USERS, SPAWN_RATE and RUN_TIME

__all__ = ["LoadShape", "PresentUser"]
