"""Locust entry file for the mediator_ping scenario: `locust -f locustfiles/mediator_ping.py`."""

from akrida.scenarios.mediator_ping import MediatorPingUser
from akrida.scenarios.shapes import stages_shape

StagesShape = stages_shape()  # STAGES, or None: USERS, SPAWN_RATE and RUN_TIME

__all__ = ["MediatorPingUser", "StagesShape"]
