"""Locust entry file for the issue_revoke scenario: `locust -f locustfiles/issue_revoke.py`."""

from akrida.scenarios.credentials import IssueRevokeUser
from akrida.scenarios.shapes import stages_shape

StagesShape = stages_shape()  # STAGES, or None: USERS, SPAWN_RATE and RUN_TIME

__all__ = ["IssueRevokeUser", "StagesShape"]
