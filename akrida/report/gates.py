"""Evaluating SLO gates (the syntax is in akrida/slo.py) against a run's step figures.

When a step's figures know its timeouts (they come from the timeline, akrida/report/outcomes.py), its
latencies are those of successes, and a latency gate also fails when more requests timed out than its
percentile leaves out: with 10 % of pings timed out, the p95 of all pings is the timeout, however fast
the successes were. Which stretch the figures cover is `where` (akrida/report/window_gates.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from akrida.report.stats import StepStats
from akrida.slo import LATENCY, OPERATORS, Gate


@dataclass(frozen=True)
class GateResult:
    gate: Gate
    measured: float | None  # None: the step never ran
    passed: bool
    where: str = ""  # the stretch judged, in words ("" when the caller says it)
    note: str = ""  # why a gate failed beyond its measured figure (timeouts past its percentile)

    def line(self) -> str:
        mark = "PASS" if self.passed else "FAIL"
        if self.measured is None:
            shown = "no data (the step never ran)"
        elif self.gate.metric in LATENCY:
            shown = f"{self.measured:.0f}ms"
        else:
            shown = f"{self.measured:.4g}"
        note = f"; {self.note}" if self.note else ""
        where = f" {self.where}" if self.where else ""
        return f"{mark}  {self.gate.text.strip()}  (measured {shown}{note}){where}"


def evaluate(gates: list[Gate], steps: list[StepStats], duration_s: float) -> list[GateResult]:
    return [_evaluate(gate, steps, duration_s) for gate in gates]


def _evaluate(gate: Gate, steps: list[StepStats], duration_s: float) -> GateResult:
    chosen = [s for s in steps if gate.step is None or s.name == gate.step]
    measured_rows = [s for s in chosen if not s.harness] if gate.metric in LATENCY or gate.metric == "rps" else chosen
    if not measured_rows:
        return GateResult(gate, None, False)
    requests = sum(s.count for s in chosen if not s.harness)
    failures = sum(s.failures for s in chosen)
    if gate.metric == "fail_ratio":
        measured = failures / requests if requests else (1.0 if failures else 0.0)
    elif gate.metric == "failures":
        measured = float(failures)
    elif gate.metric == "requests":
        measured = float(requests)
    elif gate.metric == "rps":
        successes = sum(s.count - s.failures for s in measured_rows)
        measured = successes / duration_s if duration_s > 0 else 0.0
    else:
        # With several rows (no step given), the worst of them: a gate holds for every step.
        measured = max(s.latency(LATENCY[gate.metric]) for s in measured_rows)
        note = _timeouts_past(LATENCY[gate.metric], measured_rows)
        if note:
            return GateResult(gate, measured, False, note=note)
    return GateResult(gate, measured, OPERATORS[gate.op](float(measured), gate.value))


def _timeouts_past(column: str, rows: list[StepStats]) -> str:
    """Words for the first step whose timeouts exceed the share of requests that the percentile
    `column` leaves out ("" when none does, or for the mean, which is of successes by definition)."""
    if column == "avg":
        return ""
    left_out = 0.0 if column == "max" else 1 - float(column.rstrip("%")) / 100
    for row in rows:
        if row.count and row.timeouts / row.count > left_out:
            return (
                f"{row.timeouts} of {row.count} {row.name} requests timed out ({row.timeouts / row.count:.1%}), "
                f"more than the {left_out:.0%} this percentile leaves out"
            )
    return ""
