"""Locust users, one module per scenario. The list of scenarios is akrida/catalog.py."""

from __future__ import annotations

from akrida.catalog import ADMIN, DIDCOMM, HARNESS, SCENARIOS, Scenario

__all__ = ["ADMIN", "DIDCOMM", "HARNESS", "SCENARIOS", "Scenario"]
