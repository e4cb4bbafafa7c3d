"""Locust entry file for the mediator_message scenario: `locust -f locustfiles/mediator_message.py`."""

from akrida.scenarios.mediator_message import MediatorMessageUser

__all__ = ["MediatorMessageUser"]
