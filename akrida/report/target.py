"""The target's side of a run in words: each source's figures over the run, and each side's CPU.

Lines are built from whichever metrics a source has (akrida/target/samples.py), so the embedded
target's processes and a user's exporters read the same way.
"""

from __future__ import annotations

import statistics

from akrida.report.health import HealthSample
from akrida.target.samples import (
    CPU_CORES,
    HOST_CORES,
    HOST_CPU_PERCENT,
    HOST_MEMORY_AVAILABLE_BYTES,
    LIVE_PROBE_MS,
    MAIN_THREAD_CPU_CORES,
    OPEN_FILES,
    PG_CONNECTIONS_PREFIX,
    PG_DATABASE_BYTES,
    PG_LOCK_WAITS,
    PG_MAX_CONNECTIONS,
    PG_ROWS_WRITTEN_PER_S,
    PG_TRANSACTIONS_PER_S,
    PROBE_FAILED,
    RSS_BYTES,
    SOCKETS,
    THREADS,
    TargetRecord,
)

MIB = 2**20


def _values(record: TargetRecord, source: str, metric: str) -> list[float]:
    return [value for _stamp, value in record.get(source, metric)]


def _quantile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def source_line(record: TargetRecord, source: str) -> str:
    """One source's figures over the run, in the order a reader looks for them."""
    parts: list[str] = []
    cpu = _values(record, source, CPU_CORES)
    if cpu:
        parts.append(f"CPU median {statistics.median(cpu):.2f}, peak {max(cpu):.2f} cores")
    main = _values(record, source, MAIN_THREAD_CPU_CORES)
    if main:
        parts.append(f"main thread peak {max(main):.2f} cores (its ceiling is 1)")
    host = _values(record, source, HOST_CPU_PERCENT)
    if host:
        parts.append(f"CPU median {statistics.median(host):.0f} %, peak {max(host):.0f} %")
    available = _values(record, source, HOST_MEMORY_AVAILABLE_BYTES)
    if available:
        parts.append(f"memory available at least {min(available) / MIB:,.0f} MiB")
    rss = _values(record, source, RSS_BYTES)
    if rss:
        parts.append(f"RSS peak {max(rss) / MIB:,.0f} MiB")
    files = _values(record, source, OPEN_FILES)
    if files:
        sockets = _values(record, source, SOCKETS)
        of_which = f" ({max(sockets):.0f} sockets)" if sockets else ""
        parts.append(f"open files peak {max(files):.0f}{of_which}")
    threads = _values(record, source, THREADS)
    if threads:
        parts.append(f"{max(threads):.0f} threads")
    probe = _values(record, source, LIVE_PROBE_MS)
    if probe:
        unanswered = sum(_values(record, source, PROBE_FAILED))
        parts.append(
            f"/status/live p50 {_quantile(probe, 0.5):.0f} ms, p95 {_quantile(probe, 0.95):.0f} ms, "
            f"max {max(probe):.0f} ms; {unanswered:.0f} of {len(probe)} probes unanswered"
        )
    parts += _postgres_parts(record, source)
    described = record.sources.get(source)
    kind = f" ({described.kind}{f', pid {described.pid}' if described.pid else ''})" if described else ""
    return f"{source}{kind}: {'; '.join(parts) if parts else 'no samples'}"


def _postgres_parts(record: TargetRecord, source: str) -> list[str]:
    parts = []
    states = [m for m in record.metrics_of(source) if m.startswith(PG_CONNECTIONS_PREFIX)]
    if states:
        totals: dict[float, float] = {}
        for metric in states:
            for stamp, value in record.get(source, metric):
                totals[stamp] = totals.get(stamp, 0.0) + value
        maximum = _values(record, source, PG_MAX_CONNECTIONS)
        of = f" of max_connections {max(maximum):.0f}" if maximum else ""
        parts.append(f"connections peak {max(totals.values()):.0f}{of}")
    for metric, label in ((PG_TRANSACTIONS_PER_S, "transactions/s"), (PG_ROWS_WRITTEN_PER_S, "rows written/s")):
        values = _values(record, source, metric)
        if values:
            parts.append(f"{label} median {statistics.median(values):,.0f}, peak {max(values):,.0f}")
    waits = _values(record, source, PG_LOCK_WAITS)
    if waits:
        parts.append(f"lock waits peak {max(waits):.0f}")
    size = _values(record, source, PG_DATABASE_BYTES)
    if size:
        parts.append(f"databases {size[0] / MIB:,.0f} → {size[-1] / MIB:,.0f} MiB")
    return parts


def cpu_share_line(record: TargetRecord, health: list[HealthSample]) -> str | None:
    """Each side's mean CPU over the same seconds: the target's processes and the load generator's.
    On one machine (the embedded target) this is where its cores went."""
    processes = [s for s in record.source_names() if _values(record, s, CPU_CORES)]
    if not processes:
        return None
    cores = _values(record, next((s for s in record.source_names() if _values(record, s, HOST_CORES)), ""), HOST_CORES)
    means = {s: statistics.mean(_values(record, s, CPU_CORES)) for s in processes}
    target = f"target {sum(means.values()):.2f} cores (" + ", ".join(f"{s} {c:.2f}" for s, c in means.items()) + ")"
    if not health or not cores or len({s.host for s in health}) > 1:
        return f"CPU, mean over the run: {target}"  # a cluster's hosts have cores of their own
    generator = statistics.mean(s.generator_cpu_percent for s in health) * cores[0] / 100
    return f"CPU, mean over the run: {target}; load generator {generator:.2f} cores; this host has {cores[0]:.0f}"


def target_lines(record: TargetRecord | None, health: list[HealthSample]) -> list[str]:
    if record is None:
        return [
            "not sampled: the embedded target is sampled by itself; for your own target set TARGET_METRICS "
            "(exporters) or TARGET_PROMETHEUS (docs/target-metrics.md)"
        ]
    lines = [source_line(record, source) for source in record.source_names()]
    share = cpu_share_line(record, health)
    if share:
        lines.append(share)
    for name, source in sorted(record.sources.items()):
        if source.problem:
            lines.append(f"WARNING: {name} was not fully sampled: {source.problem}")
    return lines
