"""Each step's outcomes so far, kept live for the limit search: the times of successes, with the
failures and timeouts counted apart.

Locust's own statistics put every request's time into one table, failures included, so a step whose
pings time out after 60 s reads as a p95 of 60,000 ms, and one whose requests are refused at once
reads as faster than it was. The search (akrida/scenarios/search.py) judges each hold from these
totals instead, as the summary judges a finished run from its timeline.

In one Locust process the request event fills them. On a cluster, requests happen on the workers:
each sends what it gathered since its last statistics report (every 3 s, with Locust's own) and the
master adds it up, so the master's totals lag a worker's by what Locust's own do.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from locust.env import Environment
from locust.runners import WorkerRunner

from akrida.report.stats import StepStats
from akrida.report.timeline import percentile, rounded_ms
from akrida.scenarios.attribution import is_timeout

ATTRIBUTE = "akrida_live_outcomes"  # the attribute of Locust's Environment that holds them
REPORT_KEY = "akrida_outcomes"  # their key in a worker's statistics report
SHARES = (50, 66, 75, 80, 90, 95, 98, 99)

Key = tuple[str, str]  # (request type, step name)


@dataclass
class Outcomes:
    """One step's totals: requests, failures (timeouts included), timeouts, and successes' times."""

    requests: int = 0
    failures: int = 0
    timeouts: int = 0
    ok_times: Counter[int] = field(default_factory=Counter)  # {rounded ms: count}

    def add(self, other: Outcomes) -> None:
        self.requests += other.requests
        self.failures += other.failures
        self.timeouts += other.timeouts
        self.ok_times.update(other.ok_times)

    def minus(self, before: Outcomes) -> Outcomes:
        return Outcomes(
            self.requests - before.requests,
            self.failures - before.failures,
            self.timeouts - before.timeouts,
            +(self.ok_times - before.ok_times),
        )

    def copy(self) -> Outcomes:
        return Outcomes(self.requests, self.failures, self.timeouts, Counter(self.ok_times))

    def to_wire(self) -> list[Any]:
        return [self.requests, self.failures, self.timeouts, {str(ms): n for ms, n in self.ok_times.items()}]

    @classmethod
    def from_wire(cls, raw: list[Any]) -> Outcomes:
        requests, failures, timeouts, times = raw
        return cls(int(requests), int(failures), int(timeouts), Counter({int(ms): int(n) for ms, n in times.items()}))


Snapshot = dict[Key, Outcomes]


@dataclass
class LiveOutcomes:
    totals: Snapshot = field(default_factory=dict)
    reporting: bool = False  # a worker's: it keeps what it has not yet sent to the master
    unsent: Snapshot = field(default_factory=dict)

    def record(self, request_type: str, name: str, response_ms: float, failed: bool, timeout: bool) -> None:
        for table in (self.totals, self.unsent) if self.reporting else (self.totals,):
            outcomes = table.setdefault((request_type, name), Outcomes())
            outcomes.requests += 1
            if failed:
                outcomes.failures += 1
                outcomes.timeouts += timeout
            else:
                outcomes.ok_times[rounded_ms(response_ms)] += 1

    def snapshot(self) -> Snapshot:
        return {key: outcomes.copy() for key, outcomes in self.totals.items()}

    def take_unsent(self) -> list[list[Any]]:
        """What gathered since the last call, for the master (JSON-safe), and a clean slate."""
        rows = [[request_type, name, outcomes.to_wire()] for (request_type, name), outcomes in self.unsent.items()]
        self.unsent = {}
        return rows

    def add_report(self, rows: list[list[Any]]) -> None:
        """A worker's report, on the master."""
        for request_type, name, raw in rows:
            self.totals.setdefault((str(request_type), str(name)), Outcomes()).add(Outcomes.from_wire(raw))


def since(now: Snapshot, before: Snapshot, seconds: float) -> list[StepStats]:
    """Each step's figures over what happened between two snapshots: latencies of successes, with
    the timeouts beside them (as the gates read a step, akrida/report/gates.py)."""
    steps = []
    for key, outcomes in now.items():
        window = outcomes.minus(before.get(key, Outcomes()))
        if window.requests <= 0:
            continue
        latencies = {f"{share}%": float(percentile(window.ok_times, share / 100)) for share in SHARES}
        latencies["max"] = float(max(window.ok_times, default=0))
        rps = window.requests / max(seconds, 1.0)
        steps.append(StepStats(key[0], key[1], window.requests, window.failures, rps, latencies, window.timeouts))
    return steps


def live_outcomes_of(environment: Any) -> LiveOutcomes:
    """This Locust process's live outcomes, made on first use."""
    outcomes = getattr(environment, ATTRIBUTE, None)
    if outcomes is None:
        outcomes = LiveOutcomes()
        setattr(environment, ATTRIBUTE, outcomes)
    return outcomes


def keep_live_outcomes(environment: Environment) -> None:
    """Feeds the process's live outcomes from its requests, and a master's from its workers' reports."""
    outcomes = live_outcomes_of(environment)
    outcomes.reporting = isinstance(environment.runner, WorkerRunner)

    def record(request_type: str, name: str, response_time: float, exception: BaseException | None = None, **_):
        outcomes.record(request_type, name, response_time or 0.0, exception is not None, is_timeout(exception))

    def report(client_id: str, data: dict[str, Any], **_kwargs) -> None:
        data[REPORT_KEY] = outcomes.take_unsent()

    def received(client_id: str, data: dict[str, Any], **_kwargs) -> None:
        rows = data.get(REPORT_KEY)
        if isinstance(rows, list):
            with contextlib.suppress(TypeError, ValueError, AttributeError):  # another version's worker
                outcomes.add_report(rows)

    environment.events.request.add_listener(record)
    if outcomes.reporting:
        environment.events.report_to_master.add_listener(report)
    else:
        environment.events.worker_report.add_listener(received)
