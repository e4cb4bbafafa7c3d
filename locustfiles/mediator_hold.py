"""Locust entry file for the mediator_hold scenario: `locust -f locustfiles/mediator_hold.py`."""

from akrida.scenarios.mediator_hold import MediatorHoldUser

__all__ = ["MediatorHoldUser"]
