"""Several mediator invitations: MEDIATION_URL with more than one, MEDIATOR_INVITATIONS, and how holders
are spread across them (the Locust side of it: tests/locust_side/checks_invitations.py)."""

from __future__ import annotations

import socket

import pytest

from akrida.egress import allowed_hosts
from akrida.preflight import TargetUnreachable, check_mediator
from akrida.settings import MAX_MEDIATOR_INVITATIONS, Settings, SettingsError
from tests.unit.test_egress import invitation_url


def load(**values: str) -> Settings:
    return Settings.load(values, env_file=None)


def test_mediation_url_takes_several_invitations_separated_by_spaces():
    first, second = invitation_url("ws://127.0.0.1:8101"), invitation_url("http://127.0.0.2:8100")
    settings = load(MEDIATION_URL=f"  {first}\n {second} ")
    assert settings.mediation_urls == (first, second)
    assert settings.mediation_url == f"{first} {second}"  # as it reaches Locust and the cluster's hosts
    assert load(MEDIATION_URL=first).mediation_urls == (first,)
    assert load().mediation_urls == ()


def test_a_broken_invitation_among_several_is_named_by_its_position():
    with pytest.raises(SettingsError) as raised:
        load(MEDIATION_URL=f"{invitation_url('ws://127.0.0.1:8101')} http://127.0.0.1:8101/?oob=bm90IGpzb24")
    assert "MEDIATION_URL=" in str(raised.value)
    assert "invitation 2 of 2" in str(raised.value)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"USERS": "1"}, 1),
        ({"USERS": "50"}, 1),
        ({"USERS": "51"}, 2),
        ({"USERS": "2000"}, 40),
        ({"USERS": "1000000"}, MAX_MEDIATOR_INVITATIONS),
        ({"STAGES": "1m:120,1m:30"}, 3),  # the peak of the stages
        ({"USERS": "2000", "MEDIATOR_INVITATIONS": "1"}, 1),
        ({"USERS": "10", "MEDIATOR_INVITATIONS": "7"}, 7),
    ],
)
def test_the_embedded_mediator_makes_one_invitation_per_50_holders_unless_told(values, expected):
    assert load(**values).embedded_invitations == expected


def test_mediator_invitations_shows_auto_by_default():
    assert load().as_environment()["MEDIATOR_INVITATIONS"] == "auto"
    assert load(MEDIATOR_INVITATIONS="AUTO").mediator_invitations == 0
    assert load(MEDIATOR_INVITATIONS="3").as_environment()["MEDIATOR_INVITATIONS"] == "3"


@pytest.mark.parametrize("raw", ["0", "-1", "many", "1.5", str(MAX_MEDIATOR_INVITATIONS + 1)])
def test_mediator_invitations_refuses_what_is_not_auto_or_a_count(raw):
    with pytest.raises(SettingsError) as raised:
        load(MEDIATOR_INVITATIONS=raw)
    assert f"MEDIATOR_INVITATIONS='{raw}'" in str(raised.value)
    assert f"auto or a whole number from 1 to {MAX_MEDIATOR_INVITATIONS}" in str(raised.value)


def test_the_agents_may_reach_the_hosts_of_every_invitation():
    urls = [invitation_url("ws://127.0.0.1:8101"), invitation_url("http://127.0.0.2:8100")]
    assert allowed_hosts(load(MEDIATION_URL=" ".join(urls)), None) == ("127.0.0.1", "127.0.0.2")


def test_preflight_checks_the_endpoints_of_every_invitation():
    with socket.create_server(("127.0.0.1", 0)) as server:
        reachable = f"http://127.0.0.1:{server.getsockname()[1]}"
        with socket.create_server(("127.0.0.1", 0)) as closed:
            unreachable = f"http://127.0.0.1:{closed.getsockname()[1]}"  # nothing listens once closed
        line = check_mediator((invitation_url(reachable), invitation_url(reachable)))
        assert line == f"mediator endpoint {reachable} accepts connections"
        with pytest.raises(TargetUnreachable) as raised:
            check_mediator((invitation_url(reachable), invitation_url(unreachable)))
        assert unreachable in str(raised.value)
