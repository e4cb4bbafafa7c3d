"""Timeouts kept out of the percentiles, and SLO gates judged over the steady-state windows (issue 23, item 4).

Recorded timelines stand for runs: a mediator that lets half the pings time out, and a run whose ramp
is slow while its plateau is fast.
"""

from __future__ import annotations

import csv
import json
from collections import Counter

from akrida.agent.errors import AgentCrashed, AgentHung, CommandFailed
from akrida.controllers.base import ControllerError, ControllerTimeout
from akrida.report.bundle import finish
from akrida.report.gates import evaluate
from akrida.report.manifest import Manifest
from akrida.report.outcomes import OUTCOMES_FILE, outcomes
from akrida.report.stats import StepStats
from akrida.report.timeline import TIMELINE_DIR, Timeline, percentile, read_timeline
from akrida.scenarios.attribution import is_timeout
from akrida.slo import parse_gates
from tests.unit.test_report_windows import RAMP_THEN_HOLD, START, write_history

PING = ("didcomm", "ping_mediator")


def half_timed_out() -> Timeline:
    """100 pings answered in 20 ms and 100 that timed out after the agent's 60 s."""
    timeline = Timeline()
    for n in range(200):
        timed_out = n % 2 == 1
        timeline.record(START + n // 10, *PING, 60000.0 if timed_out else 20.0, failed=timed_out, timeout=timed_out)
    return timeline


def test_timed_out_requests_stay_out_of_the_percentiles(tmp_path):
    half_timed_out().write(tmp_path)
    timeline = read_timeline(tmp_path)
    assert timeline is not None and timeline.split
    everything: Counter[int] = Counter()
    for counted in timeline.times.values():
        everything.update(counted)
    assert percentile(everything, 0.5) == 60000  # what Locust's p50 says: the timeout setting
    (ping,) = outcomes(timeline)
    assert (ping.requests, ping.successes, ping.timeouts, ping.other_failures) == (200, 100, 100, 0)
    assert (ping.p50_ms, ping.p95_ms, ping.p99_ms) == (20, 20, 20)
    assert ping.timeout_ratio == 0.5


def test_timeouts_and_other_failures_are_told_apart():
    timeline = Timeline()
    timeline.record(START, *PING, 20.0, failed=False)
    timeline.record(START, *PING, 60000.0, failed=True, timeout=True)
    timeline.record(START, *PING, 3.0, failed=True)  # refused at once
    (ping,) = outcomes(timeline)
    assert (ping.timeouts, ping.other_failures, ping.p99_ms) == (1, 1, 20)


def test_a_timeline_written_before_the_split_is_read_as_it_was(tmp_path):
    (tmp_path / TIMELINE_DIR).mkdir()
    (tmp_path / TIMELINE_DIR / "old.json").write_text(json.dumps([[START, *PING, 1, {"20": 1, "60000": 1}]]))
    timeline = read_timeline(tmp_path)
    assert timeline is not None and not timeline.split
    (ping,) = outcomes(timeline)
    assert not ping.successes_only and ping.p99_ms == 60000  # nothing to take the failure out with


def test_failures_that_are_timeouts():
    assert is_timeout(CommandFailed("ping_mediator", "timeout", "no answer within 10000 ms"))
    assert not is_timeout(CommandFailed("ping_mediator", "failed", "connection refused"))
    assert is_timeout(AgentHung("no reply"))
    assert is_timeout(ControllerTimeout("GET /connections: no answer within 30s"))
    assert not is_timeout(ControllerError("refused (401)"))
    assert not is_timeout(AgentCrashed("exited"))
    assert not is_timeout(None)


def ping_stats(requests: int, timeouts: int, p95: float = 20.0) -> StepStats:
    return StepStats(*PING, requests, timeouts, 10.0, {"95%": p95, "99%": p95, "avg": p95, "max": p95}, timeouts)


def test_a_latency_gate_fails_when_more_timed_out_than_its_percentile_leaves_out():
    gates = parse_gates("p95(ping_mediator) < 500ms; p99(ping_mediator) < 500ms; avg(ping_mediator) < 500ms")
    few = evaluate(gates, [ping_stats(1000, 20)], 100)  # 2% timed out
    assert [r.passed for r in few] == [True, False, True]  # p99 leaves out 1%: 2% timed out is past it
    assert "20 of 1000 ping_mediator requests timed out (2.0%), more than the 1%" in few[1].line()
    many = evaluate(gates, [ping_stats(1000, 100)], 100)  # 10%: the p95 of all pings is the timeout
    assert [r.passed for r in many] == [False, False, True]
    assert many[0].measured == 20.0  # the successes' p95 is still shown, with the reason beside it


def ramp_then_fast() -> Timeline:
    """Slow pings (3 s) while holders start, fast ones (20 ms) on the plateau at 4 holders."""
    timeline = Timeline()
    for offset in range(44):
        for _ in range(10):
            timeline.record(START + offset + 0.1, *PING, 3000.0 if offset < 4 else 20.0, failed=False)
    return timeline


def run_folder(tmp_path, users: int) -> Manifest:
    write_history(tmp_path, RAMP_THEN_HOLD)
    ramp_then_fast().write(tmp_path)
    config = {"USERS": str(users), "SLO": "p95(ping_mediator) < 500ms; requests >= 100"}
    return Manifest("r", "mediator_ping", users, 1.0, 45, "now", config=config)


def test_gates_judge_the_steady_state_window_not_the_ramp(tmp_path):
    findings = finish(tmp_path, run_folder(tmp_path, users=4), complete=True)
    latency, count = findings.gates
    assert latency.passed and latency.measured == 20.0, latency.line()
    assert "over steady-state window 1 (4 holders from 4s to 44s (40s))" in latency.line()
    assert count.passed and "over the whole run" in count.line()
    assert findings.verdict.startswith("PASS")
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["gates"][0]["where"].startswith("over steady-state window 1")


def test_with_no_steady_state_the_gate_is_judged_over_the_whole_run_and_says_so(tmp_path):
    findings = finish(tmp_path, run_folder(tmp_path, users=5), complete=True)  # 5 holders were never held
    latency = findings.gates[0]
    assert not latency.passed and latency.measured == 3000.0
    assert "over the whole run, ramp included: no steady-state window" in latency.line()


def test_a_gate_must_hold_in_every_window():
    from akrida.report.window_gates import judge_gates
    from akrida.report.windows import SteadyWindow, Window

    timeline = Timeline()
    for offset in range(20):
        timeline.record(START + offset, *PING, 20.0, failed=False)
    for offset in range(30, 50):
        timeline.record(START + offset, *PING, 900.0, failed=False)
    first, second = Window(START, START + 19, 4, 0), Window(START + 30, START + 49, 8, 30)
    windows = [SteadyWindow(w, outcomes(timeline, w.first, w.last)) for w in (first, second)]
    (result,) = judge_gates(parse_gates("p95(ping_mediator) < 500ms"), windows, outcomes(timeline), [], 50, True)
    assert not result.passed and result.measured == 900.0
    assert "over steady-state window 2 (8 holders from 30s to 50s (20s)), the first to break it of 2" in result.line()


def test_the_summary_and_the_bundle_give_the_successes_latency_and_the_timeouts_apart(tmp_path):
    write_history(tmp_path, [0, *[4] * 20, 0])
    half_timed_out().write(tmp_path)
    manifest = Manifest("r", "mediator_ping", 4, 1.0, 22, "now", config={"USERS": "4"})
    finish(tmp_path, manifest, complete=True)
    summary = (tmp_path / "summary.md").read_text()
    assert "| type | step | requests | timed out | failed otherwise | p50 ms | p95 ms | p99 ms | req/s |" in summary
    assert "| didcomm | ping_mediator | 200 | 100 (50.0%) | 0 | 20 | 20 | 20 |" in summary
    assert "latency (p50, p95, p99) of successful requests only" in summary
    assert "100 (50.0%)" in (tmp_path / "summary.html").read_text()
    with open(tmp_path / OUTCOMES_FILE, newline="") as handle:
        rows = list(csv.DictReader(handle))
    by_scope = {row["scope"]: row for row in rows}
    assert set(by_scope) == {"run", "window 1"}
    run = by_scope["run"]
    assert (run["requests"], run["successes"], run["timeouts"], run["timeout_ratio"]) == ("200", "100", "100",
                                                                                          "0.500000")  # fmt: skip
    assert (run["p50_ms_successes"], run["p99_ms_successes"], run["max_ms_successes"]) == ("20", "20", "20")
