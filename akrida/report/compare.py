"""`akrida compare A B`: step-by-step differences between two runs, regressions marked only beyond noise.

Each side is one run, or several runs of the same setup (`--repeat-a`, `--repeat-b`). Figures are
over the steady-state windows (akrida/report/samples.py): the latency of successes, the throughput
of successes, and the share of requests that timed out or failed. Before a change is called a
regression, each side's noise is estimated:
- from repeated runs: the standard error of the runs' figures (their spread over √runs);
- from one run: the standard error over its CHUNK_S-second chunks (the chunks' spread over √chunks);
- for the failure share: the binomial standard error of each side's share, from its request count.
A p95 or throughput change is a regression when it is worse by more than REGRESSION_SHARE and by
more than NOISE_SIGMAS combined standard errors; a failure share, when it is higher by more than
NOISE_SIGMAS combined standard errors. A p95 resting on fewer than MIN_SAMPLES successes is not
judged. The table prints how many samples each figure rests on.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from pathlib import Path

from akrida.catalog import HARNESS
from akrida.report.samples import CHUNK_S, RunSample, StepSample, read_run

REGRESSION_SHARE = 0.10  # a change smaller than this is never a regression, however quiet the runs
NOISE_SIGMAS = 2.0  # how many combined standard errors a change must exceed
MIN_SAMPLES = 20  # successes below which a p95 says too little to be judged
MIN_CHUNKS = 3  # chunks below which one run's spread is no estimate


@dataclass(frozen=True)
class Side:
    """One step's figures on one side: one run or the mean of several, with their standard errors."""

    p95_ms: float
    rps: float  # successes per second
    requests: int  # over every run of the side
    successes: int
    failures: int  # timeouts included
    timeouts: int
    p95_error: float | None  # standard error of p95_ms; None: no estimate
    rps_error: float | None
    noise_from: str  # "3 runs", "12 chunks of 10s", or "" (no estimate)

    @property
    def failure_share(self) -> float:
        return self.failures / self.requests if self.requests else 0.0


@dataclass(frozen=True)
class StepChange:
    request_type: str
    name: str
    before: Side | None
    after: Side | None

    @property
    def regressions(self) -> list[str]:
        a, b = self.before, self.after
        if a is None or b is None:
            return []
        found = []
        enough = min(a.successes, b.successes) >= MIN_SAMPLES and a.p95_ms
        p95_bar = max(a.p95_ms * REGRESSION_SHARE, NOISE_SIGMAS * _both(a.p95_error, b.p95_error))
        if enough and b.p95_ms - a.p95_ms > p95_bar:
            found.append("p95")
        if a.rps and a.rps - b.rps > max(a.rps * REGRESSION_SHARE, NOISE_SIGMAS * _both(a.rps_error, b.rps_error)):
            found.append("throughput")
        if b.requests and b.failure_share - a.failure_share > NOISE_SIGMAS * _share_error(a, b):
            found.append("failures")
        return found

    @property
    def p95_noise(self) -> float | None:
        """The combined standard error of the p95 change (None: neither side had an estimate)."""
        if self.before is None or self.after is None:
            return None
        errors = [e for e in (self.before.p95_error, self.after.p95_error) if e is not None]
        return _both(*errors) if errors else None


def _both(*errors: float | None) -> float:
    """Combined standard error of a difference; a side without an estimate adds nothing."""
    return math.sqrt(sum(e * e for e in errors if e is not None))


def _share_error(a: Side, b: Side) -> float:
    def variance(side: Side) -> float:
        p = side.failure_share
        return p * (1 - p) / side.requests if side.requests else 0.0

    return math.sqrt(variance(a) + variance(b))


def _error(values: list[float]) -> float | None:
    return statistics.stdev(values) / math.sqrt(len(values)) if len(values) >= 2 else None


def side_of(samples: list[StepSample]) -> Side:
    """The side's figures: one run's, with its chunks' spread; or the mean of several, with theirs."""
    totals = {
        "requests": sum(s.requests for s in samples),
        "successes": sum(s.successes for s in samples),
        "failures": sum(s.failures for s in samples),
        "timeouts": sum(s.timeouts for s in samples),
    }
    if len(samples) >= 2:
        p95s, rpss = [s.p95_ms for s in samples], [s.rps for s in samples]
        return Side(statistics.mean(p95s), statistics.mean(rpss), **totals, p95_error=_error(p95s),
                    rps_error=_error(rpss), noise_from=f"{len(samples)} runs")  # fmt: skip
    only = samples[0]
    chunks = len(only.chunk_rps)
    if chunks < MIN_CHUNKS:
        return Side(only.p95_ms, only.rps, **totals, p95_error=None, rps_error=None, noise_from="")
    p95_error = _error(only.chunk_p95_ms) if len(only.chunk_p95_ms) >= MIN_CHUNKS else None
    return Side(only.p95_ms, only.rps, **totals, p95_error=p95_error, rps_error=_error(only.chunk_rps),
                noise_from=f"{chunks} chunks of {CHUNK_S}s")  # fmt: skip


def compare_runs(runs_a: list[RunSample], runs_b: list[RunSample]) -> list[StepChange]:
    keys = {key for run in (*runs_a, *runs_b) for key in run.steps}
    ordered = sorted(keys, key=lambda key: (key[0] == HARNESS, key))
    changes = []
    for key in ordered:
        before = [run.steps[key] for run in runs_a if key in run.steps]
        after = [run.steps[key] for run in runs_b if key in run.steps]
        changes.append(StepChange(key[0], key[1], side_of(before) if before else None,
                                  side_of(after) if after else None))  # fmt: skip
    return changes


def compare(
    run_a: Path, run_b: Path, repeats_a: list[Path] | None = None, repeats_b: list[Path] | None = None
) -> tuple[list[StepChange], list[RunSample], list[RunSample]]:
    """The runs' changes, and the runs as read (for their scope)."""
    runs_a = [read_run(path) for path in [run_a, *(repeats_a or [])]]
    runs_b = [read_run(path) for path in [run_b, *(repeats_b or [])]]
    return compare_runs(runs_a, runs_b), runs_a, runs_b


HEADER = (
    f"{'type':<8} {'step':<22} {'p95 A':>7} {'n A':>6} {'p95 B':>7} {'n B':>6} {'Δp95':>6} {'±noise':>7} "
    f"{'ok/s A':>7} {'ok/s B':>7} {'fail A':>7} {'fail B':>7}  regression"
)


def render(changes: list[StepChange], runs_a: list[RunSample], runs_b: list[RunSample]) -> str:
    lines = [*_describe("A", runs_a), *_describe("B", runs_b), ""]
    lines += [
        "p95: of successful requests, in ms; n: the successes it rests on (all runs of the side); "
        "ok/s: successes per second; fail: timed out + failed otherwise, as a share of requests (t/o: timeouts)",
        f"±noise: {NOISE_SIGMAS:g} combined standard errors of the p95 change "
        f"(from repeated runs, else from each run's {CHUNK_S}s chunks; '?': too few to estimate)",
        "",
        HEADER,
        "-" * len(HEADER),
    ]
    for change in changes:
        a, b = change.before, change.after
        delta = f"{(b.p95_ms - a.p95_ms) / a.p95_ms:+.0%}" if a and b and a.p95_ms else "-"
        noise = change.p95_noise
        shown = f"{NOISE_SIGMAS * noise:.0f}" if noise is not None else "?" if a and b else "-"
        note = ", ".join(change.regressions) or ("only in A" if b is None else "only in B" if a is None else "")
        lines.append(
            f"{change.request_type:<8} {change.name:<22} {_ms(a):>7} {_n(a):>6} {_ms(b):>7} {_n(b):>6} {delta:>6} "
            f"{shown:>7} {_rps(a):>7} {_rps(b):>7} {_fails(a):>7} {_fails(b):>7}  {note}"
        )
    timed_out = [c for c in changes if (c.before and c.before.timeouts) or (c.after and c.after.timeouts)]
    lines += [""] if timed_out else []
    for change in timed_out:
        lines.append(f"t/o {change.request_type} {change.name}: A {_timeouts(change.before)}, "
                     f"B {_timeouts(change.after)}")  # fmt: skip
    count = sum(1 for change in changes if change.regressions)
    lines += [
        "",
        f"{count} step(s) regressed (p95 up or throughput down by more than {REGRESSION_SHARE:.0%} and beyond "
        f"{NOISE_SIGMAS:g} times the noise, or a failure share higher beyond {NOISE_SIGMAS:g} times its noise)",
    ]
    return "\n".join(lines)


def _describe(label: str, runs: list[RunSample]) -> list[str]:
    lines = [f"{label}: {runs[0].path} ({runs[0].scope})"]
    lines += [f"   repeat: {run.path} ({run.scope})" for run in runs[1:]]
    return lines


def _ms(side: Side | None) -> str:
    return f"{side.p95_ms:.0f}" if side else "-"


def _n(side: Side | None) -> str:
    return str(side.successes) if side else "-"


def _rps(side: Side | None) -> str:
    return f"{side.rps:.2f}" if side else "-"


def _fails(side: Side | None) -> str:
    return f"{side.failure_share:.1%}" if side else "-"


def _timeouts(side: Side | None) -> str:
    return f"{side.timeouts} of {side.requests}" if side else "-"
