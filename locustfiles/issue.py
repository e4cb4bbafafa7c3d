"""Locust entry file for the issue scenario: `locust -f locustfiles/issue.py`."""

from akrida.scenarios.credentials import IssueUser
from akrida.scenarios.shapes import load_shape

LoadShape = load_shape()  # STAGES or ARRIVAL_RATE; None: USERS, SPAWN_RATE and RUN_TIME

__all__ = ["IssueUser", "LoadShape"]
