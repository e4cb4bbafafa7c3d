"""Locust entry file for the issue scenario: `locust -f locustfiles/issue.py`."""

from akrida.scenarios.credentials import IssueUser
from akrida.scenarios.shapes import stages_shape

StagesShape = stages_shape()  # STAGES, or None: USERS, SPAWN_RATE and RUN_TIME

__all__ = ["IssueUser", "StagesShape"]
