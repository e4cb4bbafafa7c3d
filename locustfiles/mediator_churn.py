"""Locust entry file for the mediator_churn scenario: `locust -f locustfiles/mediator_churn.py`."""

from akrida.scenarios.mediator_churn import MediatorChurnUser
from akrida.scenarios.shapes import load_shape

LoadShape = load_shape()  # STAGES or ARRIVAL_RATE; None: USERS, SPAWN_RATE and RUN_TIME

__all__ = ["LoadShape", "MediatorChurnUser"]
