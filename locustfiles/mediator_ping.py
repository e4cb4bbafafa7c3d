"""Locust entry file for the mediator_ping scenario: `locust -f locustfiles/mediator_ping.py`."""

from akrida.scenarios.mediator_ping import MediatorPingUser

__all__ = ["MediatorPingUser"]
