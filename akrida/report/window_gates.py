"""SLO gates judged over the steady-state windows, not over the whole run with its ramp.

A run's first seconds (holders starting, the target warming up) and its last (holders stopping) are
not the load the run was about; over the whole run they can pass a gate the plateau breaks, or fail
one it holds. So a latency, throughput or failure-ratio gate is judged in each steady-state window
(akrida/report/windows.py) and must hold in every one: the result shown is the window that broke it,
or else the closest to breaking it. Counting gates (`failures`, `requests`) stay whole-run counts.
A run with no steady-state window is judged over the whole run, and the gate's line says so.
"""

from __future__ import annotations

from akrida.report.gates import GateResult, evaluate
from akrida.report.outcomes import Outcome
from akrida.report.stats import StepStats
from akrida.report.windows import SteadyWindow
from akrida.slo import Gate

COUNT_METRICS = ("failures", "requests")  # counts of the whole run, whatever its windows


def judge_gates(
    gates: list[Gate],
    windows: list[SteadyWindow],
    run: list[Outcome],
    locust_steps: list[StepStats],
    duration_s: float,
    planned: bool,
) -> list[GateResult]:
    """Each gate's result: over the windows with figures, else over the whole run (`run`, the timeline's
    figures, or Locust's own when no timeline was written). `planned`: the run meant to hold a level."""
    judged = [(number, steady) for number, steady in enumerate(windows, 1) if steady.steps]
    whole = [o.step_stats() for o in run] if run else locust_steps
    if not run:
        whole_where = (
            "over the whole run, ramp included, with Locust's latency of all requests (no timeline was written)"
        )
    elif planned and not judged:
        whole_where = "over the whole run, ramp included: no steady-state window"
    else:
        whole_where = "over the whole run"
    results = []
    for gate in gates:
        if gate.metric in COUNT_METRICS or not judged:
            result = evaluate([gate], whole, duration_s)[0]
            results.append(_placed(result, whole_where))
            continue
        per_window = []
        for number, steady in judged:
            stats = [o.step_stats() for o in steady.steps or []]
            result = evaluate([gate], stats, steady.window.seconds)[0]
            per_window.append(_placed(result, f"over steady-state window {number} ({steady.window.describe()})"))
        results.append(_worst(gate, per_window, len(judged)))
    return results


def _placed(result: GateResult, where: str) -> GateResult:
    return GateResult(result.gate, result.measured, result.passed, where, result.note)


def _worst(gate: Gate, per_window: list[GateResult], windows: int) -> GateResult:
    """The window that broke the gate (the first), else the one closest to breaking it."""
    measured = [r for r in per_window if r.measured is not None]
    failed = [r for r in measured if not r.passed]
    if failed:
        chosen = failed[0]
    elif not measured:
        chosen = per_window[0]  # the step ran in no window: no data, which fails
    elif gate.op in ("<", "<="):
        chosen = max(measured, key=lambda r: r.measured or 0.0)
    else:
        chosen = min(measured, key=lambda r: r.measured or 0.0)
    if windows > 1:
        label = "the first to break it" if failed else "the closest to breaking it"
        where = f"{chosen.where}, {label} of {windows} windows"
        return GateResult(chosen.gate, chosen.measured, chosen.passed, where, chosen.note)
    return chosen
