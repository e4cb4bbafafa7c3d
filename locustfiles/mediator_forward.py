"""Locust entry file for the mediator_forward scenario: `locust -f locustfiles/mediator_forward.py`."""

from akrida.scenarios.mediator_forward import MediatorForwardUser
from akrida.scenarios.shapes import load_shape

LoadShape = load_shape()  # STAGES or ARRIVAL_RATE; None: USERS, SPAWN_RATE and RUN_TIME

__all__ = ["LoadShape", "MediatorForwardUser"]
