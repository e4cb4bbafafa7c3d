"""FIND_LIMIT as a Locust load shape: fed requests' outcomes on a fake clock, it joins, settles,
holds and judges each step, and stops at the first that breaks, naming which limit it found.

Run by tests/unit/test_locust_side.py in a pytest process where Locust is imported first.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from akrida.paths import RUN_DIR_VARIABLE
from akrida.report.limit import read_limit
from akrida.scenarios import search
from akrida.scenarios.live_outcomes import live_outcomes_of
from akrida.scenarios.shapes import load_shape


class Clock:
    def __init__(self):
        self.now = 1_800_000_000.0

    def time(self) -> float:
        return self.now


@pytest.fixture
def run(monkeypatch, tmp_path):
    """A search of 5 holders a step, held 20 s each, up to 15, judged by p95(ping_mediator) < 500ms."""
    monkeypatch.chdir(tmp_path)
    for name, value in {
        "FIND_LIMIT": "5/20s", "USERS": "15", "SPAWN_RATE": "5", "RUN_TIME": "10m",
        "SLO": "p95(ping_mediator) < 500ms", "AGENT_TIMEOUT": "30",
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    monkeypatch.setenv(RUN_DIR_VARIABLE, str(tmp_path))
    clock = Clock()
    monkeypatch.setattr(search, "time", clock)
    environment = SimpleNamespace()
    shape = load_shape()()
    shape.runner = SimpleNamespace(environment=environment)
    shape.get_run_time = lambda: clock.now - 1_800_000_000.0
    return SimpleNamespace(shape=shape, outcomes=live_outcomes_of(environment), clock=clock, dir=tmp_path)


def advance(run, seconds: int, pings_ms: float | None = 50, failed: int = 0, starts: int = 0, start_fails: int = 0):
    """`seconds` of load, a tick each second: a ping a second (`failed` of them failing), and holder starts."""
    said = None
    for second in range(seconds):
        run.clock.now += 1
        for _ in range(starts if second == 0 else 0):
            run.outcomes.record("didcomm", "startup", 800, failed=False, timeout=False)
        for _ in range(start_fails if second == 0 else 0):
            run.outcomes.record("didcomm", "startup", 30000, failed=True, timeout=True)
        if pings_ms is not None:
            timed_out = second < failed
            run.outcomes.record("didcomm", "ping_mediator", 30000 if timed_out else pings_ms, timed_out, timed_out)
        said = run.shape.tick()
    return said


def test_steps_join_settle_hold_and_the_first_slow_step_is_the_hold_limit(run):
    assert advance(run, 1) == (5, 5)  # step 1 asks for 5 holders at SPAWN_RATE
    assert advance(run, 2, starts=5) == (5, 5)  # all 5 started: settling
    advance(run, 10 + 20)  # settled, then held 20 s of fast pings: judged and held
    assert run.shape.record.steps[0].verdict == "held"
    assert advance(run, 1) == (10, 5)  # step 2
    advance(run, 2, starts=5)
    advance(run, 10 + 21, pings_ms=900)  # its hold window is slow
    assert run.shape.tick() is None  # the search is over
    record = read_limit(run.dir)
    assert record is not None and record.summary()["kind"] == "holding"
    assert (record.summary()["last_held_holders"], record.summary()["first_broken_holders"]) == (5, 10)
    assert any("p95(ping_mediator) < 500ms" in reason and "900ms" in reason for reason in record.broken.reasons)
    assert record.lines()[0] == "hold limit: 5 holders held within the criterion; 10 did not"


def test_the_slow_seconds_of_the_settling_phase_are_not_judged(run):
    advance(run, 1)
    advance(run, 2, starts=5)
    advance(run, 9, pings_ms=5000)  # settling: not judged
    advance(run, 22)
    assert run.shape.record.steps[0].verdict == "held"


def test_failed_starts_are_the_onboarding_limit(run):
    advance(run, 1)
    advance(run, 1, starts=2, start_fails=10)
    record = json.loads((run.dir / "limit.json").read_text())
    assert record["steps"][0]["kind"] == "onboarding" and record["steps"][0]["reasons"] == ["10 of 12 starts failed"]
    assert run.shape.tick() is None


def test_holders_that_never_finish_starting_are_the_onboarding_limit(run):
    advance(run, 1)
    advance(run, 2 * 5 // 5 + 30 + 2, starts=3)  # 3 of 5 started; the deadline is 2 s of ramp x 2 + AGENT_TIMEOUT
    step = run.shape.record.steps[0]
    assert (step.verdict, step.kind) == ("broke", "onboarding")
    assert step.reasons == ["3 of 5 holders had started after 32s"]


def test_a_sustained_outage_stops_the_search_at_once(run):
    advance(run, 1)
    advance(run, 2, starts=5)
    for _ in range(40):  # every ping fails, every second
        run.clock.now += 1
        run.outcomes.record("didcomm", "ping_mediator", 30000, failed=True, timeout=True)
        if run.shape.tick() is None:
            break
    step = run.shape.record.steps[0]
    assert (step.verdict, step.kind) == ("broke", "outage")
    assert run.shape.record.ended == "an outage stopped it"


def test_every_step_held_ends_at_users(run):
    for _number in range(3):
        advance(run, 1)
        advance(run, 2, starts=5)
        advance(run, 10 + 21)
    assert run.shape.tick() is None
    record = read_limit(run.dir)
    assert [step.verdict for step in record.steps] == ["held"] * 3
    assert record.summary()["found"] is False and record.ended == "every step held up to USERS=15"


def test_a_hold_is_judged_by_its_successes_with_the_timeouts_named_apart(monkeypatch, run):
    monkeypatch.setattr(run.shape, "fail_ratio", 0.5)  # the timeouts alone must not decide it
    advance(run, 1)
    advance(run, 2, starts=5)
    advance(run, 10)
    advance(run, 21, pings_ms=50, failed=3)  # 3 of the 20 judged pings time out after 30 s; the others take 50 ms
    step = run.shape.record.steps[0]
    assert (step.verdict, step.kind) == ("broke", "holding")
    figures = "ping_mediator: 20 requests, 3 failed (3 timed out), successes' p50 50 ms, p95 50 ms, 1.00/s"
    assert step.figures == [figures]
    assert step.reasons == [
        "p95(ping_mediator) < 500ms  (measured 50ms; 3 of 20 ping_mediator requests timed out (15.0%), "
        "more than the 5% this percentile leaves out)"
    ]


def test_fast_successes_with_few_timeouts_hold(monkeypatch, run):
    monkeypatch.setattr(run.shape, "fail_ratio", 0.5)
    advance(run, 1)
    advance(run, 2, starts=5)
    advance(run, 10)
    advance(run, 21, pings_ms=50, failed=1)  # 1 of 20 (5 %): no more than the 5 % that p95 leaves out
    assert run.shape.record.steps[0].verdict == "held"


def test_a_masters_outcomes_add_up_its_workers_reports():
    worker, master = live_outcomes_of(SimpleNamespace()), live_outcomes_of(SimpleNamespace())
    worker.reporting = True
    worker.record("didcomm", "ping_mediator", 50, failed=False, timeout=False)
    worker.record("didcomm", "ping_mediator", 30000, failed=True, timeout=True)
    master.add_report(json.loads(json.dumps(worker.take_unsent())))  # as Locust sends it
    worker.record("didcomm", "ping_mediator", 70, failed=False, timeout=False)
    master.add_report(json.loads(json.dumps(worker.take_unsent())))
    totals = master.snapshot()[("didcomm", "ping_mediator")]
    assert (totals.requests, totals.failures, totals.timeouts, dict(totals.ok_times)) == (3, 1, 1, {50: 1, 70: 1})
    assert worker.take_unsent() == []
