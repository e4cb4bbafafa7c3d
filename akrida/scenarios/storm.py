"""The reconnect storm (STORM_AT): at that time into the run, every holder's WebSocket to the
mediator is dropped at once, and each reconnects by itself (Credo's own reconnection).

Each holder's reconnection is a `didcomm reconnect` request: its time is the agent's, from the drop
until a socket to the mediator was open again; a holder that does not reconnect within AGENT_TIMEOUT
is the target's failure. What the storm did goes to storm/<host>-<pid>.json for the summary.
"""

from __future__ import annotations

import time

import gevent
from locust.env import Environment

from akrida.agent import AgentError
from akrida.catalog import DIDCOMM, HARNESS
from akrida.report.connectivity import StormRecord
from akrida.scenarios.attribution import is_harness_failure
from akrida.scenarios.runtime import Runtime

STEP = "reconnect"


def run_storm(environment: Environment, runtime: Runtime, at_seconds: float) -> None:
    """Sleeps until the storm's time, then drops every ready holder's connection at once."""
    gevent.sleep(at_seconds)
    holders = [holder for holder in list(runtime.holders) if holder.ready and not holder.offline]
    record = StormRecord(at=time.time(), holders=len(holders))
    runtime.storm = record
    timeout_ms = int(runtime.settings.agent_timeout * 1000)
    gevent.joinall([gevent.spawn(_drop, environment, record, holder.client, timeout_ms) for holder in holders])
    record.ended = time.time()


def _drop(environment: Environment, record: StormRecord, client, timeout_ms: int) -> None:
    began = time.perf_counter()
    try:
        dropped = client.drop_connection(timeout_ms)
    except AgentError as error:
        harness = is_harness_failure(error)
        if harness:
            record.harness_errors += 1
        else:
            record.not_reconnected += 1
        _fire(environment, HARNESS if harness else DIDCOMM, (time.perf_counter() - began) * 1000, error)
        return
    if dropped.reconnect_ms is None:  # no socket was open (a polling pickup between polls): nothing dropped
        record.holders -= 1
        return
    record.reconnect_ms.append(dropped.reconnect_ms)
    _fire(environment, DIDCOMM, dropped.reconnect_ms, None)


def _fire(environment: Environment, request_type: str, response_ms: float, error: BaseException | None) -> None:
    environment.events.request.fire(
        request_type=request_type, name=STEP, response_time=response_ms, response_length=0, exception=error, context={}
    )


def count_failures_during_storm(runtime: Runtime, request_type: str, exception: BaseException | None) -> None:
    """Counts a failure of the target's while the storm lasts (from the drop until the last reconnection)."""
    storm = runtime.storm
    if storm is not None and not storm.ended and exception is not None and request_type != HARNESS:
        storm.failures_during += 1
