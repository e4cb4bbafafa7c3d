"""Per-process work around a test: generator health sampling and the delivery counts.

Imported by every scenario module so that `locust -f locustfiles/<scenario>.py` gets it too.
"""

from __future__ import annotations

import contextlib

import gevent
from locust import events
from locust.env import Environment

from akrida.report.health import INTERVAL_SECONDS, HealthLog, HealthSampler
from akrida.scenarios.runtime import get_runtime

_sampler: gevent.Greenlet | None = None


def _sample_forever(log: HealthLog, sampler: HealthSampler) -> None:
    while True:
        with contextlib.suppress(OSError):  # a full disk must not take the load test down with it
            log.write(sampler.sample())
        gevent.sleep(INTERVAL_SECONDS)


@events.init.add_listener
def _start_health_sampling(environment: Environment, **_kwargs) -> None:
    global _sampler
    runtime = get_runtime()
    if runtime.run_dir is None or _sampler is not None:
        return
    sampler = HealthSampler(
        live_holders=lambda: runtime.hosts.live_holders, agent_hosts=lambda: runtime.hosts.live_hosts
    )
    _sampler = gevent.spawn(_sample_forever, HealthLog(runtime.run_dir), sampler)


@events.quit.add_listener
def _finish(**_kwargs) -> None:
    runtime = get_runtime()
    if _sampler is not None:
        _sampler.kill(block=False)
    if runtime.run_dir is not None and runtime.delivery.sent:
        runtime.delivery.write(runtime.run_dir)
    runtime.kill_all_agents()  # the last line of defence: no agent outlives the run
