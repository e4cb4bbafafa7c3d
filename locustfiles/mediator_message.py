"""Locust entry file for the mediator_message scenario: `locust -f locustfiles/mediator_message.py`."""

from akrida.scenarios.mediator_message import MediatorMessageUser
from akrida.scenarios.shapes import load_shape

LoadShape = load_shape()  # STAGES or ARRIVAL_RATE; None: USERS, SPAWN_RATE and RUN_TIME

__all__ = ["LoadShape", "MediatorMessageUser"]
