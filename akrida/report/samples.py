"""What `akrida compare` reads of one run: each step's figures over its steady-state windows, and the
same figures over CHUNK_S-second chunks of them, whose spread is the run's own noise.

The windows are those of the summary (akrida/report/windows.py); a run with none (a ramp, a search, a
run too short to hold) is read whole, ramp included, and says so. Latency is that of successes,
timeouts and other failures apart (akrida/report/outcomes.py). A bundle without a timeline gives
Locust's own figures, with no chunks (so no noise estimate).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from akrida.report.manifest import Manifest
from akrida.report.stats import read_steps
from akrida.report.timeline import Key, Timeline, percentile, read_timeline
from akrida.report.windows import flat_windows, planned_levels, read_user_counts

CHUNK_S = 10  # a chunk this long holds enough requests for a p95 at the rates runs make


@dataclass
class StepSample:
    """One step's figures in one run (over its windows), and per chunk of them."""

    requests: int = 0
    failures: int = 0  # timeouts included
    timeouts: int = 0
    seconds: int = 0
    ok_times: Counter[int] = field(default_factory=Counter)  # {rounded ms: count} of successes
    chunk_p95_ms: list[float] = field(default_factory=list)  # chunks with at least one success
    chunk_rps: list[float] = field(default_factory=list)  # successes per second, every chunk
    p95_from_locust: float | None = None  # no timeline: Locust's p95 of all requests

    @property
    def successes(self) -> int:
        return self.requests - self.failures

    @property
    def p95_ms(self) -> float:
        if self.p95_from_locust is not None:
            return self.p95_from_locust
        return float(percentile(self.ok_times, 0.95))

    @property
    def rps(self) -> float:
        """Successful requests per second."""
        return self.successes / self.seconds if self.seconds else 0.0


@dataclass
class RunSample:
    path: Path
    scope: str  # what the figures are over, in words
    steps: dict[tuple[str, str], StepSample]


def read_run(run_dir: Path) -> RunSample:
    timeline = read_timeline(run_dir)
    if timeline is None:
        return _from_locust(run_dir)
    stretches = _windows(run_dir)
    if stretches:
        seconds = sum(last - first + 1 for first, last in stretches)
        scope = f"{len(stretches)} steady-state window(s), {seconds}s"
    else:
        seen = [second for second, _t, _n in timeline.times]
        stretches = [(min(seen), max(seen))] if seen else []
        scope = "the whole run, ramp included (no steady-state window)"
    by_second: dict[int, list[Key]] = {}
    for key in timeline.times:
        by_second.setdefault(key[0], []).append(key)
    steps: dict[tuple[str, str], StepSample] = {}
    for first, last in stretches:
        _add(timeline, _keys(by_second, first, last), steps)
    for step in steps.values():
        step.seconds = sum(last - first + 1 for first, last in stretches)
    for first, last in stretches:
        for start in range(first, last - CHUNK_S + 2, CHUNK_S):  # a last, shorter chunk is left out
            _add_chunk(timeline, _keys(by_second, start, start + CHUNK_S - 1), steps)
    return RunSample(run_dir, scope, steps)


def _keys(by_second: dict[int, list[Key]], first: int, last: int) -> list[Key]:
    return [key for second in range(first, last + 1) for key in by_second.get(second, ())]


def _windows(run_dir: Path) -> list[tuple[int, int]]:
    try:
        manifest = Manifest.read(run_dir)
    except (OSError, ValueError, TypeError, KeyError):
        return []
    if manifest.config.get("FIND_LIMIT"):
        return []  # a search's steps are not plateaus the run meant to hold
    levels = planned_levels(manifest.config, manifest.users)
    return [(w.first, w.last) for w in flat_windows(read_user_counts(run_dir), levels)]


def _ok(timeline: Timeline, key: Key) -> Counter[int]:
    return timeline.ok_times(key) if timeline.split else timeline.times[key]


def _add(timeline: Timeline, keys: list[Key], steps: dict[tuple[str, str], StepSample]) -> None:
    for key in keys:
        step = steps.setdefault((key[1], key[2]), StepSample())
        step.requests += sum(timeline.times[key].values())
        step.failures += timeline.failures[key]
        step.timeouts += timeline.timeouts[key]
        step.ok_times.update(_ok(timeline, key))


def _add_chunk(timeline: Timeline, keys: list[Key], steps: dict[tuple[str, str], StepSample]) -> None:
    ok: dict[tuple[str, str], Counter[int]] = {name: Counter() for name in steps}
    for key in keys:
        ok[(key[1], key[2])].update(_ok(timeline, key))
    for name, times in ok.items():
        successes = sum(times.values())
        steps[name].chunk_rps.append(successes / CHUNK_S)
        if successes:
            steps[name].chunk_p95_ms.append(float(percentile(times, 0.95)))


def _from_locust(run_dir: Path) -> RunSample:
    steps = {}
    for s in read_steps(run_dir):
        seconds = round(s.count / s.rps) if s.rps else 0
        steps[(s.request_type, s.name)] = StepSample(s.count, s.failures, 0, seconds, p95_from_locust=s.p95_ms)
    return RunSample(run_dir, "the whole run, Locust's figures (no timeline: latency includes failures)", steps)
