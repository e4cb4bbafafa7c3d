"""What the checks of Akrida's settings inside Locust share: a clean environment and Locust's own parser.

A plain module, not a conftest: pytest would import a conftest while collecting tests/, before Locust,
and the checks need Locust imported first (tests/unit/test_locust_side.py).
"""

from __future__ import annotations

import argparse

import pytest
from locust.argument_parser import get_parser

from akrida.settings import SETTINGS


@pytest.fixture
def clean_environ(monkeypatch, tmp_path):
    """No setting from the machine's environment or a .env file leaks into these tests."""
    for declared in SETTINGS:
        monkeypatch.delenv(declared.env, raising=False)
    monkeypatch.chdir(tmp_path)


def parse(*arguments: str) -> argparse.Namespace:
    """A Locust process's options, parsed now (Locust's parser reads the variables and ./.env as it parses)."""
    return get_parser().parse_args(["-f", "locustfiles/mediator_ping.py", *arguments])
