"""Health of the load generator, sampled where the load is made.

A load test measures the target only while the generator has headroom. When the generator host
runs out of CPU, latencies include the generator's own queueing. Each Locust process samples its
host and its own process tree (the Locust process plus its holder agents) every few seconds, and
writes the samples to health/<host>-<pid>.csv in the run folder.

Memory is counted as USS and PSS. Holder agents share library pages, and RSS would count those
pages once per agent.
"""

from __future__ import annotations

import csv
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import psutil

from akrida import paths

HEALTH_DIR = "health"
INTERVAL_SECONDS = 3.0
# A run is not a valid measurement of the target when the generator host's CPU stayed above
# SATURATED_CPU_PERCENT for at least SATURATED_SHARE of the samples.
SATURATED_CPU_PERCENT = 90.0
SATURATED_SHARE = 0.25
# A saturated host is the generator's doing when Locust and its agents used at least this share of
# the host's busy CPU while it was saturated; otherwise other processes on the host (an embedded
# target beside it) took most of it.
GENERATOR_BLAME_SHARE = 0.5
# A process's main thread at this share of one core is at its ceiling: Locust's gevent loop and a Node
# agent's event loop each run on one thread, so one of them can be out of CPU on a host with cores to
# spare (one core is 12.5 % of an 8-core host). A 3 s average never reads a full 1.0.
PEGGED_CORES = 0.85


@dataclass(frozen=True)
class HealthSample:
    timestamp: float
    host: str
    host_cpu_percent: float  # the whole host, 0-100
    generator_cpu_percent: float  # this process and its children, as a share of the host, 0-100
    uss_bytes: int
    pss_bytes: int
    open_files: int
    processes: int
    live_holders: int  # holders started or starting in this process's agent hosts
    agent_hosts: int  # live agent (Node) processes
    host_cores: int = 0  # the host's cores (0: not recorded, a bundle older than it)
    allowed_cores: int = 0  # the cores this process may run on (CPU affinity, e.g. taskset); 0: not recorded
    # Per process (0 in bundles older than them): the Locust process's main thread, in cores; the busiest
    # of its agent (child) processes' main threads, in cores, and that process's id.
    locust_pid: int = 0
    locust_cores: float = 0.0
    busiest_agent_cores: float = 0.0
    busiest_agent_pid: int = 0
    # Locust's own CPU warning (its `cpu_warning` event: its process above 90 % of a core over 10 s) since
    # the last sample: the CPU usage it measured, in percent; 0: no warning.
    locust_cpu_warning: float = 0.0
    # How busy the cores this process may run on were, 0-100 (-1: not recorded, a bundle older than it).
    allowed_cpu_percent: float = -1.0

    @property
    def pinned(self) -> bool:
        """Locust and its agents may run on fewer of the host's cores than it has (taskset), whose load is known."""
        return 0 < self.allowed_cores < self.host_cores and self.allowed_cpu_percent >= 0

    @property
    def cpu_percent(self) -> float:
        """How busy the CPU the generator may use was: its own cores when pinned, else the host's.

        Pinned apart from a target on the same host, the generator is out of CPU when its own cores are,
        whatever the target's cores do; and the host can be far from full while its cores are."""
        return self.allowed_cpu_percent if self.pinned else self.host_cpu_percent

    @property
    def generator_share_percent(self) -> float:
        """Locust and its agents' CPU as a share of the CPU they may use (cpu_percent's scale), 0-100."""
        if self.pinned:
            return min(100.0, self.generator_cpu_percent * self.host_cores / self.allowed_cores)
        return self.generator_cpu_percent

    def cpu_name(self) -> str:
        """What cpu_percent measured, in words."""
        if self.pinned:
            return f"host {self.host}'s {self.allowed_cores} core(s) Locust and its agents may run on"
        return f"host {self.host}'s CPU"


class HealthSampler:
    """Samples the process tree rooted at this process. Call `sample()` every few seconds."""

    def __init__(self, live_holders: Callable[[], int] = lambda: 0, agent_hosts: Callable[[], int] = lambda: 0):
        self.process = psutil.Process()
        self.live_holders = live_holders
        self.agent_hosts = agent_hosts
        self.host = paths.host_name()
        self.cores = psutil.cpu_count() or 1
        self._cpu_seconds: dict[int, float] = {}
        self._main_seconds: dict[int, float] = {}
        self._warning = 0.0
        self._last = time.monotonic()
        self._last_wall = time.time()
        psutil.cpu_percent(interval=None)  # the first calls only set the baselines
        psutil.cpu_percent(interval=None, percpu=True)

    def locust_warned(self, cpu_usage: float) -> None:
        """Locust's `cpu_warning` event fired (its own monitor, every 10 s)."""
        self._warning = max(self._warning, cpu_usage)

    def sample(self) -> HealthSample:
        now = time.monotonic()
        elapsed = max(now - self._last, 1e-6)
        self._last = now
        last_wall, self._last_wall = self._last_wall, time.time()
        tree = [self.process, *self.process.children(recursive=True)]
        used = 0.0
        uss = pss = files = 0
        seen: dict[int, float] = {}
        main_seen: dict[int, float] = {}
        main_cores: dict[int, float] = {}
        for member in tree:
            try:
                with member.oneshot():
                    times = member.cpu_times()
                    total = times.user + times.system
                    memory = member.memory_full_info()
                    files += member.num_fds()
                    created_after_last = member.create_time() >= last_wall
                    main = _main_thread_seconds(member)
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
            seen[member.pid] = total
            main_seen[member.pid] = main
            previous = self._cpu_seconds.get(member.pid)
            if previous is not None:
                used += total - previous
            elif created_after_last:  # born since the last sample: all its CPU is this interval's
                used += total
            before = self._main_seconds.get(member.pid, 0.0 if created_after_last else None)
            if before is not None:
                main_cores[member.pid] = max(0.0, main - before) / elapsed
            uss += memory.uss
            pss += getattr(memory, "pss", memory.uss)
        self._cpu_seconds = seen
        self._main_seconds = main_seen
        agents = {pid: cores for pid, cores in main_cores.items() if pid != self.process.pid}
        busiest = max(agents, key=lambda pid: agents[pid], default=0)
        warning, self._warning = self._warning, 0.0
        allowed = sorted(os.sched_getaffinity(0))
        per_core = psutil.cpu_percent(interval=None, percpu=True)
        on_allowed = [per_core[core] for core in allowed if core < len(per_core)]
        return HealthSample(
            timestamp=time.time(),
            host=self.host,
            host_cpu_percent=psutil.cpu_percent(interval=None),
            generator_cpu_percent=min(100.0, 100.0 * used / (elapsed * self.cores)),
            uss_bytes=uss,
            pss_bytes=pss,
            open_files=files,
            processes=len(seen),
            live_holders=self.live_holders(),
            agent_hosts=self.agent_hosts(),
            host_cores=self.cores,
            allowed_cores=len(allowed),
            locust_pid=self.process.pid,
            locust_cores=round(main_cores.get(self.process.pid, 0.0), 3),
            busiest_agent_cores=round(agents.get(busiest, 0.0), 3),
            busiest_agent_pid=busiest,
            locust_cpu_warning=warning,
            allowed_cpu_percent=round(sum(on_allowed) / len(on_allowed), 1) if on_allowed else -1.0,
        )


def _main_thread_seconds(process: psutil.Process) -> float:
    """CPU seconds of the process's main thread (its id is the process's): the thread an event loop runs on."""
    for thread in process.threads():
        if thread.id == process.pid:
            return thread.user_time + thread.system_time
    times = process.cpu_times()
    return times.user + times.system


class HealthLog:
    """Appends samples to health/<host>-<pid>.csv under the run folder."""

    def __init__(self, run_dir: Path):
        folder = run_dir / HEALTH_DIR
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"{paths.host_name()}-{os.getpid()}.csv"
        self._names = [field.name for field in fields(HealthSample)]
        with open(self.path, "w", newline="") as handle:
            csv.writer(handle).writerow(self._names)

    def write(self, sample: HealthSample) -> None:
        with open(self.path, "a", newline="") as handle:
            csv.DictWriter(handle, self._names).writerow(asdict(sample))


def read_health(run_dir: Path) -> list[HealthSample]:
    """Every sample of every generator process of the run, oldest first."""
    samples = []
    for path in sorted((run_dir / HEALTH_DIR).glob("*.csv")):
        with open(path, newline="") as handle:
            for row in csv.DictReader(handle):
                try:
                    samples.append(
                        HealthSample(
                            timestamp=float(row["timestamp"]),
                            host=row["host"],
                            host_cpu_percent=float(row["host_cpu_percent"]),
                            generator_cpu_percent=float(row["generator_cpu_percent"]),
                            uss_bytes=int(row["uss_bytes"]),
                            pss_bytes=int(row["pss_bytes"]),
                            open_files=int(row["open_files"]),
                            processes=int(row["processes"]),
                            # Bundles written before dense hosting called holders "live agents".
                            live_holders=int(row.get("live_holders") or row["live_agents"]),
                            agent_hosts=int(row.get("agent_hosts") or 0),
                            host_cores=int(row.get("host_cores") or 0),
                            allowed_cores=int(row.get("allowed_cores") or 0),
                            locust_pid=int(row.get("locust_pid") or 0),
                            locust_cores=float(row.get("locust_cores") or 0),
                            busiest_agent_cores=float(row.get("busiest_agent_cores") or 0),
                            busiest_agent_pid=int(row.get("busiest_agent_pid") or 0),
                            locust_cpu_warning=float(row.get("locust_cpu_warning") or 0),
                            allowed_cpu_percent=float(row.get("allowed_cpu_percent") or -1),
                        )
                    )
                except (KeyError, ValueError):
                    continue  # a line cut short by an interrupted run
    return sorted(samples, key=lambda s: s.timestamp)


@dataclass(frozen=True)
class HealthVerdict:
    samples: int
    saturated_share: float
    peak_cpu: float  # of the CPU the generator may use: the host's, or its own cores when pinned
    peak_generator_cpu: float
    peak_pss_bytes: int
    peak_uss_bytes: int
    peak_open_files: int  # on one host
    peak_live_holders: int
    peak_agent_hosts: int
    pss_per_holder_bytes: int  # PSS of Locust and its agents over live holders, when the most were live
    generator_share_when_hot: float = 0.0  # Locust and agents' share of the host's busy CPU while saturated, 0-1
    # >0: Locust and its agents were pinned to this many cores (taskset), and the CPU figures above are
    # those cores' rather than the host's.
    pinned_cores: int = 0

    @property
    def saturated(self) -> bool:
        return self.samples > 0 and self.saturated_share >= SATURATED_SHARE

    @property
    def saturated_by_generator(self) -> bool:
        """Saturated, and mostly by Locust and its agents rather than by other processes on the host."""
        return self.saturated and self.generator_share_when_hot >= GENERATOR_BLAME_SHARE


def judge(samples: list[HealthSample]) -> HealthVerdict:
    if not samples:
        return HealthVerdict(0, 0.0, 0.0, 0.0, 0, 0, 0, 0, 0, 0)
    # Several generator processes on one host sample the same host CPU; per timestamp bucket the
    # memory and agents add up, while the host CPU is the same figure seen twice. CPU and open files
    # are judged host by host (each host has its own cores and limits); holders, agent processes and
    # memory are the whole run's, all hosts added up moment by moment.
    by_moment: dict[tuple[str, int], list[HealthSample]] = {}
    everywhere: dict[int, list[HealthSample]] = {}
    for sample in samples:
        moment = int(sample.timestamp // INTERVAL_SECONDS)
        by_moment.setdefault((sample.host, moment), []).append(sample)
        everywhere.setdefault(moment, []).append(sample)
    busiest = max(everywhere.values(), key=lambda g: sum(s.live_holders for s in g))
    peak_holders = sum(s.live_holders for s in busiest)
    # Judged on the CPU the generator may use: its own cores when pinned (HealthSample.cpu_percent).
    hot_groups = [g for g in by_moment.values() if max(s.cpu_percent for s in g) > SATURATED_CPU_PERCENT]
    hot = len(hot_groups)
    shares = [min(1.0, sum(s.generator_share_percent for s in g) / max(s.cpu_percent for s in g)) for g in hot_groups]
    return HealthVerdict(
        samples=len(by_moment),
        saturated_share=hot / len(by_moment),
        peak_cpu=max(s.cpu_percent for s in samples),
        peak_generator_cpu=max(sum(s.generator_share_percent for s in g) for g in by_moment.values()),
        peak_pss_bytes=max(sum(s.pss_bytes for s in g) for g in everywhere.values()),
        peak_uss_bytes=max(sum(s.uss_bytes for s in g) for g in everywhere.values()),
        peak_open_files=max(sum(s.open_files for s in g) for g in by_moment.values()),
        peak_live_holders=peak_holders,
        peak_agent_hosts=max(sum(s.agent_hosts for s in g) for g in everywhere.values()),
        pss_per_holder_bytes=sum(s.pss_bytes for s in busiest) // peak_holders if peak_holders else 0,
        generator_share_when_hot=sum(shares) / len(shares) if shares else 0.0,
        pinned_cores=min((s.allowed_cores for s in samples if s.pinned), default=0),
    )
