"""Locust entry file for the mediator_ping scenario: `locust -f locustfiles/mediator_ping.py`."""

from akrida.scenarios.mediator_ping import MediatorPingUser
from akrida.scenarios.shapes import load_shape

LoadShape = load_shape()  # STAGES or ARRIVAL_RATE; None: USERS, SPAWN_RATE and RUN_TIME

__all__ = ["LoadShape", "MediatorPingUser"]
