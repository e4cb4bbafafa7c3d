"""Locust entry file for the mix scenario: `locust -f locustfiles/mix.py`."""

from akrida.scenarios.credentials import MixUser
from akrida.scenarios.shapes import load_shape

LoadShape = load_shape()  # STAGES or ARRIVAL_RATE; None: USERS, SPAWN_RATE and RUN_TIME

__all__ = ["LoadShape", "MixUser"]
