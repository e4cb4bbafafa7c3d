"""Locust entry file for the present scenario: `locust -f locustfiles/present.py`."""

from akrida.scenarios.credentials import PresentUser

__all__ = ["PresentUser"]
