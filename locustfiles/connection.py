"""Locust entry file for the connection scenario: `locust -f locustfiles/connection.py`."""

from akrida.scenarios.connection import ConnectionUser

__all__ = ["ConnectionUser"]
