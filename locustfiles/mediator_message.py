"""Locust entry file for the mediator_message scenario: `locust -f locustfiles/mediator_message.py`."""

from akrida.scenarios.mediator_message import MediatorMessageUser
from akrida.scenarios.shapes import stages_shape

StagesShape = stages_shape()  # STAGES, or None: USERS, SPAWN_RATE and RUN_TIME

__all__ = ["MediatorMessageUser", "StagesShape"]
