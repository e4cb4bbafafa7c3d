"""Locust entry file for the issue_revoke scenario: `locust -f locustfiles/issue_revoke.py`."""

from akrida.scenarios.credentials import IssueRevokeUser
from akrida.scenarios.shapes import load_shape

LoadShape = load_shape()  # STAGES or ARRIVAL_RATE; None: USERS, SPAWN_RATE and RUN_TIME

__all__ = ["IssueRevokeUser", "LoadShape"]
