"""SLO gates inside Locust: a run started with plain `locust -f …` is gated as `akrida run` is.

At `quitting`, the master (or a local runner) evaluates SLO against Locust's live statistics and
sets Locust's exit code: 4 when a gate is breached, 0 when all hold (gates decide, as in akrida's
own exit codes). `akrida run` evaluates the same gates again from the run's files for its bundle.
"""

from __future__ import annotations

import logging

from locust import events
from locust.env import Environment
from locust.runners import WorkerRunner
from locust.stats import RequestStats

from akrida.report.gates import GateResult, evaluate
from akrida.report.stats import PERCENTILES, StepStats
from akrida.scenarios.runtime import runtime_of
from akrida.slo import parse_gates

GATES_BREACHED = 4  # akrida.exits.ExitCode.GATES_BREACHED; the exit codes sit a layer above
logger = logging.getLogger(__name__)


def steps_of(stats: RequestStats) -> list[StepStats]:
    """Locust's live per-step statistics, as the report reads them from the stats CSV."""
    return [
        StepStats(
            request_type=entry.method or "",
            name=entry.name,
            count=entry.num_requests,
            failures=entry.num_failures,
            rps=entry.total_rps,
            latencies={
                **{column: float(entry.get_response_time_percentile(_fraction(column))) for column in PERCENTILES},
                "avg": float(entry.avg_response_time),
                "max": float(entry.max_response_time or 0),
            },
        )
        for entry in stats.entries.values()
    ]


def gate(environment: Environment) -> list[GateResult]:
    """Evaluates SLO now; sets the process's exit code when there are gates."""
    settings = runtime_of(environment).settings
    if settings.find_limit is not None:
        # The search's criterion, not a gate: a limit found is the answer, and failures past it expected.
        environment.process_exit_code = 0
        return []
    gates = parse_gates(settings.slo)
    if not gates:
        return []
    total = environment.stats.total
    duration = max(0.0, (total.last_request_timestamp or total.start_time) - total.start_time)
    results = evaluate(gates, steps_of(environment.stats), duration)
    for result in results:
        logger.info("SLO %s", result.line())
    breached = any(not result.passed for result in results)
    environment.process_exit_code = GATES_BREACHED if breached else 0
    return results


@events.quitting.add_listener
def _gate_at_quitting(environment: Environment, **_kwargs) -> None:
    if not isinstance(environment.runner, WorkerRunner):  # workers hold only their share of the figures
        gate(environment)


def _fraction(column: str) -> float:
    return float(column.rstrip("%")) / 100
