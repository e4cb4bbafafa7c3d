"""Locust entry file for the issue_revoke scenario: `locust -f locustfiles/issue_revoke.py`."""

from akrida.scenarios.credentials import IssueRevokeUser

__all__ = ["IssueRevokeUser"]
