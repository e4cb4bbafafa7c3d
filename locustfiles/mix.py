"""Locust entry file for the mix scenario: `locust -f locustfiles/mix.py`."""

from akrida.scenarios.credentials import MixUser

__all__ = ["MixUser"]
