"""Where a run broke, and why: read from the run's own timelines, with no CSV read by hand.

Where: the first second in which the target's steps failed, the first stretch of BREACH_WINDOW_S
seconds whose figures breach the SLO, and the holders live at each of those moments.

Why: at the breaking moment, which resource on either side had run out, judged from the samples
around it (CAUSE_WINDOW_S either side): a target process whose main thread (a Python agent's event
loop) sat at its one-core ceiling, a host out of CPU or memory, PostgreSQL with sessions waiting on
locks or its connections used up, and the generator's own host. Nothing found is said as such,
with the busiest resource named, so a reader knows what was looked at.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from akrida.catalog import HARNESS
from akrida.report.gates import evaluate
from akrida.report.health import SATURATED_CPU_PERCENT, HealthSample
from akrida.report.limit import LimitRecord
from akrida.report.outcomes import latencies_of
from akrida.report.stats import Failure, StepStats
from akrida.report.timeline import Timeline
from akrida.report.validity import pegged_processes
from akrida.slo import Gate
from akrida.target.profile import ProfileSummary
from akrida.target.samples import (
    CPU_CORES,
    HOST_CPU_PERCENT,
    HOST_MEMORY_AVAILABLE_BYTES,
    LIVE_PROBE_MS,
    MAIN_THREAD_CPU_CORES,
    PG_CONNECTIONS_PREFIX,
    PG_LOCK_WAITS,
    PG_MAX_CONNECTIONS,
    TargetRecord,
)

BREACH_WINDOW_S = 10  # the SLO is judged over each stretch this long, sliding a second at a time
CAUSE_WINDOW_S = 15  # samples this far either side of the breaking moment say why it broke
# A main thread at this share of a core is at its ceiling: sampling at 1 s never reads a full 1.0.
CEILING_CORES = 0.85
HOST_CPU_OUT_PERCENT = SATURATED_CPU_PERCENT
CONNECTIONS_OUT_SHARE = 0.9  # of max_connections
MEMORY_OUT_BYTES = 256 * 2**20
PROBE_STALLED_MS = 500.0
IDLE_PROFILE_SHARE = 0.99  # a process this idle at the break has nothing to show in its top functions
SUSTAINED_S = 30  # a breach is where it broke when the SLO stays broken this long after it
COUNT_GATES = ("failures", "requests")  # whole-run counts: not judged on a stretch of seconds
MIB = 2**20


@dataclass(frozen=True)
class Moment:
    at: int  # unix second
    into_s: int  # seconds into the run
    holders: int  # holders live then (Locust's user count)
    what: str  # what happened, in words


@dataclass
class BreakingPoint:
    planned_holders: int
    peak_holders: int
    has_slo: bool
    first_failure: Moment | None = None
    first_breach: Moment | None = None
    sustained: Moment | None = None  # the first breach that lasted SUSTAINED_S
    target_causes: list[str] = field(default_factory=list)
    generator_causes: list[str] = field(default_factory=list)
    target_busiest: str = ""  # named when no target resource had run out
    target_sampled: bool = False
    search: LimitRecord | None = None  # FIND_LIMIT's record: its broken step is where it broke
    search_moment: Moment | None = None
    profiles: list[ProfileSummary] = field(default_factory=list)  # TARGET_PROFILE's recordings of the break

    @property
    def generators_limit(self) -> bool:
        """It broke with the generator out of CPU and nothing out on the target's side: what was found
        is the load generator's limit, not the target's."""
        return self.broke is not None and bool(self.generator_causes) and not self.target_causes

    @property
    def profile_label(self) -> str:
        """The label of the recording taken where it broke: the broken search step's, or "break"."""
        broken = self.search.broken if self.search is not None else None
        return f"step-{broken.number}" if broken is not None else "break"

    @property
    def broke(self) -> Moment | None:
        """The moment the run broke: a search's broken step; else the first SLO breach when there is an
        SLO, and the first failure when there is none."""
        if self.search is not None:
            return self.search_moment
        if self.has_slo:
            return self.sustained
        return self.first_failure

    def lines(self) -> list[str]:
        moment = self.broke
        if self.search is not None:
            return self._search_lines(moment)
        if moment is None:
            reached = (
                f"all {self.peak_holders}"
                if self.peak_holders >= self.planned_holders
                else f"{self.peak_holders} of the {self.planned_holders} planned"
            )
            held = f"held {reached} holders {'within the SLO' if self.has_slo else 'with no failure of the target'}"
            lines = [held[0].upper() + held[1:]]
            if self.has_slo and self.first_breach is not None:
                lines.append(f"first SLO breach (not sustained for {SUSTAINED_S}s): {describe(self.first_breach)}")
            if self.has_slo and self.first_failure is not None:
                lines.append(f"first failure (within the SLO): {describe(self.first_failure)}")
            return lines
        lines = []
        if self.first_failure is not None:
            lines.append(f"first failure: {describe(self.first_failure)}")
        if self.has_slo and self.first_breach is not None:
            lines.append(f"first SLO breach: {describe(self.first_breach)}")
            if self.first_breach != self.sustained and self.sustained is not None:
                lines.append(f"first breach sustained for {SUSTAINED_S}s: {describe(self.sustained)}")
        lines.append(f"it broke at {moment.holders} holders live, {moment.into_s}s into the run")
        return lines + self._why()

    def _search_lines(self, moment: Moment | None) -> list[str]:
        assert self.search is not None
        head, criterion, *steps = self.search.lines()
        lines = [f"search: {head}", criterion, *(f"  {line}" for line in steps)]
        if self.first_failure is not None:
            lines.append(f"first failure: {describe(self.first_failure)}")
        if moment is None:
            return lines
        lines.append(f"why, at {moment.holders} holders live ({moment.into_s}s into the run):")
        return lines + [f"  {line}" for line in self._why()]

    def _why(self) -> list[str]:
        lines = []
        if self.target_causes:
            lines += [f"target side: {cause}" for cause in self.target_causes]
        elif self.target_sampled:
            lines.append(f"target side: no sampled resource had run out ({self.target_busiest or 'nothing busy'})")
        else:
            lines.append(
                "target side: not sampled (the embedded target is sampled by itself; for your own target set "
                "TARGET_METRICS or TARGET_PROMETHEUS)"
            )
        if self.generator_causes:
            lines += [f"load generator: {cause}" for cause in self.generator_causes]
        else:
            lines.append("load generator: had headroom")
        for profile in self.profiles:
            if profile.label != self.profile_label:
                continue
            if profile.problem or not profile.top:
                lines.append(f"profile of {profile.source}: none ({profile.problem or 'no busy samples'})")
                continue
            if profile.idle_share >= IDLE_PROFILE_SHARE:
                lines.append(f"profile of {profile.source}: idle {profile.idle_share:.0%}")
                continue
            busy = ", ".join(share.line().split(", ")[0] for share in profile.top[:3])
            lines.append(f"profile of {profile.source} ({profile.seconds:g} s around it): {busy}")
        return lines


def describe(moment: Moment) -> str:
    return f"{moment.into_s}s into the run, {moment.holders} holders live: {moment.what}"


# --- the holders live, second by second ---------------------------------------------------------------


class Holders:
    """Locust's user count at any second, from its stats history rows (unix second, users)."""

    def __init__(self, counts: list[tuple[int, int]]):
        self.counts = counts
        self.start = counts[0][0] if counts else 0

    def at(self, second: int) -> int:
        live = 0
        for stamp, users in self.counts:
            if stamp > second:
                break
            live = users
        return live

    @property
    def peak(self) -> int:
        return max((users for _stamp, users in self.counts), default=0)


# --- where ------------------------------------------------------------------------------------------


def first_failure(timeline: Timeline, holders: Holders, failures: list[Failure]) -> Moment | None:
    """The first second in which a step of the target failed, with the steps and the errors seen."""
    by_second: dict[int, Counter[str]] = defaultdict(Counter)
    for (second, request_type, name), count in timeline.failures.items():
        if request_type != HARNESS and count:
            by_second[second][name] += count
    if not by_second:
        return None
    second = min(by_second)
    steps = ", ".join(f"{name} ({count})" for name, count in by_second[second].most_common())
    kinds = [f for f in failures if f.name in by_second[second] and f.request_type != HARNESS]
    kind = max(kinds, key=lambda f: f.occurrences).error[:160] if kinds else ""
    what = f"{steps} failed" + (f"; the most frequent error of the step(s): {kind}" if kind else "")
    return Moment(second, second - holders.start, holders.at(second), what)


# (type, step, requests, failures, timeouts, {ms: count} of successes) of one second
Second = list[tuple[str, str, int, int, int, Counter[int]]]


def by_second(timeline: Timeline) -> dict[int, Second]:
    seconds: dict[int, Second] = defaultdict(list)
    for key, counted in timeline.times.items():
        second, request_type, name = key
        ok = timeline.ok_times(key) if timeline.split else counted
        seconds[second].append(
            (request_type, name, sum(counted.values()), timeline.failures[key], timeline.timeouts[key], ok)
        )
    return seconds


def stretch_steps(seconds: dict[int, Second], first: int, last: int) -> list[StepStats]:
    """Each step's figures over the requests that ended from second `first` to `last`, as StepStats: the
    latency of successes, with the timeouts beside it (akrida/report/outcomes.py)."""
    times: dict[tuple[str, str], Counter[int]] = defaultdict(Counter)
    counts: Counter[tuple[str, str]] = Counter()
    failures: Counter[tuple[str, str]] = Counter()
    timeouts: Counter[tuple[str, str]] = Counter()
    for second in range(first, last + 1):
        for request_type, name, requests, failed, timed_out, ok in seconds.get(second, ()):
            step = (request_type, name)
            times[step].update(ok)
            counts[step] += requests
            failures[step] += failed
            timeouts[step] += timed_out
    return [
        StepStats(step[0], step[1], counts[step], failures[step], counts[step] / (last - first + 1),
                  latencies_of(times[step]), timeouts[step])
        for step in counts
    ]  # fmt: skip


def breaches(timeline: Timeline, holders: Holders, gates: list[Gate]) -> list[tuple[int, Moment | None]]:
    """Each BREACH_WINDOW_S stretch, by its last second, with the breach it shows (None: it held)."""
    judged = [gate for gate in gates if gate.metric not in COUNT_GATES]
    seconds = by_second(timeline)
    if not judged or not seconds:
        return []
    stretches: list[tuple[int, Moment | None]] = []
    for last in range(min(seconds) + BREACH_WINDOW_S - 1, max(seconds) + 1):
        steps = stretch_steps(seconds, last - BREACH_WINDOW_S + 1, last)
        # A gate on a step that ran no request in the stretch says nothing about it.
        results = [r for r in evaluate(judged, steps, BREACH_WINDOW_S) if r.measured is not None]
        broken = [r for r in results if not r.passed]
        what = "; ".join(f"{r.line().removeprefix('FAIL  ')} over {BREACH_WINDOW_S}s" for r in broken)
        stretches.append((last, Moment(last, last - holders.start, holders.at(last), what) if broken else None))
    return stretches


def first_breach(timeline: Timeline, holders: Holders, gates: list[Gate]) -> Moment | None:
    """The end of the first BREACH_WINDOW_S stretch whose figures breach a gate."""
    return next((moment for _last, moment in breaches(timeline, holders, gates) if moment), None)


def sustained_breach(stretches: list[tuple[int, Moment | None]]) -> Moment | None:
    """The first breach from which every stretch of the next SUSTAINED_S (or to the run's end) breaches
    too: where the run broke, rather than a passing spike (a ramp's first seconds, a pause)."""
    for index, (_last, moment) in enumerate(stretches):
        if moment is not None and all(later for _l, later in stretches[index : index + SUSTAINED_S]):
            return moment
    return None


# --- why --------------------------------------------------------------------------------------------


def _around(points: list[tuple[float, float]], at: int) -> list[float]:
    return [value for stamp, value in points if at - CAUSE_WINDOW_S <= stamp <= at + CAUSE_WINDOW_S]


def target_causes(record: TargetRecord, at: int) -> tuple[list[str], str]:
    """The target's resources that had run out around `at`, and its busiest one in words."""
    causes: list[str] = []
    busiest: list[tuple[float, str]] = []  # (share of its ceiling, words)
    for source in record.source_names():
        main = _around(record.get(source, MAIN_THREAD_CPU_CORES), at)
        whole = _around(record.get(source, CPU_CORES), at)
        if main:
            level = statistics.median(main)
            process = f"; the whole process {statistics.median(whole):.2f} cores" if whole else ""
            words = f"{source}'s main thread (its event loop) at {level:.2f} of its one-core ceiling{process}"
            if level >= CEILING_CORES:
                causes.append(words)
            busiest.append((level, words))
        elif whole:
            busiest.append((statistics.median(whole) / 2, f"{source} at {statistics.median(whole):.2f} cores"))
        host = _around(record.get(source, HOST_CPU_PERCENT), at)
        shared = source in record.sources and record.sources[source].shared_with_load
        if host:
            level = statistics.median(host)
            words = f"{source} CPU at {level:.0f} %"
            # A host shared with the load is judged on the generator's side (its health samples).
            if level >= HOST_CPU_OUT_PERCENT and not shared:
                causes.append(f"{words} (out of CPU)")
            busiest.append((level / 100, words + (", with the load on it" if shared else "")))
        memory = _around(record.get(source, HOST_MEMORY_AVAILABLE_BYTES), at)
        if memory and min(memory) < MEMORY_OUT_BYTES:
            causes.append(f"{source} nearly out of memory ({min(memory) / MIB:.0f} MiB available)")
        probe = _around(record.get(source, LIVE_PROBE_MS), at)
        if probe and statistics.median(probe) >= PROBE_STALLED_MS:
            causes.append(f"{source}: /status/live took {statistics.median(probe):.0f} ms (a stalled event loop)")
        waits = _around(record.get(source, PG_LOCK_WAITS), at)
        if waits and statistics.mean(waits) >= 0.5:
            causes.append(f"{source}: sessions waiting on locks (up to {max(waits):.0f} at once)")
        causes += _connections(record, source, at)
    words = max(busiest)[1] if busiest else ""
    return causes, (f"busiest: {words}" if words else "")


def _connections(record: TargetRecord, source: str, at: int) -> list[str]:
    maximum = _around(record.get(source, PG_MAX_CONNECTIONS), at)
    if not maximum:
        return []
    by_stamp: dict[float, float] = defaultdict(float)
    for metric in record.metrics_of(source):
        if metric.startswith(PG_CONNECTIONS_PREFIX):
            for stamp, value in record.get(source, metric):
                if at - CAUSE_WINDOW_S <= stamp <= at + CAUSE_WINDOW_S:
                    by_stamp[stamp] += value
    used = max(by_stamp.values(), default=0.0)
    if used >= CONNECTIONS_OUT_SHARE * max(maximum):
        return [f"{source}: connections used up ({used:.0f} of max_connections {max(maximum):.0f})"]
    return []


def generator_causes(samples: list[HealthSample], at: int) -> list[str]:
    near = [s for s in samples if at - CAUSE_WINDOW_S <= s.timestamp <= at + CAUSE_WINDOW_S]
    causes = []
    for host in sorted({s.host for s in near}):
        mine = [s for s in near if s.host == host]
        # The CPU the generator may use: the host's, or its own cores when pinned (HealthSample.cpu_percent).
        level = statistics.median(s.cpu_percent for s in mine)
        own = statistics.median(s.generator_share_percent for s in mine)
        if level >= HOST_CPU_OUT_PERCENT:
            whose = "the generator's own" if own >= level / 2 else "mostly other processes (a target beside it)"
            where = mine[-1].cpu_name() if mine[-1].pinned else f"host {host}"
            causes.append(f"{where} out of CPU ({level:.0f} %; {whose}: Locust and agents {own:.0f} %)")
            continue
        pegged = pegged_processes(mine, host)  # one event loop out of CPU, on a host with cores to spare
        if pegged:
            causes += pegged
            continue
        # Pinned to fewer cores than the host has (taskset), the generator runs out before the host does.
        allowed, cores = mine[-1].allowed_cores, mine[-1].host_cores
        if 0 < allowed < cores:
            # `own` is of the allowed cores when their load was sampled (pinned), else of the host's.
            used = own * (allowed if mine[-1].pinned else cores) / 100
            if used >= CEILING_CORES * allowed:
                causes.append(
                    f"on {host}, Locust and its agents used {used:.2f} of the {allowed} core(s) they may run on "
                    "(CPU affinity): out of CPU"
                )
    return causes


def find(
    timeline: Timeline | None,
    counts: list[tuple[int, int]],
    planned_holders: int,
    gates: list[Gate],
    failures: list[Failure],
    health: list[HealthSample],
    record: TargetRecord | None,
    search: LimitRecord | None = None,
) -> BreakingPoint:
    holders = Holders(counts)
    point = BreakingPoint(planned_holders, holders.peak, has_slo=bool(gates), target_sampled=record is not None)
    point.search = search
    broken = search.broken if search is not None else None
    if broken is not None:
        at = int(broken.ended_at or broken.started_at)
        point.search_moment = Moment(at, at - holders.start, holders.at(at), "; ".join(broken.reasons))
    if timeline is None and point.search_moment is None:
        return point
    if timeline is not None:
        point.first_failure = first_failure(timeline, holders, failures)
        if gates and search is None:
            stretches = breaches(timeline, holders, gates)
            point.first_breach = next((moment for _last, moment in stretches if moment), None)
            point.sustained = sustained_breach(stretches)
    moment = point.broke
    if moment is None:
        return point
    if record is not None:
        point.target_causes, point.target_busiest = target_causes(record, moment.at)
    point.generator_causes = generator_causes(health, moment.at)
    return point
