"""Holders without mediation listen on one address, never on every interface unless told to.

Drives the real agent; the addresses are loopback ones (127.0.0.1 and 127.0.0.2).
"""

from __future__ import annotations

import psutil
import pytest

from akrida.agent import AgentConfig, AgentHost, HolderClient, StartOptions
from tests.unit.test_agent_protocol import SCRIPT


@pytest.fixture
def host(tmp_path):
    host = AgentHost(AgentConfig(script=SCRIPT, timeout=20, log_dir=tmp_path), "agent-listening", capacity=2)
    host.spawn()
    yield host
    host.kill()


def listening_addresses(pid: int, port: int) -> set[str]:
    return {
        connection.laddr.ip
        for connection in psutil.Process(pid).net_connections(kind="tcp")
        if connection.status == psutil.CONN_LISTEN and connection.laddr.port == port
    }


@pytest.mark.parametrize(("inbound_host", "expected"), [(None, "127.0.0.1"), ("127.0.0.2", "127.0.0.2")])
def test_the_inbound_port_listens_on_one_address(host, inbound_host, expected):
    port = 20580 if inbound_host is None else 20581
    host.handles.add("h")
    HolderClient(host, "h").start(StartOptions(inbound_port=port, inbound_host=inbound_host))
    assert listening_addresses(host.pid, port) == {expected}
