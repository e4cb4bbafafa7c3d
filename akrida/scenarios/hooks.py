"""Per-process work around a test: generator health sampling, the delivery counts and the timeline.

Imported by every scenario module so that `locust -f locustfiles/<scenario>.py` gets it too.
"""

from __future__ import annotations

import contextlib
import os
import time

import gevent
from locust import events
from locust.env import Environment
from locust.runners import MasterRunner

from akrida.redact import protect_output
from akrida.report.health import INTERVAL_SECONDS, HealthLog, HealthSampler
from akrida.report.stats import write_locust_exit
from akrida.scenarios import gating  # noqa: F401 - registers the SLO gates
from akrida.scenarios.final_stats import write_final_stats
from akrida.scenarios.runtime import ATTRIBUTE, renew_runtime, runtime_of
from akrida.scenarios.storm import count_failures_during_storm, run_storm
from akrida.settings import SECRET_VARIABLES

# From the first line Locust may print, before its arguments are parsed (the runtime adds the rest).
protect_output(os.environ.get(name, "") for name in SECRET_VARIABLES)

_sampler: gevent.Greenlet | None = None
_storm: gevent.Greenlet | None = None


def _sample_forever(log: HealthLog, sampler: HealthSampler) -> None:
    while True:
        with contextlib.suppress(OSError):  # a full disk must not take the load test down with it
            log.write(sampler.sample())
        gevent.sleep(INTERVAL_SECONDS)


@events.init.add_listener
def _start_health_sampling(environment: Environment, **_kwargs) -> None:
    global _sampler
    run_dir = runtime_of(environment).run_dir
    if run_dir is None or _sampler is not None:
        return

    def current():  # the runtime of the test that runs now: each test renews it
        return getattr(environment, ATTRIBUTE)

    sampler = HealthSampler(
        live_holders=lambda: current().hosts.live_holders, agent_hosts=lambda: current().hosts.live_hosts
    )
    _sampler = gevent.spawn(_sample_forever, HealthLog(run_dir), sampler)


@events.init.add_listener
def _keep_timeline(environment: Environment, **_kwargs) -> None:
    def record(request_type: str, name: str, response_time: float, exception: BaseException | None = None, **_):
        failed = exception is not None
        runtime = runtime_of(environment)
        runtime.timeline.record(time.time(), request_type, name, response_time or 0.0, failed)
        count_failures_during_storm(runtime, request_type, exception)

    environment.events.request.add_listener(record)


@events.test_start.add_listener
def _renew_runtime(environment: Environment, **_kwargs) -> None:
    # On a worker, the master's arguments arrive with the first spawn message, just before this event.
    global _storm
    runtime = renew_runtime(environment)
    _stop_storm()
    # The master of a distributed run holds no holders: each worker storms its own.
    if runtime.settings.storm_at is not None and not isinstance(environment.runner, MasterRunner):
        _storm = gevent.spawn(run_storm, environment, runtime, runtime.settings.storm_at)


@events.test_stop.add_listener
def _end_storm(**_kwargs) -> None:
    _stop_storm()


def _stop_storm() -> None:
    global _storm
    if _storm is not None:
        _storm.kill(block=False)
        _storm = None


@events.init.add_listener
def _finish_at_quit(environment: Environment, **_kwargs) -> None:
    # `quit` comes after the users stopped (`quitting` comes before), but it carries no environment.
    environment.events.quit.add_listener(lambda exit_code=None, **_: _finish(environment, exit_code))


def _finish(environment: Environment, exit_code: int | None) -> None:
    with contextlib.suppress(OSError):  # a full disk: Locust's own CSV is still there
        write_final_stats(environment)
    runtime = runtime_of(environment)
    if _sampler is not None:
        _sampler.kill(block=False)
    if runtime.run_dir is not None and runtime.delivery.sent:
        runtime.delivery.write(runtime.run_dir)
    if runtime.run_dir is not None and runtime.storm is not None:
        if not runtime.storm.ended:  # the run ended during the storm
            runtime.storm.ended = time.time()
        with contextlib.suppress(OSError):
            runtime.storm.write(runtime.run_dir)
    if runtime.run_dir is not None and runtime.timeline.times:
        with contextlib.suppress(OSError):
            runtime.timeline.write(runtime.run_dir)
    runtime.kill_all_agents()  # the last line of defence: no agent outlives the run
    if runtime.run_dir is not None and exit_code is not None:
        # Last: the executor reads this file as "Locust ran its course", so a crash leaves none.
        with contextlib.suppress(OSError):
            write_locust_exit(runtime.run_dir, exit_code)
