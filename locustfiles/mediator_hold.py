"""Locust entry file for the mediator_hold scenario: `locust -f locustfiles/mediator_hold.py`."""

from akrida.scenarios.mediator_hold import MediatorHoldUser
from akrida.scenarios.shapes import load_shape

LoadShape = load_shape()  # STAGES or ARRIVAL_RATE; None: USERS, SPAWN_RATE and RUN_TIME

__all__ = ["LoadShape", "MediatorHoldUser"]
