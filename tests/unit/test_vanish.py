"""Silent disconnects and the forward sender, without the network: their settings are checked before any
load, and a holder's connection is named to the packet filter exactly (tests/integration/test_vanish.py
drops real packets)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import cast

import pytest

from akrida.agent.messages import COMMANDS, MediatorSockets, SocketAddress, from_wire
from akrida.agent.silence import Connection, SilenceUnavailable
from akrida.cluster.remote import RemoteHost
from akrida.cluster.state import Host
from akrida.execute.remote_silence import check_silence, remove_stale_silence
from akrida.settings import Settings, SettingsError
from tests.conftest import ROOT


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


class LocalShell:
    """A load host's shell, here: runs what the cluster run would send over SSH (akrida.cluster.remote)."""

    def __init__(self, path: str):
        self.path = path

    def run(self, command: str, timeout: float = 60, check: bool = True) -> str:
        environment = {**os.environ, "PATH": self.path}
        shell = ["/bin/bash", "-c", command]
        done = subprocess.run(shell, capture_output=True, text=True, env=environment, timeout=timeout)
        assert done.returncode == 0 or not check, done.stderr
        return done.stdout


def test_a_cluster_run_refuses_a_worker_that_cannot_silence_naming_it_and_what_to_do(tmp_path):
    # The worker's release, as the playbook lays it out: its venv's Python and its home.
    (tmp_path / "current").mkdir()
    (tmp_path / "current" / "venv").symlink_to(Path(sys.prefix))
    (tmp_path / "current" / "home").symlink_to(ROOT)
    worker = Host("worker-2", "10.0.0.12", "10.0.0.12", str(tmp_path))
    without_nft = LocalShell(str(tmp_path))  # a PATH with no nft in it
    with pytest.raises(SettingsError, match=r"worker-2: CHURN_DISCONNECT=silent .* `nft` is not installed: install"):
        check_silence(cast(RemoteHost, without_nft), worker)
    assert remove_stale_silence(cast(RemoteHost, without_nft), worker) == []  # nothing to clean without nft
