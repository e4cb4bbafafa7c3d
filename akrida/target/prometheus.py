"""The run's window read back from the user's Prometheus after the run (TARGET_PROMETHEUS).

One `query_range` per metric over [first load moment, end of the run], at TARGET_PROMETHEUS_STEP.
The default queries read what the node exporter, process-exporter and postgres exporter expose,
already shaped into akrida's metrics (samples.py); TARGET_PROMETHEUS_SELECTOR (label matchers such as
`job="mediator"`) narrows them to the target's own series, and TARGET_PROMETHEUS_QUERIES replaces or
adds queries. Nothing runs during the load, and Prometheus already holds the data: no new firewall
hole, and it works for Kubernetes pods and managed databases alike.

Each query's result series are named by a few labels only (`source`, `instance`, `groupname`, and
`state` or `threadname` for the metrics named by them); all other labels, the query text and the raw
answers are dropped.
"""

from __future__ import annotations

import math
import re
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import requests

from akrida.parsers import parse_query_lines
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
    SampleLog,
    Source,
)

if TYPE_CHECKING:
    from akrida.settings import Settings

QUERY_TIMEOUT_S = 10.0
TOTAL_TIMEOUT_S = 60.0  # all queries together: the run's end waits no longer for its Prometheus
MAX_POINTS = 10_000  # Prometheus refuses more than 11,000 points a series: longer runs are read in parts
SOURCE_NAME = "prometheus"
SELECTOR = "$SELECTOR"  # replaced by TARGET_PROMETHEUS_SELECTOR (label matchers, or nothing)
WINDOW = "$WINDOW"  # replaced by the rate window: 4 steps

# What each default query reads, per instance; `$SELECTOR` ends every selector's matchers.
DEFAULT_QUERIES: dict[str, str] = {
    HOST_CPU_PERCENT: (
        'clamp(100 * (1 - sum by (instance) (rate(node_cpu_seconds_total{mode=~"idle|iowait",$SELECTOR}[$WINDOW])) '
        '/ count by (instance) (node_cpu_seconds_total{mode="idle",$SELECTOR})), 0, 100)'
    ),
    HOST_CORES: 'count by (instance) (node_cpu_seconds_total{mode="idle",$SELECTOR})',
    HOST_MEMORY_AVAILABLE_BYTES: "sum by (instance) (node_memory_MemAvailable_bytes{$SELECTOR})",
    CPU_CORES: "sum by (instance, groupname) (rate(namedprocess_namegroup_cpu_seconds_total{$SELECTOR}[$WINDOW]))",
    RSS_BYTES: 'sum by (instance, groupname) (namedprocess_namegroup_memory_bytes{memtype="resident",$SELECTOR})',
    OPEN_FILES: "sum by (instance, groupname) (namedprocess_namegroup_open_filedesc{$SELECTOR})",
    THREADS: "sum by (instance, groupname) (namedprocess_namegroup_num_threads{$SELECTOR})",
    THREAD_CPU_PREFIX: (
        "sum by (instance, groupname, threadname) "
        "(rate(namedprocess_namegroup_thread_cpu_seconds_total{$SELECTOR}[$WINDOW]))"
    ),
    PG_CONNECTIONS_PREFIX: 'sum by (instance, state) (pg_stat_activity_count{datname!="",$SELECTOR})',
    PG_MAX_CONNECTIONS: "max by (instance) (pg_settings_max_connections{$SELECTOR})",
    PG_TRANSACTIONS_PER_S: (
        'sum by (instance) (rate(pg_stat_database_xact_commit{datname!="",$SELECTOR}[$WINDOW]) '
        '+ rate(pg_stat_database_xact_rollback{datname!="",$SELECTOR}[$WINDOW]))'
    ),
    PG_ROWS_WRITTEN_PER_S: " + ".join(
        f'sum by (instance) (rate(pg_stat_database_tup_{what}{{datname!="",$SELECTOR}}[$WINDOW]))'
        for what in ("inserted", "updated", "deleted")
    ),
    PG_LOCK_WAITS: "sum by (instance) (pg_lock_waits_sessions{$SELECTOR})",
    PG_DATABASE_BYTES: 'sum by (instance) (pg_database_size_bytes{datname!="",$SELECTOR})',
}
# A metric whose name ends in ':' is completed by one label of each series.
SUFFIX_LABELS = {PG_CONNECTIONS_PREFIX: "state", THREAD_CPU_PREFIX: "threadname"}
PROCESS_METRICS = frozenset({CPU_CORES, RSS_BYTES, OPEN_FILES, THREADS, THREAD_CPU_PREFIX})


class PrometheusError(Exception):
    """Prometheus could not be read; the message names the cause without the query text."""


@dataclass(frozen=True)
class Window:
    start: float
    end: float
    step_s: int


@dataclass(frozen=True)
class Series:
    """One result series of one query, named: its source and metric, and its points."""

    source: str
    metric: str
    kind: str
    instance: str
    points: list[tuple[float, float]]


def queries(selector: str, step_s: int, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The queries to run, by metric: the defaults, then TARGET_PROMETHEUS_QUERIES over them, with
    `$SELECTOR` and `$WINDOW` filled in."""
    chosen = {**DEFAULT_QUERIES, **(extra or {})}
    window = f"{4 * step_s}s"
    return {metric: text.replace(SELECTOR, selector).replace(WINDOW, window) for metric, text in chosen.items()}


def read_query_file(path: Path) -> dict[str, str]:
    return parse_query_lines(path.read_text())


def kind_of(metric: str) -> str:
    if metric.startswith("host_"):
        return "host, node exporter via Prometheus"
    if metric.startswith("pg_"):
        return "PostgreSQL, postgres exporter via Prometheus"
    if metric in PROCESS_METRICS or metric.startswith(THREAD_CPU_PREFIX):
        return "process group, process-exporter via Prometheus"
    return "via Prometheus"


def base_name(metric: str, labels: dict[str, str]) -> str:
    """A series' source before instances are told apart: a `source` label wins, then the process
    group, then the kind's name (a host is its instance)."""
    if labels.get("source"):
        return labels["source"]
    if labels.get("groupname"):
        return labels["groupname"]
    if metric.startswith("pg_"):
        return "postgres"
    return labels.get("instance") or "target"


def named(metric: str, results: list[dict]) -> list[Series]:
    """A query's result series named, each with only the labels that name it."""
    series = []
    suffix_label = SUFFIX_LABELS.get(metric)
    for result in results:
        labels = {k: str(v) for k, v in (result.get("metric") or {}).items()}
        full = metric
        if suffix_label is not None:
            if not labels.get(suffix_label):
                continue
            full = metric + labels[suffix_label]
        points = []
        for stamp, value in result.get("values") or []:
            try:
                number = float(value)
            except (TypeError, ValueError):
                continue
            if math.isfinite(number):
                points.append((float(stamp), number))
        series.append(Series(base_name(metric, labels), full, kind_of(metric), labels.get("instance", ""), points))
    return series


def disambiguate(series: list[Series]) -> list[Series]:
    """Where one name comes from several instances (two hosts' `aca-py` groups), each becomes
    `instance/name`; a host is named by its instance already."""
    instances: dict[str, set[str]] = defaultdict(set)
    for one in series:
        if one.instance:  # a query that summed its instances away names one thing
            instances[one.source].add(one.instance)
    return [
        Series(f"{one.instance}/{one.source}", one.metric, one.kind, one.instance, one.points)
        if len(instances[one.source]) > 1 and one.instance and one.instance != one.source
        else one
        for one in series
    ]


class PrometheusReader:
    def __init__(self, url: str, session: requests.Session | None = None):
        self.url = url.rstrip("/")
        self.session = session or requests.Session()

    def query_range(self, promql: str, window: Window, deadline: float) -> list[dict]:
        """The result series of one query over the window, read in parts of at most MAX_POINTS steps."""
        results: dict[tuple, dict] = {}
        start = window.start
        while start <= window.end:
            end = min(window.end, start + (MAX_POINTS - 1) * window.step_s)
            left = deadline - time.monotonic()
            if left <= 0:
                raise PrometheusError(f"no answer within {TOTAL_TIMEOUT_S:.0f}s in all")
            part = self._get(promql, start, end, window.step_s, min(QUERY_TIMEOUT_S, left))
            for result in part:
                key = tuple(sorted((result.get("metric") or {}).items()))
                results.setdefault(key, {"metric": result.get("metric") or {}, "values": []})
                results[key]["values"].extend(result.get("values") or [])
            start = end + window.step_s
        return list(results.values())

    def _get(self, promql: str, start: float, end: float, step_s: int, timeout: float) -> list[dict]:
        try:
            response = self.session.post(
                f"{self.url}/api/v1/query_range",
                data={"query": promql, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step_s}s"},
                timeout=timeout,
            )
        except requests.Timeout:
            raise PrometheusError(f"{self.url} gave no answer within {timeout:.0f}s") from None
        except requests.RequestException as error:
            raise PrometheusError(f"{self.url} cannot be reached ({type(error).__name__})") from None
        try:
            payload = response.json()
        except ValueError:
            raise PrometheusError(f"{self.url} answered HTTP {response.status_code}, not Prometheus's API") from None
        if not isinstance(payload, dict) or payload.get("status") != "success":
            said = payload.get("error", "") if isinstance(payload, dict) else ""
            kind = payload.get("errorType", "error") if isinstance(payload, dict) else "error"
            # Prometheus quotes parts of the query in its errors: quoted text is masked, it may be a label's value.
            shown = re.sub(r'"(?:[^"\\]|\\.)*"', '"…"', str(said))[:200]
            raise PrometheusError(f"HTTP {response.status_code}, {kind}: {shown}")
        data = payload.get("data") or {}
        if data.get("resultType") != "matrix":
            raise PrometheusError(f"expected a range of values, got {data.get('resultType')!r}")
        return list(data.get("result") or [])

    def close(self) -> None:
        self.session.close()


def read_window(
    url: str, chosen: dict[str, str], window: Window, log: SampleLog, progress: Callable[[str], None] | None = None
) -> int:
    """Runs each query over the window and writes its samples into the run's SampleLog. A failed query is
    a problem of the `prometheus` source, named by its metric; the others still run. Returns the
    number of samples written."""
    reader = PrometheusReader(url)
    deadline = time.monotonic() + TOTAL_TIMEOUT_S
    found: list[Series] = []
    problems: list[str] = []
    try:
        for metric, promql in chosen.items():
            try:
                found += named(metric, reader.query_range(promql, window, deadline))
            except PrometheusError as error:
                problems.append(f"{metric}: {error}")
                if "cannot be reached" in str(error) or "no answer" in str(error):
                    break  # the server is gone: the other queries would wait for nothing
    finally:
        reader.close()
    taken = set(log.sources)  # the embedded target's and TARGET_METRICS's sources keep their names
    written = 0
    for series in disambiguate(found):
        source = series.source if series.source not in taken else f"{series.source} (prometheus)"
        if source not in log.sources:
            log.describe(source, Source(kind=f"{series.kind} at {url}"))
        log.write([Sample(stamp, source, series.metric, value) for stamp, value in series.points])
        written += len(series.points)
    if not written:
        problems.append("no series in the run's window: check TARGET_PROMETHEUS_SELECTOR and TARGET_PROMETHEUS_STEP")
    if problems:  # Prometheus itself is a source only when something went wrong with it
        log.describe(SOURCE_NAME, Source(kind=f"Prometheus query_range at {url}, step {window.step_s}s"))
        log.problem(SOURCE_NAME, "; ".join(problems))
    if progress is not None:
        sources = sorted({s.source for s in found})
        progress(f"target: {written} samples from Prometheus ({', '.join(sources) or 'none'})")
    return written


def read_prometheus(
    settings: Settings, run_dir: Path, log: SampleLog | None, load_started: float, progress: Callable[..., None]
) -> None:
    """After the run: TARGET_PROMETHEUS's view of [the first load moment, now] into target/samples.csv,
    beside what the run sampled itself. Never fails the run: whatever goes wrong is the `prometheus`
    source's problem."""
    log = log if log is not None else SampleLog(run_dir)
    window = Window(load_started, time.time(), settings.target_prometheus_step)
    try:
        extra = read_query_file(settings.target_prometheus_queries) if settings.target_prometheus_queries else None
        chosen = queries(settings.target_prometheus_selector, window.step_s, extra)
        read_window(settings.target_prometheus, chosen, window, log, progress)
    except Exception as error:  # a bug here must not cost the run its bundle
        log.describe(SOURCE_NAME, Source(kind=f"Prometheus query_range at {settings.target_prometheus}"))
        log.problem(SOURCE_NAME, f"not read: {type(error).__name__}: {error}")
    finally:
        log.close()
