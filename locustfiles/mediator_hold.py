"""Locust entry file for the mediator_hold scenario: `locust -f locustfiles/mediator_hold.py`."""

from akrida.scenarios.mediator_hold import MediatorHoldUser
from akrida.scenarios.shapes import stages_shape

StagesShape = stages_shape()  # STAGES, or None: USERS, SPAWN_RATE and RUN_TIME

__all__ = ["MediatorHoldUser", "StagesShape"]
