"""The step tables of the summary, as plain rows shared by its three renderings.

Latency columns are those of successful requests when the run's timeline was written (every run by
`akrida run` or `locust -f` with a run folder): timeouts and other failures have columns of their own,
as counts and as a share of all requests (akrida/report/outcomes.py). A bundle without a timeline
shows Locust's own figures, whose percentiles include the failures' times, and says so.
"""

from __future__ import annotations

from akrida.report.outcomes import Outcome
from akrida.report.stats import StepStats

OUTCOME_HEADER = ("type", "step", "requests", "timed out", "failed otherwise", "p50 ms", "p95 ms", "p99 ms",
                  "req/s")  # fmt: skip
LOCUST_HEADER = ("type", "step", "requests", "failures", "p50 ms", "p95 ms", "p99 ms", "req/s")
SUCCESSES_NOTE = (
    "latency (p50, p95, p99) of successful requests only; requests that timed out or failed otherwise are "
    "counted apart, with their share of all requests"
)
ALL_REQUESTS_NOTE = (
    "latency of all requests, failures and timeouts included (Locust's figures: no timeline was written)"
)
MIXED_NOTE = (
    "latency of all requests, failures and timeouts included (this bundle's timeline predates keeping failures apart)"
)


def _share(count: int, total: int) -> str:
    return f"{count} ({count / total:.1%})" if count and total else str(count)


def outcome_rows(rows: list[Outcome]) -> list[tuple[str, ...]]:
    ordered = sorted(rows, key=lambda o: (o.harness, o.request_type, o.name))
    return [
        (o.request_type, o.name, str(o.requests), _share(o.timeouts, o.requests),
         _share(o.other_failures, o.requests), str(o.p50_ms), str(o.p95_ms), str(o.p99_ms), f"{o.rps:.2f}")
        for o in ordered
    ]  # fmt: skip


def locust_rows(steps: list[StepStats]) -> list[tuple[str, ...]]:
    ordered = sorted(steps, key=lambda s: (s.harness, s.request_type, s.name))
    return [
        (s.request_type, s.name, str(s.count), str(s.failures), f"{s.median_ms:.0f}", f"{s.p95_ms:.0f}",
         f"{s.p99_ms:.0f}", f"{s.rps:.2f}")
        for s in ordered
    ]  # fmt: skip


def step_table(outcomes: list[Outcome], steps: list[StepStats]) -> tuple[tuple[str, ...], list[tuple[str, ...]], str]:
    """The whole run's table (header, rows) and the line saying what its latency columns are."""
    if outcomes:
        return OUTCOME_HEADER, outcome_rows(outcomes), latency_note(outcomes)
    return LOCUST_HEADER, locust_rows(steps), ALL_REQUESTS_NOTE


def latency_note(outcomes: list[Outcome]) -> str:
    return SUCCESSES_NOTE if all(o.successes_only for o in outcomes) else MIXED_NOTE
