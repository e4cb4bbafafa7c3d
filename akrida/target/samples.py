"""Target samples: one row per (moment, source, metric), whatever the source.

A source is a thing on the target's side ("mediator", "issuer", "postgres", "target host", or a
user's exporter); a metric is one of the names below, so that the summary can judge any source's
samples the same way. A source that failed is recorded as a problem, by name, and never stops
the others or the load.

    target/samples.csv   timestamp,source,metric,value
    target/sources.json  {"mediator": {"pid": 1234, "kind": "ACA-Py", "problem": ""}, ...}
"""

from __future__ import annotations

import csv
import json
import threading
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

TARGET_DIR = "target"
SAMPLES_FILE = "samples.csv"
SOURCES_FILE = "sources.json"

# The metric names every source maps its figures to. Per-thread CPU is `thread_cpu_cores:<name>`.
CPU_CORES = "cpu_cores"  # a process's CPU, all threads, in cores (1.0 = one core busy)
MAIN_THREAD_CPU_CORES = "main_thread_cpu_cores"  # its main thread: a Python process's ceiling is 1.0
THREAD_CPU_PREFIX = "thread_cpu_cores:"
RSS_BYTES = "rss_bytes"
OPEN_FILES = "open_files"
SOCKETS = "sockets"
THREADS = "threads"
LIVE_PROBE_MS = "live_probe_ms"  # the admin API's /status/live round trip: a probe of the event loop
PROBE_FAILED = "live_probe_failed"  # 1 when the probe got no answer in time
HOST_CPU_PERCENT = "host_cpu_percent"
HOST_CORES = "host_cores"
HOST_MEMORY_AVAILABLE_BYTES = "host_memory_available_bytes"
PG_CONNECTIONS_PREFIX = "pg_connections:"  # by state: active, idle, idle in transaction …
PG_MAX_CONNECTIONS = "pg_max_connections"
PG_TRANSACTIONS_PER_S = "pg_transactions_per_s"
PG_ROWS_WRITTEN_PER_S = "pg_rows_written_per_s"
PG_LOCK_WAITS = "pg_lock_waits"  # sessions waiting for a lock now
PG_DATABASE_BYTES = "pg_database_bytes"


@dataclass(frozen=True)
class Sample:
    timestamp: float
    source: str
    metric: str
    value: float


@dataclass
class Source:
    """What a source is, for the summary: its kind ("ACA-Py", "PostgreSQL", "node exporter" …),
    the process it watched, and the problem that stopped it, if one did."""

    kind: str
    pid: int | None = None
    problem: str = ""
    samples: int = 0
    # A host the load runs on too (the embedded target beside a local run): its CPU is not the target's alone.
    shared_with_load: bool = False


class SampleLog:
    """Appends samples to target/samples.csv; thread-safe, one file for all sources."""

    def __init__(self, run_dir: Path):
        self.folder = run_dir / TARGET_DIR
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / SAMPLES_FILE
        self.sources: dict[str, Source] = {}
        self._lock = threading.Lock()
        with open(self.path, "w", newline="") as handle:
            csv.writer(handle).writerow(("timestamp", "source", "metric", "value"))

    def describe(self, name: str, source: Source) -> None:
        with self._lock:
            self.sources[name] = source
            self._write_sources()

    def problem(self, name: str, problem: str) -> None:
        """Records that a source failed (the first problem is kept: later ones are its echoes)."""
        with self._lock:
            source = self.sources.setdefault(name, Source(kind="unknown"))
            if not source.problem:
                source.problem = problem
                self._write_sources()

    def forget(self, name: str) -> None:
        """Drops a source that took no samples under its own name (an exporter whose process groups
        are sources of their own), so that the summary does not list it as empty."""
        with self._lock:
            source = self.sources.get(name)
            if source is not None and not source.samples and not source.problem:
                del self.sources[name]
                self._write_sources()

    def write(self, samples: list[Sample]) -> None:
        if not samples:
            return
        with self._lock, open(self.path, "a", newline="") as handle:
            writer = csv.writer(handle)
            for sample in samples:
                writer.writerow((f"{sample.timestamp:.3f}", sample.source, sample.metric, f"{sample.value:.6g}"))
                if sample.source in self.sources:
                    self.sources[sample.source].samples += 1

    def close(self) -> None:
        with self._lock:
            self._write_sources()

    def _write_sources(self) -> None:
        payload = {name: asdict(source) for name, source in sorted(self.sources.items())}
        (self.folder / SOURCES_FILE).write_text(json.dumps(payload, indent=2) + "\n")


@dataclass
class TargetRecord:
    """A run's target samples as read back: series by (source, metric), and what each source was."""

    series: dict[tuple[str, str], list[tuple[float, float]]]
    sources: dict[str, Source]

    def get(self, source: str, metric: str) -> list[tuple[float, float]]:
        return self.series.get((source, metric), [])

    def metrics_of(self, source: str) -> list[str]:
        return sorted(metric for name, metric in self.series if name == source)

    def source_names(self) -> list[str]:
        return sorted({name for name, _metric in self.series} | set(self.sources))


def read_samples(run_dir: Path) -> TargetRecord | None:
    """The run's target samples; None when the run took none (an older run, or no source)."""
    folder = run_dir / TARGET_DIR
    path = folder / SAMPLES_FILE
    if not path.is_file():
        return None
    series: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            try:
                series[(row["source"], row["metric"])].append((float(row["timestamp"]), float(row["value"])))
            except (KeyError, TypeError, ValueError):
                continue  # a row cut short by an interrupted run
    sources: dict[str, Source] = {}
    try:
        for name, raw in json.loads((folder / SOURCES_FILE).read_text()).items():
            sources[name] = Source(**raw)
    except (OSError, ValueError, TypeError):
        pass
    for points in series.values():
        points.sort()
    return TargetRecord(dict(series), sources)


class LatestSamples:
    """The newest value of each (source, metric) in a run's target/samples.csv, read as it grows (the
    live metrics endpoint serves them). Each call reads only the lines written since the last one."""

    def __init__(self, run_dir: Path):
        self.path = run_dir / TARGET_DIR / SAMPLES_FILE
        self.values: dict[tuple[str, str], tuple[float, float]] = {}  # -> (timestamp, value)
        self._offset = 0
        self._partial = ""

    def read(self) -> dict[tuple[str, str], tuple[float, float]]:
        try:
            with open(self.path) as handle:
                if self.path.stat().st_size < self._offset:  # written anew
                    self._offset, self._partial = 0, ""
                handle.seek(self._offset)
                text = handle.read()
                self._offset = handle.tell()
        except OSError:  # no target sampled (yet): nothing to serve
            return self.values
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()  # a line still being written
        for row in csv.reader(lines):
            if len(row) != 4 or row[0] == "timestamp":
                continue
            try:
                self.values[(row[1], row[2])] = (float(row[0]), float(row[3]))
            except ValueError:
                continue
        return self.values
