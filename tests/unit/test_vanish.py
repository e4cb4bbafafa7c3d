"""Silent disconnects and the forward sender, without the network: their settings are checked before any
load, and a holder's connection is named to the packet filter exactly (tests/integration/test_vanish.py
drops real packets)."""

from __future__ import annotations

import pytest

from akrida.agent.messages import COMMANDS, MediatorSockets, SocketAddress, from_wire
from akrida.agent.silence import Connection, SilenceUnavailable
from akrida.settings import Settings, SettingsError


def load(**values: str) -> Settings:
    return Settings.load(values, env_file=None)


def test_silent_disconnects_need_the_churn_scenario_and_a_pickup_that_keeps_a_socket():
    assert load(SCENARIO="mediator_churn", CHURN_DISCONNECT="silent").churn_disconnect == "silent"
    assert load(SCENARIO="mediator_churn").churn_disconnect == "close"
    with pytest.raises(SettingsError, match="CHURN_DISCONNECT=silent applies to SCENARIO=mediator_churn"):
        load(SCENARIO="mediator_ping", CHURN_DISCONNECT="silent")
    with pytest.raises(SettingsError, match="PICKUP_STRATEGY=pickup_v1 keeps none open: use implicit or"):
        load(SCENARIO="mediator_churn", CHURN_DISCONNECT="silent", PICKUP_STRATEGY="pickup_v1")
    with pytest.raises(SettingsError, match="CHURN_DISCONNECT='vanish'"):
        load(CHURN_DISCONNECT="vanish")


def test_forward_batch_is_bounded():
    assert load(SCENARIO="mediator_forward", FORWARD_BATCH="50").forward_batch == 50
    with pytest.raises(SettingsError, match="FORWARD_BATCH"):
        load(FORWARD_BATCH="0")


def test_the_packet_filter_is_given_the_holders_one_connection_both_ends_exactly():
    # As the agent reports it on a dual-stack socket: the holder's address in its IPv6-mapped form.
    sockets = from_wire(
        MediatorSockets,
        {"sockets": [{"localAddress": "::ffff:127.0.0.1", "localPort": 40312,
                      "remoteAddress": "127.0.0.1", "remotePort": 13101}]},
    )  # fmt: skip
    assert sockets.sockets == [SocketAddress("::ffff:127.0.0.1", 40312, "127.0.0.1", 13101)]
    assert COMMANDS["mediator_sockets"].result is MediatorSockets
    connection = Connection.of(sockets.sockets[0])
    assert connection.element() == "127.0.0.1 . 40312 . 127.0.0.1 . 13101"
    assert connection.loopback
    with pytest.raises(SilenceUnavailable, match="IPv6 connection"):
        Connection.of(SocketAddress("::1", 40312, "::1", 13101))
