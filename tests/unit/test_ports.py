import socket

import pytest

from akrida.agent import PortPool, PortPoolExhausted


def test_hands_out_each_port_once_and_takes_them_back():
    pool = PortPool(20300, 20302)
    ports = [pool.acquire() for _ in range(3)]
    assert sorted(ports) == [20300, 20301, 20302]
    assert pool.in_use == 3
    pool.release(ports[1])
    assert pool.acquire() == ports[1]


def test_exhaustion_is_a_clear_error_not_a_hang():
    pool = PortPool(20310, 20311)
    pool.acquire(), pool.acquire()
    with pytest.raises(PortPoolExhausted) as caught:
        pool.acquire()
    message = str(caught.value)
    assert "AGENT_PORT_RANGE=20310-20311" in message
    assert "widen AGENT_PORT_RANGE" in message


def test_skips_ports_taken_by_other_programs():
    with socket.socket() as squatter:
        squatter.bind(("0.0.0.0", 20320))
        squatter.listen()
        pool = PortPool(20320, 20321)
        assert pool.acquire() == 20321
        with pytest.raises(PortPoolExhausted):
            pool.acquire()


def test_release_of_unknown_port_is_harmless():
    pool = PortPool(20330, 20330)
    pool.release(1234)
    assert pool.acquire() == 20330
