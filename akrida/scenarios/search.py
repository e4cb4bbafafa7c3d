"""FIND_LIMIT: the limit search as a Locust load shape, judged as it runs.

Each step adds FIND_LIMIT's holders (at SPAWN_RATE) up to USERS, and goes through three phases:

1. join: until every holder of the step has started. Too many failed starts, or holders still not
   started after twice the time SPAWN_RATE needs plus AGENT_TIMEOUT, is the onboarding limit.
2. settle: SETTLE_S with every holder in place, not judged (the last joins' effects pass).
3. hold: the step's time, judged against SLO and LIMIT_FAIL_RATIO over exactly that window: the
   latency of the requests that succeeded, with timeouts and other failures counted apart
   (akrida/scenarios/live_outcomes.py; on a cluster, the master's, which adds up every worker's).
   A breach is the hold limit.

The brakes: whatever the phase, a target failing most requests for OUTAGE_WINDOW_S is an outage,
and the search stops at once rather than pressing on. RUN_TIME still caps the whole search.
The record is written to limit.json after every change, so a search cut short says how far it got.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections import deque
from pathlib import Path

from locust import LoadTestShape

from akrida import paths
from akrida.catalog import DIDCOMM, HARNESS
from akrida.report.limit import BROKE, HELD, HOLDING, ONBOARDING, OUTAGE, LimitRecord, StepRecord, figure_words, judge
from akrida.scenarios.live_outcomes import Outcomes, Snapshot, live_outcomes_of, since
from akrida.slo import Gate

SETTLE_S = 10
OUTAGE_WINDOW_S = 30
OUTAGE_RATIO = 0.5
OUTAGE_MIN_REQUESTS = 20
STARTUP = (DIDCOMM, "startup")
MIN_STARTS_JUDGED = 10  # fewer failed starts than this say nothing about a rate


def _target_totals(now: Snapshot) -> tuple[int, int]:
    requests = failures = 0
    for (request_type, _name), outcomes in now.items():
        if request_type != HARNESS:
            requests += outcomes.requests
            failures += outcomes.failures
    return requests, failures


class SearchShape(LoadTestShape):
    abstract = True
    step_holders: int = 10
    step_seconds: int = 60
    ceiling: int = 10
    spawn_rate: float = 1.0
    run_time: int = 600
    agent_timeout: float = 60.0
    gates: tuple[Gate, ...] = ()
    fail_ratio: float = 0.01
    criterion: str = ""

    def __init__(self) -> None:
        super().__init__()
        self.record = LimitRecord(self.step_holders, self.step_seconds, self.ceiling, self.criterion)
        self.phase = "join"
        self.phase_began = 0.0
        self.before: Snapshot = {}
        self.recent: deque[tuple[float, int, int]] = deque()  # (time, target requests, failures) of each tick
        self.done = False

    @property
    def step(self) -> StepRecord:
        return self.record.steps[-1]

    def tick(self) -> tuple[int, float] | None:
        if self.done or self.runner is None:
            return None
        outcomes = live_outcomes_of(self.runner.environment).snapshot()
        now = time.time()
        if not self.record.steps:
            self._begin(1, outcomes, now)
        if self._outage(outcomes, now):
            self._stop(BROKE, OUTAGE, [f"most requests failed for {OUTAGE_WINDOW_S}s"], "an outage stopped it")
        elif self.get_run_time() >= self.run_time:
            self._stop("", "", [], f"RUN_TIME ran out during step {self.step.number}")
        elif self.phase == "join":
            self._join(outcomes, now)
        elif self.phase == "settle" and now - self.phase_began >= SETTLE_S:
            self.phase, self.phase_began, self.before = "hold", now, outcomes
            self.step.hold_began = now
            self._write()  # TARGET_PROFILE schedules the step's profile from this
        elif self.phase == "hold" and now - self.phase_began >= self.step_seconds:
            self._judge_hold(outcomes, now)
        if self.done:
            return None
        return self.step.holders, self.spawn_rate

    def _begin(self, number: int, outcomes: Snapshot, now: float) -> None:
        holders = min(self.ceiling, number * self.step_holders)
        self.record.steps.append(StepRecord(number, holders, now))
        self.phase, self.phase_began, self.before = "join", now, outcomes
        self._write()

    def _join(self, outcomes: Snapshot, now: float) -> None:
        starts = outcomes.get(STARTUP, Outcomes())
        joining = starts.minus(self.before.get(STARTUP, Outcomes()))
        started, failed, attempts = starts.requests - starts.failures, joining.failures, joining.requests
        if failed >= MIN_STARTS_JUDGED and failed / attempts >= self.fail_ratio:
            self._stop(BROKE, ONBOARDING, [f"{failed} of {attempts} starts failed"], "the onboarding limit")
            return
        if started >= self.step.holders:
            self.step.joined_at = now
            self.phase, self.phase_began = "settle", now
            self._write()
            return
        added = self.step.holders - (self.record.steps[-2].holders if len(self.record.steps) > 1 else 0)
        deadline = 2 * added / self.spawn_rate + self.agent_timeout
        if now - self.phase_began > deadline:
            reason = f"{started} of {self.step.holders} holders had started after {deadline:.0f}s"
            self._stop(BROKE, ONBOARDING, [reason], "the onboarding limit")

    def _judge_hold(self, outcomes: Snapshot, now: float) -> None:
        seconds = now - self.phase_began
        steps = since(outcomes, self.before, seconds)
        self.step.window = (self.phase_began, now)
        self.step.figures = figure_words(steps)
        reasons = judge(steps, seconds, list(self.gates), self.fail_ratio)
        if reasons:
            self._stop(BROKE, HOLDING, reasons, "the hold limit")
            return
        self.step.verdict, self.step.ended_at = HELD, now
        if self.step.holders >= self.ceiling:
            self._stop("", "", [], f"every step held up to USERS={self.ceiling}")
            return
        self._begin(self.step.number + 1, outcomes, now)

    def _outage(self, outcomes: Snapshot, now: float) -> bool:
        requests, failures = _target_totals(outcomes)
        self.recent.append((now, requests, failures))
        while self.recent and now - self.recent[0][0] > OUTAGE_WINDOW_S:
            self.recent.popleft()
        then, requests_then, failures_then = self.recent[0]
        if now - then < OUTAGE_WINDOW_S - 2:
            return False  # not yet a full window of ticks
        made, failed = requests - requests_then, failures - failures_then
        return made >= OUTAGE_MIN_REQUESTS and failed / made >= OUTAGE_RATIO

    def _stop(self, verdict: str, kind: str, reasons: list[str], ended: str) -> None:
        self.step.ended_at = time.time()
        if verdict:
            self.step.verdict, self.step.kind, self.step.reasons = verdict, kind, reasons
        self.record.ended = ended
        self.done = True
        self._write()

    def _write(self) -> None:
        run_dir = os.environ.get(paths.RUN_DIR_VARIABLE)
        if run_dir:
            with contextlib.suppress(OSError):  # a full disk must not stop the search
                self.record.write(Path(run_dir))
