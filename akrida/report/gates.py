"""Evaluating SLO gates (the syntax is in akrida/slo.py) against a run's step figures."""

from __future__ import annotations

from dataclasses import dataclass

from akrida.report.stats import StepStats
from akrida.slo import LATENCY, OPERATORS, Gate


@dataclass(frozen=True)
class GateResult:
    gate: Gate
    measured: float | None  # None: the step never ran
    passed: bool

    def line(self) -> str:
        mark = "PASS" if self.passed else "FAIL"
        if self.measured is None:
            shown = "no data (the step never ran)"
        elif self.gate.metric in LATENCY:
            shown = f"{self.measured:.0f}ms"
        else:
            shown = f"{self.measured:.4g}"
        return f"{mark}  {self.gate.text.strip()}  (measured {shown})"


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
    return GateResult(gate, measured, OPERATORS[gate.op](float(measured), gate.value))
