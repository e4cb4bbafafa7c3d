"""`akrida compare A B`: step-by-step differences between two runs, regressions marked."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from akrida.report.stats import StepStats, read_steps

# A change larger than this, in the bad direction, is marked as a regression.
REGRESSION_SHARE = 0.10


@dataclass(frozen=True)
class StepChange:
    request_type: str
    name: str
    before: StepStats | None
    after: StepStats | None

    @property
    def regressions(self) -> list[str]:
        if self.before is None or self.after is None:
            return []
        found = []
        if self.before.p95_ms and self.after.p95_ms > self.before.p95_ms * (1 + REGRESSION_SHARE):
            found.append("p95")
        if self.before.rps and self.after.rps < self.before.rps * (1 - REGRESSION_SHARE):
            found.append("throughput")
        if _ratio(self.after) > _ratio(self.before):
            found.append("failures")
        return found


def _ratio(step: StepStats) -> float:
    return step.failures / step.count if step.count else 0.0


def compare(run_a: Path, run_b: Path) -> list[StepChange]:
    before = {(s.request_type, s.name): s for s in read_steps(run_a)}
    after = {(s.request_type, s.name): s for s in read_steps(run_b)}
    keys = sorted(set(before) | set(after), key=lambda key: (key[0] == "harness", key))
    return [StepChange(key[0], key[1], before.get(key), after.get(key)) for key in keys]


def render(changes: list[StepChange], run_a: Path, run_b: Path) -> str:
    lines = [f"A: {run_a}", f"B: {run_b}", ""]
    header = f"{'type':<8} {'step':<22} {'p95 A':>8} {'p95 B':>8} {'Δp95':>7} {'req/s A':>8} {'req/s B':>8} "
    header += f"{'fail A':>7} {'fail B':>7}  regression"
    lines += [header, "-" * len(header)]
    for change in changes:
        a, b = change.before, change.after
        delta = f"{(b.p95_ms - a.p95_ms) / a.p95_ms:+.0%}" if a and b and a.p95_ms else "-"
        note = ", ".join(change.regressions) or ("only in A" if b is None else "only in B" if a is None else "")
        lines.append(
            f"{change.request_type:<8} {change.name:<22} {_ms(a):>8} {_ms(b):>8} {delta:>7} {_rps(a):>8} {_rps(b):>8} "
            f"{_fails(a):>7} {_fails(b):>7}  {note}"
        )
    count = sum(1 for change in changes if change.regressions)
    lines += ["", f"{count} step(s) regressed (p95 up or throughput down by more than {REGRESSION_SHARE:.0%}, "
              "or a higher failure ratio)"]  # fmt: skip
    return "\n".join(lines)


def _ms(step: StepStats | None) -> str:
    return f"{step.p95_ms:.0f}" if step else "-"


def _rps(step: StepStats | None) -> str:
    return f"{step.rps:.2f}" if step else "-"


def _fails(step: StepStats | None) -> str:
    return str(step.failures) if step else "-"
