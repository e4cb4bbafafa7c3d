"""Each step's outcomes over a stretch of a run: the latency of successes, apart from timeouts and failures.

Locust puts every request's time into its percentiles, failures included. A request that timed out
took the timeout (60,000 ms by default), so a run where half the pings time out shows a p50 of
60,000 ms: the timeout setting, not the target's speed. Here the percentiles are those of the
requests that succeeded, and the requests that timed out or failed otherwise are counted and given as
ratios of all requests beside them. The figures come from the run's timeline (akrida/report/timeline.py).
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from akrida.catalog import HARNESS
from akrida.report.stats import StepStats
from akrida.report.timeline import Timeline, percentile

OUTCOMES_FILE = "outcomes.csv"
COLUMNS = ("50%", "66%", "75%", "80%", "90%", "95%", "98%", "99%")


@dataclass(frozen=True)
class Outcome:
    request_type: str
    name: str
    requests: int
    failures: int  # every failed request, timeouts included
    timeouts: int
    seconds: int  # the stretch the figures are over
    latencies: dict[str, float] = field(default_factory=dict)  # of successes: "95%", "avg", "max" … in ms
    # False for a bundle written before failures were kept apart: the latencies then include them.
    successes_only: bool = True

    @property
    def harness(self) -> bool:
        return self.request_type == HARNESS

    @property
    def successes(self) -> int:
        return self.requests - self.failures

    @property
    def other_failures(self) -> int:
        return self.failures - self.timeouts

    @property
    def timeout_ratio(self) -> float:
        return self.timeouts / self.requests if self.requests else 0.0

    @property
    def other_failure_ratio(self) -> float:
        return self.other_failures / self.requests if self.requests else 0.0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def p50_ms(self) -> int:
        return int(self.latencies.get("50%", 0))

    @property
    def p95_ms(self) -> int:
        return int(self.latencies.get("95%", 0))

    @property
    def p99_ms(self) -> int:
        return int(self.latencies.get("99%", 0))

    def step_stats(self) -> StepStats:
        """As the gates read a step: latency of successes, with the timeouts beside it."""
        return StepStats(
            self.request_type, self.name, self.requests, self.failures, self.rps, dict(self.latencies), self.timeouts
        )


def latencies_of(times: Counter[int]) -> dict[str, float]:
    """Locust's percentiles (and the mean and maximum) of a {rounded ms: count} table."""
    count = sum(times.values())
    if not count:
        return {}
    figures = {column: float(percentile(times, float(column.rstrip("%")) / 100)) for column in COLUMNS}
    figures["avg"] = sum(ms * n for ms, n in times.items()) / count
    figures["max"] = float(max(times))
    return figures


def outcomes(timeline: Timeline, first: int | None = None, last: int | None = None) -> list[Outcome]:
    """Each step's outcomes over the requests that ended from second `first` to `last` (the whole run
    when not given)."""
    seconds_seen = [second for second, _type, _name in timeline.times]
    if not seconds_seen:
        return []
    first = min(seconds_seen) if first is None else first
    last = max(seconds_seen) if last is None else last
    ok: dict[tuple[str, str], Counter[int]] = {}
    requests: Counter[tuple[str, str]] = Counter()
    failures: Counter[tuple[str, str]] = Counter()
    timeouts: Counter[tuple[str, str]] = Counter()
    for key, counted in timeline.times.items():
        second, request_type, name = key
        if not first <= second <= last:
            continue
        step = (request_type, name)
        requests[step] += sum(counted.values())
        failures[step] += timeline.failures[key]
        timeouts[step] += timeline.timeouts[key]
        ok.setdefault(step, Counter()).update(timeline.ok_times(key) if timeline.split else counted)
    return [
        Outcome(
            step[0], step[1], requests[step], failures[step], timeouts[step], last - first + 1,
            latencies_of(ok[step]), timeline.split,
        )
        for step in sorted(requests)
    ]  # fmt: skip


def run_outcomes(timeline: Timeline, history_seconds: list[int]) -> list[Outcome]:
    """The whole run's outcomes, its length from Locust's history when there is one (requests/s then
    counts the seconds no request ended in, as Locust's own figure does)."""
    seen = [second for second, _type, _name in timeline.times]
    if not seen:
        return []
    return outcomes(timeline, min([*seen, *history_seconds]), max([*seen, *history_seconds]))


def write_outcomes(run_dir: Path, scoped: list[tuple[str, str, list[Outcome]]]) -> Path:
    """outcomes.csv: one row per step and stretch (`scope`: "run" or "window N", `during`: in words)."""
    path = run_dir / OUTCOMES_FILE
    with open(path, "w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(
            ("scope", "during", "type", "step", "seconds", "requests", "successes", "timeouts", "other_failures",
             "timeout_ratio", "other_failure_ratio", "p50_ms_successes", "p95_ms_successes", "p99_ms_successes",
             "max_ms_successes", "requests_per_s", "successes_only")
        )  # fmt: skip
        for scope, during, rows in scoped:
            for o in rows:
                out.writerow(
                    (scope, during, o.request_type, o.name, o.seconds, o.requests, o.successes, o.timeouts,
                     o.other_failures, f"{o.timeout_ratio:.6f}", f"{o.other_failure_ratio:.6f}", o.p50_ms, o.p95_ms,
                     o.p99_ms, int(o.latencies.get("max", 0)), f"{o.rps:.3f}", int(o.successes_only))
                )  # fmt: skip
    return path
