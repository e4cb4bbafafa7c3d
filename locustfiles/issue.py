"""Locust entry file for the issue scenario: `locust -f locustfiles/issue.py`."""

from akrida.scenarios.credentials import IssueUser

__all__ = ["IssueUser"]
