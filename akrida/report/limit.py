"""The limit search's record (limit.json) and its judgement of one step.

FIND_LIMIT raises the holders step by step (akrida/scenarios/search.py). Each step is judged twice:
while its new holders join (onboarding: did they all start, in time, without failing?) and then,
once they have all joined and settled, over a hold window of the step's length (holding: did the
target's steps meet the SLO and the failure ratio?). The first step that fails either judgement
is where the search stops; the record names which limit it found. It is written after every
step, so a search cut short still says how far it got.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from akrida.report.gates import evaluate
from akrida.report.stats import StepStats
from akrida.slo import Gate

LIMIT_FILE = "limit.json"
HELD, BROKE = "held", "broke"
ONBOARDING, HOLDING, OUTAGE, OUT_OF_TIME = "onboarding", "holding", "outage", "out of time"
COUNT_GATES = ("failures", "requests")  # counts over a whole run say nothing of one window


@dataclass
class StepRecord:
    number: int
    holders: int  # holders the step asked for
    started_at: float
    joined_at: float | None = None  # when every holder of the step had started
    hold_began: float | None = None  # when its hold window began (after joining and settling)
    window: tuple[float, float] | None = None  # the hold window judged (unix seconds)
    verdict: str = ""  # held, broke, or "" while it runs
    kind: str = ""  # for a broken step: onboarding, holding, outage, out of time
    reasons: list[str] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)  # each step's figures over the window, in words
    ended_at: float | None = None  # when the step was judged or stopped

    def line(self) -> str:
        state = self.verdict or "cut short"
        why = f" ({self.kind}: {'; '.join(self.reasons)})" if self.verdict == BROKE else ""
        join = f", joined in {self.joined_at - self.started_at:.0f}s" if self.joined_at else ""
        return f"step {self.number}: {self.holders} holders{join}: {state}{why}"


@dataclass
class LimitRecord:
    step_holders: int
    step_seconds: int
    ceiling: int  # USERS: the search stops there if nothing broke
    criterion: str  # the SLO and failure ratio, in words
    steps: list[StepRecord] = field(default_factory=list)
    ended: str = ""  # why the search ended, in words

    @property
    def broken(self) -> StepRecord | None:
        return next((step for step in self.steps if step.verdict == BROKE), None)

    @property
    def last_held(self) -> StepRecord | None:
        held = [step for step in self.steps if step.verdict == HELD]
        return held[-1] if held else None

    @property
    def limit_kind(self) -> str:
        broken = self.broken
        return broken.kind if broken is not None else ""

    def summary(self) -> dict:
        """What the manifest records of the search."""
        broken, held = self.broken, self.last_held
        return {
            "found": broken is not None,
            "kind": self.limit_kind,
            "last_held_holders": held.holders if held else 0,
            "first_broken_holders": broken.holders if broken else None,
            "criterion": self.criterion,
            "ended": self.ended,
        }

    def lines(self) -> list[str]:
        broken, held = self.broken, self.last_held
        last = f"{held.holders} holders" if held else "no step"
        if broken is None:
            head = f"no limit found: {last} held ({self.criterion}); {self.ended}"
        elif broken.kind == ONBOARDING:
            head = (
                f"onboarding limit: holders could not join at this rate beyond {last}; "
                f"step {broken.number} ({broken.holders} holders) broke while they joined"
            )
        elif broken.kind == OUTAGE:
            head = f"the target failed outright at step {broken.number} ({broken.holders} holders); last held: {last}"
        elif broken.kind == OUT_OF_TIME:
            head = f"RUN_TIME ended the search during step {broken.number}; last held: {last}"
        else:
            head = f"hold limit: {last} held within the criterion; {broken.holders} did not"
        lines = [head, f"criterion: {self.criterion}; steps of {self.step_holders} holders held {self.step_seconds}s"]
        lines += [step.line() for step in self.steps]
        return lines

    def write(self, run_dir: Path) -> None:
        path = run_dir / LIMIT_FILE
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(asdict(self), indent=2) + "\n")
        temporary.replace(path)


def read_limit(run_dir: Path) -> LimitRecord | None:
    try:
        raw = json.loads((run_dir / LIMIT_FILE).read_text())
        steps = [StepRecord(**{**step, "window": tuple(step["window"]) if step.get("window") else None})
                 for step in raw.pop("steps")]  # fmt: skip
        return LimitRecord(**raw, steps=steps)
    except (OSError, ValueError, TypeError, KeyError):
        return None


def criterion_words(gates: list[Gate], fail_ratio: float) -> str:
    judged = [gate.text.strip() for gate in gates if gate.metric not in COUNT_GATES]
    return "; ".join([*judged, f"target failures below {fail_ratio:.1%} of requests"])


def judge(steps: list[StepStats], seconds: float, gates: list[Gate], fail_ratio: float) -> list[str]:
    """What breaks the criterion over a window's step figures (the target's steps; harness failures
    are Akrida's, not the target's); an empty list when the window held."""
    reasons = []
    target = [step for step in steps if not step.harness]
    requests = sum(step.count for step in target)
    failures = sum(step.failures for step in target)
    if requests and failures / requests >= fail_ratio:
        reasons.append(f"{failures} of {requests} requests failed ({failures / requests:.1%})")
    judged = [gate for gate in gates if gate.metric not in COUNT_GATES]
    for result in evaluate(judged, target, seconds):
        if result.measured is not None and not result.passed:
            reasons.append(result.line().removeprefix("FAIL  "))
    return reasons


def figure_words(steps: list[StepStats]) -> list[str]:
    """Each target step's figures in words: the latencies are of successes, the timeouts counted apart."""
    return [
        f"{step.name}: {step.count} requests, {step.failures} failed ({step.timeouts} timed out), "
        f"successes' p50 {step.median_ms:.0f} ms, p95 {step.p95_ms:.0f} ms, {step.rps:.2f}/s"
        for step in sorted(steps, key=lambda s: s.name)
        if not step.harness
    ]
