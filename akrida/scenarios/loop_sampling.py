"""Samples the event-loop delay of this Locust process's agent processes into the run folder."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

import gevent

from akrida.agent import AgentError, AgentHost
from akrida.agent.messages import LoopDelay, from_wire
from akrida.report.loop_delay import INTERVAL_SECONDS, LoopLog, LoopSample

# An agent whose loop is stuck answers late; the sampler waits this long, then names no figure for it
# (its holders' own steps report the hang).
ASK_SECONDS = 5.0


def sample_loops(hosts: Callable[[], list[AgentHost]]) -> list[LoopSample]:
    samples = []
    for host in hosts():
        if not host.alive or host.pid is None:
            continue
        try:
            delay = from_wire(LoopDelay, host.request("event_loop_delay", read_timeout=ASK_SECONDS))
        except (AgentError, TypeError):
            continue  # an older agent without the command, or one that is dying: no figure
        samples.append(
            LoopSample(time.time(), host.name, host.pid, delay.p50_ms, delay.p99_ms, delay.max_ms, delay.mean_ms)
        )
    return samples


def sample_forever(log: LoopLog, hosts: Callable[[], list[AgentHost]]) -> None:
    while True:
        gevent.sleep(INTERVAL_SECONDS)
        with contextlib.suppress(OSError):  # a full disk must not take the load test down with it
            log.write(sample_loops(hosts))
