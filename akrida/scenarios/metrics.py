"""The run's live metrics, served by the Locust master in Prometheus' text format (PROMETHEUS_PORT).

What is served, each family bounded in label sets (akrida.report.exposition):
- per step: requests and failures by kind, from Locust's own statistics, which the master holds for
  every worker, so they agree with the run's summary; and a histogram of the successes' latency, from
  the run's live outcomes (akrida/scenarios/live_outcomes.py): a failure's time (a timeout's 60 s, a
  refusal's 1 ms) is not a latency, and it would move every quantile a dashboard draws from it;
- per Locust process: holders live, agent processes, the host's CPU and the process tree's CPU, USS,
  PSS and open files (the generator health samples), and the message delivery counts. A worker sends
  its figures to the master with its statistics report every 3 s;
- the target's samples (target/samples.csv), newest value of each, where the run has them: an
  `akrida run` on this machine samples the target into the run folder the master writes to.

The endpoint keeps serving for FINAL_SCRAPE_S after the users stopped, so that a scrape every 5 s
takes the final figures, which are the ones the summary is made from.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import gevent
from gevent.pywsgi import WSGIServer
from locust import events
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from akrida.report.delivery import DeliveryCounts
from akrida.report.exposition import CONTENT_TYPE, Family, failure_kind, render
from akrida.report.health import HealthSample
from akrida.scenarios.live_outcomes import live_outcomes_of
from akrida.scenarios.runtime import runtime_of
from akrida.target.samples import LatestSamples

REPORT_KEY = "akrida_metrics"  # the key of this module's figures in a worker's statistics report
FINAL_SCRAPE_S = 6.0
TARGET_SERIES = 500  # the target's (source, metric) pairs served at most
WORKER_STALE_S = 30.0  # a worker not heard from for this long is no longer counted

logger = logging.getLogger(__name__)


@dataclass
class ProcessFigures:
    """What one Locust process contributes beyond Locust's statistics (JSON-safe, for the report)."""

    process: str
    health: dict[str, Any] | None = None  # asdict(HealthSample), the newest
    delivery: dict[str, Any] = field(default_factory=dict)  # asdict(DeliveryCounts)


@dataclass
class _State:
    latest_health: HealthSample | None = None
    workers: dict[str, tuple[float, ProcessFigures]] = field(default_factory=dict)
    server: WSGIServer | None = None
    target: LatestSamples | None = None


_state = _State()


def remember_health(sample: HealthSample) -> None:
    """Called by the health sampler (akrida.scenarios.hooks) with each new sample."""
    _state.latest_health = sample


def own_figures(environment: Environment) -> ProcessFigures:
    runtime = runtime_of(environment)
    health = asdict(_state.latest_health) if _state.latest_health is not None else None
    return ProcessFigures(runtime.process_name, health, asdict(runtime.delivery))


@events.report_to_master.add_listener
def _report(client_id: str, data: dict[str, Any], **_kwargs) -> None:
    environment = _environment
    if environment is not None:
        data[REPORT_KEY] = asdict(own_figures(environment))


@events.worker_report.add_listener
def _received(client_id: str, data: dict[str, Any], **_kwargs) -> None:
    figures = data.get(REPORT_KEY)
    if isinstance(figures, dict):
        with contextlib.suppress(TypeError):  # a worker of another akrida version: its figures are left out
            _state.workers[client_id] = (time.monotonic(), ProcessFigures(**figures))


_environment: Environment | None = None


@events.init.add_listener
def _serve(environment: Environment, **_kwargs) -> None:
    global _environment
    _environment = environment
    if isinstance(environment.runner, WorkerRunner):
        return
    runtime = runtime_of(environment)
    port = runtime.settings.prometheus_port
    if port is None or _state.server is not None:
        return
    host = runtime.settings.prometheus_host
    if runtime.run_dir is not None:
        _state.target = LatestSamples(runtime.run_dir)
    server = WSGIServer((host, port), _application(lambda: families(environment)), log=None, error_log=None)
    try:
        server.start()
    except OSError as error:
        logger.error(
            "PROMETHEUS_PORT=%d: cannot listen on %s:%d (%s): choose another PROMETHEUS_PORT", port, host, port, error
        )
        sys.exit(2)
    _state.server = server
    logger.info("live metrics in Prometheus' text format: http://%s:%d/metrics", host, port)


def stop_serving() -> None:
    """Called last at quit (akrida.scenarios.hooks), once the final figures are in."""
    server, _state.server = _state.server, None
    if server is None:
        return
    gevent.sleep(FINAL_SCRAPE_S)  # the final figures, for the last scrapes
    server.stop(timeout=1)


def _application(collect: Callable[[], Iterable[Family]]):
    def application(environ: dict[str, Any], start_response):
        if environ.get("PATH_INFO", "/") not in ("/metrics", "/"):
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"the metrics are at /metrics\n"]
        body = render(collect()).encode()
        start_response("200 OK", [("Content-Type", CONTENT_TYPE), ("Content-Length", str(len(body)))])
        return [body]

    return application


def families(environment: Environment) -> list[Family]:
    runner = environment.runner
    requests = Family(
        "akrida_requests_total", "counter", "Requests per step (failed ones included), as Locust counts them."
    )
    failures = Family("akrida_failures_total", "counter", "Failed requests per step and kind of failure.")
    latency = Family(
        "akrida_request_duration_seconds",
        "histogram",
        "Response time per step of the requests that succeeded; failures are counted in akrida_failures_total.",
    )
    users = Family("akrida_users", "gauge", "Locust users (holders) running.")
    if runner is not None:
        for entry in runner.stats.entries.values():
            labels = {"type": str(entry.method), "step": str(entry.name)}
            requests.set(entry.num_requests, **labels)
        for error in runner.stats.errors.values():
            text = error.error if isinstance(error.error, str) else repr(error.error)
            failures.add(error.occurrences, type=str(error.method), step=str(error.name), kind=failure_kind(text))
        users.set(runner.user_count)
        for (request_type, name), outcomes in live_outcomes_of(environment).totals.items():
            times = outcomes.ok_times
            if times:  # the rounded times' sum: Locust keeps the exact sum of all requests only
                latency.observe_counts(times, sum(ms * n for ms, n in times.items()), type=request_type, step=name)
    found = [requests, failures, latency, users, *_process_families(environment)]
    if _state.target is not None:
        found.append(_target_family(_state.target))
    return found


def _process_families(environment: Environment) -> list[Family]:
    holders = Family("akrida_holders_live", "gauge", "Holders started or starting, per Locust process.")
    agents = Family("akrida_agent_processes", "gauge", "Live agent (Node) processes, per Locust process.")
    host_cpu = Family("akrida_generator_host_cpu_percent", "gauge", "CPU of the load host, 0-100.")
    cpu = Family(
        "akrida_generator_cpu_percent",
        "gauge",
        "CPU of a Locust process and its agents, as a share of the host, 0-100.",
    )
    pss = Family("akrida_generator_pss_bytes", "gauge", "PSS of a Locust process and its agents.")
    uss = Family("akrida_generator_uss_bytes", "gauge", "USS of a Locust process and its agents.")
    files = Family("akrida_generator_open_files", "gauge", "Open files of a Locust process and its agents.")
    messages = Family(
        "akrida_messages_total",
        "counter",
        "Messages to holders by outcome: sent, delivered (in time), late, stranded, duplicated.",
    )
    undelivered = Family(
        "akrida_messages_undelivered", "gauge", "Messages sent and not received yet (lost, once the run ends)."
    )
    for figures in _all_figures(environment):
        if figures.health is not None:
            sample = figures.health
            process = {"process": figures.process, "host": str(sample.get("host", ""))}
            holders.set(sample.get("live_holders", 0), **process)
            agents.set(sample.get("agent_hosts", 0), **process)
            host_cpu.set(sample.get("host_cpu_percent", 0.0), host=process["host"])
            cpu.set(sample.get("generator_cpu_percent", 0.0), **process)
            pss.set(sample.get("pss_bytes", 0), **process)
            uss.set(sample.get("uss_bytes", 0), **process)
            files.set(sample.get("open_files", 0), **process)
        counts = _delivery(figures.delivery)
        if counts is not None and counts.sent:
            strategy = counts.pickup_strategy or "none"
            for outcome in ("sent", "delivered", "late", "stranded", "duplicated"):
                messages.add(getattr(counts, outcome), pickup_strategy=strategy, outcome=outcome)
            undelivered.add(counts.lost, pickup_strategy=strategy)
    return [holders, agents, host_cpu, cpu, pss, uss, files, messages, undelivered]


def _all_figures(environment: Environment) -> list[ProcessFigures]:
    figures = [own_figures(environment)]
    if isinstance(environment.runner, MasterRunner):
        figures[0].process = "master"
        now = time.monotonic()
        figures += [f for seen, f in _state.workers.values() if now - seen < WORKER_STALE_S]
    return figures


def _delivery(raw: dict[str, Any]) -> DeliveryCounts | None:
    try:
        return DeliveryCounts(**raw)
    except TypeError:
        return None


def _target_family(target: LatestSamples) -> Family:
    family = Family(
        "akrida_target_sample", "gauge", "The target's side: the newest sample of each source and metric "
        "(target/samples.csv: CPU in cores, memory in bytes, probe round trips in ms, PostgreSQL's figures).",
        max_series=TARGET_SERIES,
    )  # fmt: skip
    for (source, metric), (_stamp, value) in sorted(target.read().items()):
        family.set(value, source=source, metric=metric)
    return family
