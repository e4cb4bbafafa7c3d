"""A process on this machine, read from /proc each second: CPU per thread, memory, files, sockets.

CPU per thread matters for a Python agent: ACA-Py's event loop runs on the main thread, so that
thread at one core is its ceiling, while askar's Rust threads add more to the process as a whole
(a process at 1.6 cores can be at its limit). Threads are grouped by name (their `comm`), so the
samples stay few however many threads a runtime starts.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from pathlib import Path

import psutil

from akrida.target.recorder import Poller, SourceError
from akrida.target.samples import (
    CPU_CORES,
    HOST_CORES,
    HOST_CPU_PERCENT,
    HOST_MEMORY_AVAILABLE_BYTES,
    MAIN_THREAD_CPU_CORES,
    OPEN_FILES,
    RSS_BYTES,
    SOCKETS,
    THREAD_CPU_PREFIX,
    THREADS,
    Sample,
    Source,
)

TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
PROC = Path("/proc")


def thread_times(pid: int) -> dict[int, tuple[str, float]]:
    """{thread id: (name, CPU seconds so far)} of one process."""
    threads = {}
    for task in (PROC / str(pid) / "task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:
            continue  # the thread ended meanwhile
        # The name sits in parentheses and may itself hold spaces or parentheses.
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        threads[int(task.name)] = (name, (int(fields[11]) + int(fields[12])) / TICKS)  # utime + stime
    return threads


def descriptors(pid: int) -> tuple[int, int]:
    """(open files, of which sockets) of one process."""
    folder = PROC / str(pid) / "fd"
    files = sockets = 0
    for entry in os.scandir(folder):
        files += 1
        try:
            if os.readlink(entry.path).startswith("socket:"):
                sockets += 1
        except OSError:
            continue
    return files, sockets


def command_line(pid: int) -> str:
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


class ProcessPoller:
    """Samples one process (or, with `tree`, the process and all its descendants summed: PostgreSQL
    runs a process per connection). `marker` must appear in its command line, so that a pid reused
    by another program after the target's process died is never measured in its name."""

    def __init__(self, name: str, pid: int, kind: str, marker: str, tree: bool = False):
        self.name, self.pid, self.marker, self.tree = name, pid, marker, tree
        self.kind = kind
        self._previous: dict[int, float] = {}  # CPU seconds by thread id at the previous sample
        self._previous_at: float | None = None
        self.check()

    def check(self) -> None:
        if self.marker not in command_line(self.pid):
            raise SourceError(f"pid {self.pid} is not {self.kind} (its command line lacks {self.marker!r})")

    def pids(self) -> list[int]:
        if not self.tree:
            return [self.pid]
        try:
            return [self.pid, *(child.pid for child in psutil.Process(self.pid).children(recursive=True))]
        except psutil.Error:
            return [self.pid]

    def sample(self) -> list[Sample]:
        now, wall = time.monotonic(), time.time()
        threads: dict[int, tuple[str, float]] = {}
        files = sockets = rss = 0
        for pid in self.pids():
            try:
                threads.update(thread_times(pid))
                opened, socks = descriptors(pid)
                files, sockets = files + opened, sockets + socks
                rss += int((PROC / str(pid) / "statm").read_text().split()[1]) * PAGE
            except (OSError, ValueError, IndexError):
                if pid == self.pid:
                    raise SourceError(f"{self.kind} (pid {self.pid}) is gone") from None
                continue  # a child that ended meanwhile
        samples = [
            Sample(wall, self.name, RSS_BYTES, rss),
            Sample(wall, self.name, OPEN_FILES, files),
            Sample(wall, self.name, SOCKETS, sockets),
            Sample(wall, self.name, THREADS, len(threads)),
        ]
        if self._previous_at is not None:
            elapsed = max(now - self._previous_at, 1e-3)
            by_name: dict[str, float] = defaultdict(float)
            main = 0.0
            for tid, (name, seconds) in threads.items():
                # A thread born since the last sample counts from the next one (its start is unknown).
                used = max(0.0, seconds - self._previous[tid]) if tid in self._previous else 0.0
                by_name[name] += used / elapsed
                if tid == self.pid:
                    main = used / elapsed
            samples.append(Sample(wall, self.name, CPU_CORES, sum(by_name.values())))
            if not self.tree:
                samples.append(Sample(wall, self.name, MAIN_THREAD_CPU_CORES, main))
                samples += [Sample(wall, self.name, THREAD_CPU_PREFIX + name, cores) for name, cores in by_name.items()]
        self._previous = {tid: seconds for tid, (_name, seconds) in threads.items()}
        self._previous_at = now
        return samples

    def poller(self) -> Poller:
        return Poller(self.name, Source(kind=self.kind, pid=self.pid), self.sample)


def host_poller(name: str = "target host", shared_with_load: bool = False) -> Poller:
    """The machine the target runs on: its CPU and available memory."""
    psutil.cpu_percent(interval=None)  # the first call only sets the baseline
    cores = psutil.cpu_count() or 1

    def sample() -> list[Sample]:
        now = time.time()
        return [
            Sample(now, name, HOST_CPU_PERCENT, psutil.cpu_percent(interval=None)),
            Sample(now, name, HOST_MEMORY_AVAILABLE_BYTES, psutil.virtual_memory().available),
            Sample(now, name, HOST_CORES, cores),
        ]

    kind = f"{cores} cores" + (", shared with the load" if shared_with_load else "")
    return Poller(name, Source(kind=kind, shared_with_load=shared_with_load), sample)
