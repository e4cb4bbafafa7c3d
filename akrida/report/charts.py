"""The run's charts as PNG files: latency, load and generator health over time."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt

from akrida.report.health import SATURATED_CPU_PERCENT, HealthSample
from akrida.report.progress import HISTORY_FILE
from akrida.target.samples import CPU_CORES, LIVE_PROBE_MS, MAIN_THREAD_CPU_CORES, TargetRecord

LATENCY_CHART = "latency.png"
LOAD_CHART = "load.png"
GENERATOR_CHART = "generator.png"
TARGET_CHART = "target.png"


def _history(run_dir: Path) -> list[dict[str, str]]:
    path = run_dir / HISTORY_FILE
    if not path.is_file():
        return []
    with open(path, newline="") as handle:
        return [row for row in csv.DictReader(handle) if row.get("Name") == "Aggregated"]


def _value(row: dict[str, str], column: str) -> float:
    try:
        return float(row[column])
    except (KeyError, ValueError, TypeError):  # TypeError: a row cut short (None)
        return float("nan")


def _figure(title: str):
    figure, axis = plt.subplots(figsize=(9, 3.6), dpi=100)
    axis.set_title(title, fontsize=11)
    axis.grid(True, alpha=0.3)
    return figure, axis


def _save(figure, path: Path) -> Path:
    figure.autofmt_xdate()
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path


def _empty(axis, text: str) -> None:
    axis.text(0.5, 0.5, text, ha="center", va="center", transform=axis.transAxes, color="grey")


def latency_chart(run_dir: Path) -> Path:
    rows = _history(run_dir)
    figure, axis = _figure("Response time percentiles, all steps (ms)")
    times = [datetime.fromtimestamp(_value(row, "Timestamp")) for row in rows]
    for column, label in (("50%", "p50"), ("95%", "p95"), ("99%", "p99")):
        axis.plot(times, [_value(row, column) for row in rows], label=label)
    if rows:
        axis.legend(loc="upper left")
    else:
        _empty(axis, "no statistics history")
    return _save(figure, run_dir / LATENCY_CHART)


def load_chart(run_dir: Path) -> Path:
    rows = _history(run_dir)
    figure, axis = _figure("Users and throughput")
    times = [datetime.fromtimestamp(_value(row, "Timestamp")) for row in rows]
    axis.plot(times, [_value(row, "User Count") for row in rows], color="tab:blue", label="users")
    axis.set_ylabel("users")
    rate = axis.twinx()
    rate.plot(times, [_value(row, "Requests/s") for row in rows], color="tab:green", label="requests/s")
    rate.plot(times, [_value(row, "Failures/s") for row in rows], color="tab:red", label="failures/s")
    rate.set_ylabel("per second")
    if rows:
        figure.legend(loc="upper left", bbox_to_anchor=(0.08, 0.88))
    else:
        _empty(axis, "no statistics history")
    return _save(figure, run_dir / LOAD_CHART)


def generator_chart(run_dir: Path, samples: list[HealthSample]) -> Path:
    figure, axis = _figure("Load generator: CPU and memory")
    if not samples:
        _empty(axis, "no health samples")
        return _save(figure, run_dir / GENERATOR_CHART)
    hosts = sorted({s.host for s in samples})
    for host in hosts:
        mine = [s for s in samples if s.host == host]
        times = [datetime.fromtimestamp(s.timestamp) for s in mine]
        axis.plot(times, [s.host_cpu_percent for s in mine], label=f"{host} CPU %")
        axis.plot(times, [s.generator_cpu_percent for s in mine], linestyle=":", label=f"{host} Locust + agents %")
        if any(s.locust_cores or s.busiest_agent_cores for s in mine):  # per process: bundles since issue 23
            loops = [100 * max(s.locust_cores, s.busiest_agent_cores) for s in mine]
            axis.plot(times, loops, linestyle="-.", label=f"{host} busiest event loop, % of one core")
    axis.axhline(SATURATED_CPU_PERCENT, color="tab:red", linestyle="--", linewidth=1, label="saturation")
    axis.set_ylim(0, 105)
    axis.set_ylabel("CPU %")
    memory = axis.twinx()
    times = [datetime.fromtimestamp(s.timestamp) for s in samples]
    memory.plot(times, [s.pss_bytes / 2**20 for s in samples], color="tab:purple", alpha=0.7, label="PSS MiB")
    memory.set_ylabel("PSS MiB (Locust + agents)")
    figure.legend(loc="upper left", bbox_to_anchor=(0.08, 0.88), fontsize=8)
    return _save(figure, run_dir / GENERATOR_CHART)


def target_chart(run_dir: Path, record: TargetRecord | None) -> Path:
    """The load (holders live, requests/s) above the target's CPU and its event-loop probe, on one time axis."""
    rows = _history(run_dir)
    figure, (load, cpu) = plt.subplots(2, 1, figsize=(9, 6.4), dpi=100, sharex=True)
    load.set_title("Load and the target's side", fontsize=11)
    for axis in (load, cpu):
        axis.grid(True, alpha=0.3)
    times = [datetime.fromtimestamp(_value(row, "Timestamp")) for row in rows]
    load.plot(times, [_value(row, "User Count") for row in rows], color="tab:blue", label="holders live")
    load.set_ylabel("holders")
    rate = load.twinx()
    rate.plot(times, [_value(row, "Requests/s") for row in rows], color="tab:green", label="requests/s")
    rate.plot(times, [_value(row, "Failures/s") for row in rows], color="tab:red", label="failures/s")
    rate.set_ylabel("per second")
    load.legend(loc="upper left", fontsize=8)
    rate.legend(loc="upper right", fontsize=8)
    if record is None:
        _empty(cpu, "the target was not sampled")
        return _save(figure, run_dir / TARGET_CHART)
    for source in record.source_names():
        whole = record.get(source, CPU_CORES)
        if whole:
            line = cpu.plot([datetime.fromtimestamp(t) for t, _v in whole], [v for _t, v in whole], label=f"{source}")
            main = record.get(source, MAIN_THREAD_CPU_CORES)
            if main:
                cpu.plot([datetime.fromtimestamp(t) for t, _v in main], [v for _t, v in main], linestyle=":",
                         color=line[0].get_color(), label=f"{source} main thread")  # fmt: skip
    cpu.axhline(1.0, color="tab:red", linestyle="--", linewidth=1, label="one core")
    cpu.set_ylabel("CPU (cores)")
    probe = cpu.twinx()
    for source in record.source_names():
        points = record.get(source, LIVE_PROBE_MS)
        if points:
            probe.plot([datetime.fromtimestamp(t) for t, _v in points], [v for _t, v in points], alpha=0.5,
                       linewidth=0.8, label=f"{source} /status/live ms")  # fmt: skip
    probe.set_ylabel("probe round trip (ms)")
    cpu.legend(loc="upper left", fontsize=7)
    if probe.lines:
        probe.legend(loc="upper right", fontsize=7)
    return _save(figure, run_dir / TARGET_CHART)
