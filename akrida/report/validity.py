"""Whether the load generator kept up, judged per process and per stretch of the run.

The whole-run verdict of akrida/report/health.py (host CPU above 90 % in a quarter of the samples)
misses three ways a generator spoils a measurement:
- one process out of CPU on a host with cores to spare: Locust's gevent loop or one agent's event
  loop runs on one thread, and a thread at its one-core ceiling queues every request it drives
  (12.5 % of an 8-core host);
- a burst: 20 s out of CPU in a 10-minute run is 3 % of its samples, but those 20 s of latencies are
  the generator's queueing;
- the end of a run: a ramp's last minute, where the knee is, can saturate while the whole run does not.

So each stretch the figures are read over is judged on its own: the steady-state windows when the run
has them, else consecutive SLICE_S slices of it. In a stretch, a sample is out when its host's CPU was
above SATURATED_CPU_PERCENT (pinned with taskset: the cores the generator may run on), when Locust's
main thread or an agent's was at PEGGED_CORES of a core, or when Locust itself warned (its
`cpu_warning` event). A stretch out in SATURATED_SHARE of its sampled moments or more is not a valid
measurement of the target; shorter bursts are named with their time. Locust's own CPU warnings, as
its logs wrote them, are listed too.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from pathlib import Path

from akrida.report.health import INTERVAL_SECONDS, PEGGED_CORES, SATURATED_CPU_PERCENT, SATURATED_SHARE, HealthSample
from akrida.report.windows import SteadyWindow

SLICE_S = 60  # a run with no steady-state window is judged a minute at a time
LOCUST_WARNINGS = ("CPU usage above", "exceeded cpu threshold", "CPU usage threshold was exceeded",
                   "CPU usage was too high")  # fmt: skip
MAX_WARNING_LINES = 10


@dataclass(frozen=True)
class Burst:
    """Consecutive samples in which one resource was out."""

    what: str  # "host h's CPU", "Locust process 12 on h", "agent process 34 on h"
    first: float  # timestamps of its first and last sample
    last: float
    peak: str  # its worst reading, in words

    def line(self, run_start: float) -> str:
        begins = self.first - INTERVAL_SECONDS - run_start  # a sample stands for the interval before it
        seconds = self.last - self.first + INTERVAL_SECONDS
        return f"{self.what} out for {seconds:.0f}s from {max(0.0, begins):.0f}s ({self.peak})"


@dataclass(frozen=True)
class StretchValidity:
    label: str  # "steady-state window 1 (…)" or "slice 60s-120s"
    moments: int  # sampled moments (INTERVAL_SECONDS apart) in the stretch
    out_moments: int
    bursts: list[Burst] = field(default_factory=list)

    @property
    def out_share(self) -> float:
        return self.out_moments / self.moments if self.moments else 0.0

    @property
    def valid(self) -> bool:
        return self.out_share < SATURATED_SHARE


@dataclass(frozen=True)
class Validity:
    stretches: list[StretchValidity]
    by_window: bool  # False: judged over SLICE_S slices (no steady-state window)
    run_start: float
    locust_warnings: list[str] = field(default_factory=list)  # Locust's own lines, as logged
    locust_warned: int = 0  # samples during which Locust's cpu_warning event fired

    @property
    def invalid(self) -> list[StretchValidity]:
        return [s for s in self.stretches if not s.valid]

    def verdict_note(self) -> str:
        """Words for the verdict when a stretch is not a valid measurement ("" when every one is)."""
        if not self.invalid:
            return ""
        names = ", ".join(s.label.split(" (")[0] for s in self.invalid)
        return f" (not a valid measurement of the target in {names}: the load generator ran out of CPU there)"

    def lines(self) -> list[str]:
        if not self.stretches:
            return []
        kind = "steady-state window" if self.by_window else f"{SLICE_S}s slice of the run (no steady-state window)"
        lines = [f"validity judged per {kind}, per process (Locust's and each agent's main thread):"]
        for stretch in self.stretches:
            if stretch.out_moments == 0:
                lines.append(f"  {stretch.label}: valid, the generator kept up throughout")
                continue
            mark = "valid" if stretch.valid else "NOT VALID"
            lines.append(f"  {stretch.label}: {mark}, out of CPU in {stretch.out_share:.0%} of its samples")
            lines += [f"    {burst.line(self.run_start)}" for burst in stretch.bursts]
        if self.locust_warned:
            lines.append(f"Locust's own CPU warning fired in {self.locust_warned} sample(s)")
        lines += [f"Locust: {line}" for line in self.locust_warnings[:MAX_WARNING_LINES]]
        return lines


def judge_validity(samples: list[HealthSample], windows: list[SteadyWindow], run_dir: Path | None = None) -> Validity:
    warnings = locust_warnings(run_dir) if run_dir is not None else []
    if not samples:
        return Validity([], bool(windows), 0.0, warnings)
    start = samples[0].timestamp - INTERVAL_SECONDS
    if windows:
        stretches = [
            (f"steady-state window {n} ({w.window.describe()})", float(w.window.first), float(w.window.last + 1))
            for n, w in enumerate(windows, 1)
        ]
    else:
        end = samples[-1].timestamp
        stretches = []
        at = start
        while at < end:
            label = f"slice {at - start:.0f}s-{min(at + SLICE_S, end) - start:.0f}s"
            stretches.append((label, at, at + SLICE_S))
            at += SLICE_S
    judged = [_judge(label, [s for s in samples if first < s.timestamp <= last]) for label, first, last in stretches]
    warned = sum(1 for s in samples if s.locust_cpu_warning)
    return Validity([j for j in judged if j.moments], bool(windows), start, warnings, warned)


def _outs(sample: HealthSample) -> list[tuple[str, float, str]]:
    """(what, how far out on its own scale, the reading in words) of each resource out in one sample."""
    outs = []
    busy = sample.cpu_percent  # the host's, or the generator's own cores when pinned (taskset)
    if busy > SATURATED_CPU_PERCENT:
        share = min(1.0, sample.generator_share_percent / busy)
        outs.append((sample.cpu_name(), busy, f"{busy:.0f}% busy, Locust and agents {share:.0%} of it"))
    if sample.locust_cores >= PEGGED_CORES:
        outs.append((f"Locust process {sample.locust_pid} on {sample.host}", sample.locust_cores,
                     f"main thread at {sample.locust_cores:.2f} core"))  # fmt: skip
    if sample.busiest_agent_cores >= PEGGED_CORES:
        outs.append((f"agent process {sample.busiest_agent_pid} on {sample.host}", sample.busiest_agent_cores,
                     f"main thread at {sample.busiest_agent_cores:.2f} core"))  # fmt: skip
    if sample.locust_cpu_warning:
        outs.append((f"Locust's CPU warning in process {sample.locust_pid} on {sample.host}",
                     sample.locust_cpu_warning, f"it measured {sample.locust_cpu_warning:.0f}% of a core"))  # fmt: skip
    return outs


def _judge(label: str, samples: list[HealthSample]) -> StretchValidity:
    moments: set[int] = set()
    out_moments: set[int] = set()
    open_bursts: dict[str, list[tuple[float, float, str]]] = {}  # what -> its samples (timestamp, value, words)
    bursts: list[Burst] = []
    for sample in samples:
        moment = int(sample.timestamp // INTERVAL_SECONDS)
        moments.add(moment)
        for what, value, words in _outs(sample):
            out_moments.add(moment)
            run = open_bursts.setdefault(what, [])
            if run and sample.timestamp - run[-1][0] > 2 * INTERVAL_SECONDS:  # a gap: the last burst ended
                bursts.append(_burst(what, run))
                run.clear()
            run.append((sample.timestamp, value, words))
    bursts += [_burst(what, run) for what, run in open_bursts.items() if run]
    return StretchValidity(label, len(moments), len(out_moments), sorted(bursts, key=lambda b: b.first))


def _burst(what: str, run: list[tuple[float, float, str]]) -> Burst:
    peak = max(run, key=lambda reading: reading[1])
    return Burst(what, run[0][0], run[-1][0], f"peak: {peak[2]}")


def pegged_processes(samples: list[HealthSample], host: str) -> list[str]:
    """Words for each Locust process on `host` whose own main thread, or whose busiest agent's, sat at its
    one-core ceiling over `samples` (their median): out of CPU while the host may have cores to spare."""
    causes = []
    for pid in sorted({s.locust_pid for s in samples if s.host == host}):
        mine = [s for s in samples if s.host == host and s.locust_pid == pid]
        locust = statistics.median(s.locust_cores for s in mine)
        agent = statistics.median(s.busiest_agent_cores for s in mine)
        if locust >= PEGGED_CORES:
            causes.append(f"on {host}, Locust process {pid}'s event loop at its one-core ceiling ({locust:.2f} core)")
        if agent >= PEGGED_CORES:
            causes.append(f"on {host}, the busiest agent of Locust process {pid} at its one-core ceiling "
                          f"({agent:.2f} core, process {mine[-1].busiest_agent_pid})")  # fmt: skip
    return causes


def locust_warnings(run_dir: Path) -> list[str]:
    """Locust's CPU warnings, as its logs wrote them: this host's and every fetched host's."""
    logs = [run_dir / "locust.log", *sorted((run_dir / "hosts").glob("*/locust*.log"))]
    found: list[str] = []
    seen: set[str] = set()  # a master's log is fetched into hosts/ and copied beside them: once each line
    for path in logs:
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        where = path.parent.name if path.parent != run_dir else "this host"
        for line in text.splitlines():
            if any(marker in line for marker in LOCUST_WARNINGS) and line not in seen:
                seen.add(line)
                found.append(f"{where}: {line.strip()[:220]}")
    return found
