"""Holders of one Locust process take MEDIATION_URL's invitations in turn.

Run by tests/unit/test_locust_side.py in a pytest process of its own (Locust must patch the standard
library before anything imports ssl).
"""

from __future__ import annotations

import collections

from akrida.scenarios.runtime import Runtime
from akrida.settings import Settings
from tests.unit.test_egress import invitation_url


def load(**values: str) -> Settings:
    return Settings.load(values, env_file=None)


def test_holders_of_one_process_take_the_invitations_in_turn():
    urls = [invitation_url(f"ws://127.0.0.{number}:8101") for number in (1, 2, 3)]
    runtime = Runtime(load(MEDIATION_URL=" ".join(urls)))
    taken = [runtime.next_invitation() for _ in range(30)]
    assert collections.Counter(taken) == {url: 10 for url in urls}
    assert all(taken[i] != taken[i + 1] for i in range(len(taken) - 1))


def test_without_a_mediator_a_holder_gets_no_invitation():
    assert Runtime(load()).next_invitation() == ""
