"""A user's Prometheus exporters, scraped each second during the run (TARGET_METRICS).

Three kinds are understood, by the series they expose, and mapped onto the metric names of
akrida/target/samples.py so that the summary judges them like the embedded target's:

- node exporter: `node_cpu_seconds_total`, `node_memory_MemAvailable_bytes` → the host (source: the
  exporter's name);
- process-exporter: `namedprocess_namegroup_*` → one source per process group (its `groupname`);
- postgres exporter: `pg_stat_activity_count`, `pg_stat_database_*` … → PostgreSQL (source: the
  exporter's name).

Only the lines of those series are parsed, and of their labels only the few that name what a value is
(`cpu`, `mode`, `groupname`, `memtype`, `threadname`, `datname`, `state`) are read: the rest (command
lines, DSNs, query text) never leave this module, and the exporter's raw text is not kept. Counters
become rates between two scrapes; a counter that went back (the exporter restarted) gives no rate
that moment.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests
from prometheus_client.parser import text_string_to_metric_families

from akrida.target.recorder import Poller, SourceError
from akrida.target.samples import (
    CPU_CORES,
    HOST_CORES,
    HOST_CPU_PERCENT,
    HOST_MEMORY_AVAILABLE_BYTES,
    OPEN_FILES,
    PG_CONNECTIONS_PREFIX,
    PG_DATABASE_BYTES,
    PG_LOCK_WAITS,
    PG_MAX_CONNECTIONS,
    PG_ROWS_WRITTEN_PER_S,
    PG_TRANSACTIONS_PER_S,
    RSS_BYTES,
    THREAD_CPU_PREFIX,
    THREADS,
    Sample,
    Source,
)

SCRAPE_TIMEOUT_S = 2.0
MAX_BYTES = 16 * 2**20  # a node exporter answers ~100 KiB; far more is not an exporter we know

NODE_CPU = "node_cpu_seconds_total"
NODE_MEMORY_AVAILABLE = "node_memory_MemAvailable_bytes"
PROCESS_CPU = "namedprocess_namegroup_cpu_seconds_total"
PROCESS_MEMORY = "namedprocess_namegroup_memory_bytes"
PROCESS_FILES = "namedprocess_namegroup_open_filedesc"
PROCESS_THREADS = "namedprocess_namegroup_num_threads"
PROCESS_THREAD_CPU = "namedprocess_namegroup_thread_cpu_seconds_total"
PG_UP = "pg_up"
PG_ACTIVITY = "pg_stat_activity_count"
PG_MAX = "pg_settings_max_connections"
PG_COMMITS = "pg_stat_database_xact_commit"
PG_ROLLBACKS = "pg_stat_database_xact_rollback"
PG_WRITES = ("pg_stat_database_tup_inserted", "pg_stat_database_tup_updated", "pg_stat_database_tup_deleted")
PG_SIZE = "pg_database_size_bytes"
# Not in postgres_exporter's defaults: the custom query of docs/target-metrics.md adds it.
PG_LOCK_WAITS_SERIES = "pg_lock_waits_sessions"

USED = frozenset(
    {
        NODE_CPU,
        NODE_MEMORY_AVAILABLE,
        PROCESS_CPU,
        PROCESS_MEMORY,
        PROCESS_FILES,
        PROCESS_THREADS,
        PROCESS_THREAD_CPU,
        PG_UP,
        PG_ACTIVITY,
        PG_MAX,
        PG_COMMITS,
        PG_ROLLBACKS,
        *PG_WRITES,
        PG_SIZE,
        PG_LOCK_WAITS_SERIES,
    }
)
KEPT_LABELS = frozenset({"cpu", "mode", "groupname", "memtype", "threadname", "datname", "state"})
IDLE_MODES = ("idle", "iowait")  # as psutil counts them, so that both hosts' CPU % read alike


@dataclass(frozen=True)
class Series:
    """One value of a scrape, with only the labels this module reads."""

    name: str
    labels: dict[str, str]
    value: float


@dataclass(frozen=True)
class Exporter:
    """One TARGET_METRICS entry: its URL and the name its samples and problems go under."""

    url: str
    given_name: str = ""

    @property
    def name(self) -> str:
        if self.given_name:
            return self.given_name
        parts = urlsplit(self.url)
        return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)


def used_lines(text: str) -> str:
    """The sample lines of the series used; every other line (comments, other series) is dropped
    before parsing, which keeps a node exporter's 2,000 lines a second cheap."""
    kept = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        end = len(line)
        for stop in ("{", " "):
            found = line.find(stop)
            if 0 <= found < end:
                end = found
        if line[:end] in USED:
            kept.append(line)
    return "\n".join(kept) + "\n"


def parse(text: str) -> list[Series]:
    """The used series of an exporter's text format, with only KEPT_LABELS."""
    try:
        families = list(text_string_to_metric_families(used_lines(text)))
    except ValueError as error:
        raise SourceError(f"not the Prometheus text format ({str(error)[:80]})") from None
    series = []
    for family in families:
        for sample in family.samples:
            if math.isfinite(sample.value):
                labels = {key: value for key, value in sample.labels.items() if key in KEPT_LABELS}
                series.append(Series(sample.name, labels, float(sample.value)))
    return series


@dataclass
class Rates:
    """Counters to rates per second between two readings, by key."""

    previous: dict[str, tuple[float, float]] = field(default_factory=dict)

    def rate(self, key: str, value: float, now: float) -> float | None:
        before = self.previous.get(key)
        self.previous[key] = (now, value)
        if before is None or now <= before[0] or value < before[1]:
            return None  # the first reading, or a counter that went back: the exporter restarted
        return (value - before[1]) / (now - before[0])


def _sum(series: Iterable[Series], name: str, **labels: str) -> float | None:
    values = [s.value for s in series if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]
    return sum(values) if values else None


class ExporterPoller:
    """Scrapes one exporter; `sample()` maps what it found onto akrida's metrics."""

    def __init__(self, exporter: Exporter):
        self.exporter = exporter
        self.name = exporter.name
        self.session = requests.Session()
        self.session.headers["Accept"] = "text/plain;version=0.0.4"  # not OpenMetrics, not protobuf
        self.rates = Rates()
        self.idle = Rates()
        self.sources: dict[str, Source] = {}  # the sources found in its series, by name
        self._single_group: str | None = None  # a named exporter's only group at its first scrape
        self._groups_seen = False

    def scrape(self) -> str:
        try:
            with self.session.get(self.exporter.url, timeout=SCRAPE_TIMEOUT_S, stream=True) as response:
                if response.status_code != 200:
                    raise SourceError(f"{self.exporter.url} answered HTTP {response.status_code}")
                body = bytearray()
                for chunk in response.iter_content(65536):
                    body += chunk
                    if len(body) > MAX_BYTES:
                        raise SourceError(f"{self.exporter.url} sent more than {MAX_BYTES // 2**20} MiB")
        except requests.Timeout:
            raise SourceError(f"{self.exporter.url} gave no answer within {SCRAPE_TIMEOUT_S:g}s") from None
        except requests.RequestException as error:
            raise SourceError(f"{self.exporter.url} cannot be reached ({_reason(error)})") from None
        return body.decode("utf-8", errors="replace")

    def sample(self) -> list[Sample]:
        text = self.scrape()
        now, wall = time.monotonic(), time.time()
        series = parse(text)
        if not series:
            raise SourceError(
                f"{self.exporter.url} has none of the series used (node exporter, process-exporter, postgres exporter)"
            )
        return self._host(series, now, wall) + self._processes(series, now, wall) + self._postgres(series, now, wall)

    def _found(self, name: str, kind: str) -> None:
        if name not in self.sources:
            self.sources[name] = Source(kind=f"{kind} at {self.exporter.url}")

    def _host(self, series: list[Series], now: float, wall: float) -> list[Sample]:
        cpus = [s for s in series if s.name == NODE_CPU]
        memory = _sum(series, NODE_MEMORY_AVAILABLE)
        if not cpus and memory is None:
            return []
        cores = len({s.labels.get("cpu") for s in cpus})
        self._found(self.name, f"host ({cores} cores), node exporter" if cores else "host, node exporter")
        samples = []
        if cpus:
            samples.append(Sample(wall, self.name, HOST_CORES, cores))
            total = self.rates.rate("cpu total", sum(s.value for s in cpus), now)
            idle = self.idle.rate("cpu idle", sum(s.value for s in cpus if s.labels.get("mode") in IDLE_MODES), now)
            if total and idle is not None:
                busy = max(0.0, min(100.0, 100 * (1 - idle / total)))
                samples.append(Sample(wall, self.name, HOST_CPU_PERCENT, busy))
        if memory is not None:
            samples.append(Sample(wall, self.name, HOST_MEMORY_AVAILABLE_BYTES, memory))
        return samples

    def group_source(self, group: str) -> str:
        """A process group's source: its groupname; a named exporter's name when it had one group at
        its first scrape (`mediator=…` watching only ACA-Py), else `name/groupname`."""
        if not self.exporter.given_name:
            return group
        return self.name if group == self._single_group else f"{self.name}/{group}"

    def _processes(self, series: list[Series], now: float, wall: float) -> list[Sample]:
        by_group: dict[str, list[Series]] = defaultdict(list)
        for s in series:
            if s.name.startswith("namedprocess_namegroup_") and "groupname" in s.labels:
                by_group[s.labels["groupname"]].append(s)
        if by_group and not self._groups_seen:
            self._groups_seen = True
            self._single_group = next(iter(by_group)) if len(by_group) == 1 else None
        samples = []
        for group, found in sorted(by_group.items()):
            source = self.group_source(group)
            self._found(source, f"process group {group!r}, process-exporter")
            cpu = _sum(found, PROCESS_CPU)
            if cpu is not None:
                cores = self.rates.rate(f"cpu {group}", cpu, now)
                if cores is not None:
                    samples.append(Sample(wall, source, CPU_CORES, cores))
            for name, metric, labels in (
                (PROCESS_MEMORY, RSS_BYTES, {"memtype": "resident"}),
                (PROCESS_FILES, OPEN_FILES, {}),
                (PROCESS_THREADS, THREADS, {}),
            ):
                value = _sum(found, name, **labels)
                if value is not None:
                    samples.append(Sample(wall, source, metric, value))
            threads: dict[str, float] = defaultdict(float)
            for s in found:
                if s.name == PROCESS_THREAD_CPU and "threadname" in s.labels:
                    threads[s.labels["threadname"]] += s.value
            for thread, seconds in sorted(threads.items()):
                cores = self.rates.rate(f"thread {group} {thread}", seconds, now)
                if cores is not None:
                    samples.append(Sample(wall, source, THREAD_CPU_PREFIX + thread, cores))
        return samples

    def _postgres(self, series: list[Series], now: float, wall: float) -> list[Sample]:
        if not any(s.name.startswith("pg_") for s in series):
            return []
        self._found(self.name, "PostgreSQL, postgres exporter")
        if _sum(series, PG_UP) == 0:
            raise SourceError(f"{self.exporter.url} reports pg_up 0: the exporter cannot reach its PostgreSQL")
        # The shared catalog (datid 0) has no database name; the embedded target's poller leaves it out too.
        databases = [s for s in series if s.labels.get("datname")]
        samples = []
        states: dict[str, float] = defaultdict(float)
        for s in databases:
            if s.name == PG_ACTIVITY and "state" in s.labels:
                states[s.labels["state"]] += s.value
        samples += [Sample(wall, self.name, PG_CONNECTIONS_PREFIX + state, n) for state, n in sorted(states.items())]
        for name, metric, values in (
            (PG_MAX, PG_MAX_CONNECTIONS, series),
            (PG_SIZE, PG_DATABASE_BYTES, databases),
            (PG_LOCK_WAITS_SERIES, PG_LOCK_WAITS, series),
        ):
            value = _sum(values, name)
            if value is not None:
                samples.append(Sample(wall, self.name, metric, value))
        for metric, names in ((PG_TRANSACTIONS_PER_S, (PG_COMMITS, PG_ROLLBACKS)), (PG_ROWS_WRITTEN_PER_S, PG_WRITES)):
            counted = [s.value for s in databases if s.name in names]
            if counted:
                rate = self.rates.rate(metric, sum(counted), now)
                if rate is not None:
                    samples.append(Sample(wall, self.name, metric, rate))
        return samples

    def found(self) -> dict[str, Source]:
        return dict(self.sources)

    def poller(self) -> Poller:
        return Poller(
            self.name, Source(kind=f"exporter at {self.exporter.url}"), self.sample, self.session.close, self.found
        )


def _reason(error: requests.RequestException) -> str:
    """The cause in a few words (requests' own message repeats the URL and the pool's internals)."""
    text = str(error)
    for known in ("Connection refused", "Name or service not known", "No route to host", "Connection reset"):
        if known in text:
            return known.lower()
    return type(error).__name__


def exporter_pollers(exporters: tuple[tuple[str, str], ...]) -> list[Poller]:
    """The pollers of TARGET_METRICS, given as (name, url) pairs."""
    return [ExporterPoller(Exporter(url, name)).poller() for name, url in exporters]
