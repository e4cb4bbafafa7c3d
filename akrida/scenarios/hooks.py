"""Per-process work around a test: generator health sampling, the delivery counts and the timeline.

Imported by every scenario module so that `locust -f locustfiles/<scenario>.py` gets it too.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from dataclasses import dataclass

import gevent
from locust import events
from locust.env import Environment
from locust.runners import MasterRunner

from akrida import paths
from akrida.redact import protect_output
from akrida.report.health import INTERVAL_SECONDS, HealthLog, HealthSampler
from akrida.report.loop_delay import LoopLog
from akrida.report.stats import write_locust_exit
from akrida.scenarios import (
    gating,  # noqa: F401 - registers the SLO gates
    metrics,  # registers the live metrics endpoint (PROMETHEUS_PORT)
)
from akrida.scenarios.attribution import is_timeout
from akrida.scenarios.final_stats import write_final_stats
from akrida.scenarios.live_outcomes import keep_live_outcomes
from akrida.scenarios.loop_sampling import sample_forever
from akrida.scenarios.runtime import ATTRIBUTE, renew_runtime, runtime_of
from akrida.scenarios.storm import count_failures_during_storm, run_storm
from akrida.settings import SECRET_VARIABLES

# From the first line Locust may print, before its arguments are parsed (the runtime adds the rest).
protect_output(os.environ.get(name, "") for name in SECRET_VARIABLES)

BACKGROUND = "akrida_background"  # the attribute of Locust's Environment that holds its greenlets


@dataclass
class Background:
    """The greenlets a Locust process runs beside its users: the health and event-loop samplers for
    the process's life, a reconnect storm for one test's."""

    sampler: gevent.Greenlet | None = None
    loop_sampler: gevent.Greenlet | None = None  # the agent processes' event-loop delay
    storm: gevent.Greenlet | None = None

    def stop_storm(self) -> None:
        if self.storm is not None:
            self.storm.kill(block=False)
            self.storm = None


def background_of(environment: Environment) -> Background:
    background = getattr(environment, BACKGROUND, None)
    if background is None:
        background = Background()
        setattr(environment, BACKGROUND, background)
    return background


def _sample_forever(log: HealthLog | None, sampler: HealthSampler) -> None:
    while True:
        sample = sampler.sample()
        metrics.remember_health(sample)
        if log is not None:
            with contextlib.suppress(OSError):  # a full disk must not take the load test down with it
                log.write(sample)
        gevent.sleep(INTERVAL_SECONDS)


@events.init.add_listener
def _start_health_sampling(environment: Environment, **_kwargs) -> None:
    # Also without a run folder (a plain `locust -f`): the live metrics serve the samples.
    background = background_of(environment)
    run_dir = runtime_of(environment).run_dir
    if background.sampler is not None:
        return

    def current():  # the runtime of the test that runs now: each test renews it
        return getattr(environment, ATTRIBUTE)

    sampler = HealthSampler(
        live_holders=lambda: current().hosts.live_holders, agent_hosts=lambda: current().hosts.live_hosts
    )
    # Locust's own warning that its process is out of CPU, kept with the sample of its moment.
    environment.events.cpu_warning.add_listener(lambda cpu_usage=0.0, **_: sampler.locust_warned(cpu_usage))
    background.sampler = gevent.spawn(_sample_forever, HealthLog(run_dir) if run_dir is not None else None, sampler)
    if run_dir is not None:  # the delays are written to the run folder only
        background.loop_sampler = gevent.spawn(sample_forever, LoopLog(run_dir), lambda: current().agent_hosts())


PARENT_CHECK_S = 1.0  # how often a Locust process started by `akrida run` checks that akrida is its parent
# Once akrida is gone, how long Locust gets to stop its holders and write its files before the kernel
# ends it (SIGALRM's default action: it works even if the gevent loop is stuck).
ORPHAN_EXIT_S = 60


@events.init.add_listener
def _quit_with_akrida(environment: Environment, **_kwargs) -> None:
    parent = os.environ.get(paths.PARENT_PID_VARIABLE, "")
    if parent.isdigit():  # started by `akrida run` (a plain `locust -f` has no akrida to outlive)
        gevent.spawn(_quit_when_orphaned, int(parent))


def _quit_when_orphaned(parent: int) -> None:
    """A `kill -9` of akrida runs none of its clean-up: Locust, a process group of its own, would go on
    loading the target under parent 1. It notices that akrida is no longer its parent and quits as on
    SIGTERM (users stopped, agents closed, files written), within ORPHAN_EXIT_S at most."""
    while os.getppid() == parent:
        gevent.sleep(PARENT_CHECK_S)
    logging.getLogger(__name__).error("akrida (pid %d) is gone: stopping the holders and quitting", parent)
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    signal.alarm(ORPHAN_EXIT_S)
    _stop_as_on_ctrl_c(signal.SIGTERM, None)


_stopping = False


def _stop_as_on_ctrl_c(_signum: int, _frame: object) -> None:
    """SIGTERM ends Locust as Ctrl-C does: KeyboardInterrupt in its main greenlet, where Locust writes
    its report and shuts down. Locust's own SIGTERM handler calls sys.exit() from a signal greenlet,
    which gevent prints as a `SystemExit` traceback. A second signal while stopping changes nothing."""
    global _stopping
    if _stopping:
        return
    _stopping = True
    hub = gevent.get_hub()
    main = hub.parent  # the main greenlet, waiting in Locust's main()
    if main is not None and not main.dead:
        hub.loop.run_callback(main.throw, KeyboardInterrupt)


@events.init.add_listener
def _quiet_sigterm(**_kwargs) -> None:
    # Locust installs its SIGTERM handler after `init`; this greenlet runs once it has, and replaces it.
    gevent.spawn(signal.signal, signal.SIGTERM, _stop_as_on_ctrl_c)


@events.init.add_listener
def _keep_timeline(environment: Environment, **_kwargs) -> None:
    def record(request_type: str, name: str, response_time: float, exception: BaseException | None = None, **_):
        failed = exception is not None
        runtime = runtime_of(environment)
        runtime.timeline.record(time.time(), request_type, name, response_time or 0.0, failed, is_timeout(exception))
        count_failures_during_storm(runtime, request_type, exception)

    environment.events.request.add_listener(record)


@events.init.add_listener
def _keep_live_outcomes(environment: Environment, **_kwargs) -> None:
    keep_live_outcomes(environment)  # the limit search judges each step from them


@events.test_start.add_listener
def _renew_runtime(environment: Environment, **_kwargs) -> None:
    # On a worker, the master's arguments arrive with the first spawn message, just before this event.
    runtime = renew_runtime(environment)
    background = background_of(environment)
    background.stop_storm()
    # The master of a distributed run holds no holders: each worker storms its own.
    if runtime.settings.storm_at is not None and not isinstance(environment.runner, MasterRunner):
        background.storm = gevent.spawn(run_storm, environment, runtime, runtime.settings.storm_at)


@events.test_stop.add_listener
def _end_storm(environment: Environment, **_kwargs) -> None:
    background_of(environment).stop_storm()


@events.init.add_listener
def _finish_at_quit(environment: Environment, **_kwargs) -> None:
    # `quit` comes after the users stopped (`quitting` comes before), but it carries no environment.
    environment.events.quit.add_listener(lambda exit_code=None, **_: _finish(environment, exit_code))


def _finish(environment: Environment, exit_code: int | None) -> None:
    with contextlib.suppress(OSError):  # a full disk: Locust's own CSV is still there
        write_final_stats(environment)
    runtime = runtime_of(environment)
    background = background_of(environment)
    for greenlet in (background.sampler, background.loop_sampler):
        if greenlet is not None:
            greenlet.kill(block=False)
    if runtime.run_dir is not None and runtime.delivery.sent:
        runtime.delivery.write(runtime.run_dir)
    if runtime.run_dir is not None and (runtime.schedule.counts.due or runtime.schedule.split.target):
        with contextlib.suppress(OSError):
            runtime.schedule.write(runtime.run_dir)
    if runtime.run_dir is not None and runtime.storm is not None:
        if not runtime.storm.ended:  # the run ended during the storm
            runtime.storm.ended = time.time()
        with contextlib.suppress(OSError):
            runtime.storm.write(runtime.run_dir)
    if runtime.run_dir is not None and runtime.timeline.times:
        with contextlib.suppress(OSError):
            runtime.timeline.write(runtime.run_dir)
    with contextlib.suppress(Exception):  # nft gone or refused: its entries expire by themselves
        runtime.close_silencer()
    runtime.kill_all_agents()  # the last line of defence: no agent outlives the run
    if runtime.run_dir is not None and exit_code is not None:
        # Last: the executor reads this file as "Locust ran its course", so a crash leaves none.
        with contextlib.suppress(OSError):
            write_locust_exit(runtime.run_dir, exit_code)
    metrics.stop_serving()  # after the final figures: the last scrapes take them
