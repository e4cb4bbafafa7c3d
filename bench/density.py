"""Holders per machine: one agent process per holder against dense agent hosts, side by side.

    .venv/bin/python bench/density.py [--counts 10,100,1000] [--dense 200] [--isolated-max 100]
                                      [--in-flight 8] [--pings 3] [--calibration bench/calibration.json]
                                      [--per-core] [--hold-ping-interval 300]

Uses the running embedded target (`akrida local up`) or starts one on LOCAL_BASE_PORT's default. Each
measurement gets fresh mediator invitations, one per 50 holders, as a run does (MEDIATOR_INVITATIONS). For
each mode and holder count it starts that many mediated holders through the same HostPool that
Locust users use (at most --in-flight starts at once), lets them settle, has each ping the mediator
--pings times (at most --pings-in-flight at once), measures, and shuts them down. It prints, per run:

- PSS per holder: the agent processes' PSS over the holders (all-in), and per added holder (less an
  empty agent process's PSS for each process);
- holders onboarded per second, CPU-seconds per start, start failures;
- CPU-milliseconds per mediator ping in the agents and in this driver (what Locust would spend);
- on the embedded target, the mediator's own CPU per start and per ping: on one machine the
  ACA-Py mediator shares the cores, and it is what bounds the onboarding rate here;
- open files per holder, and the Python-side round trip of a `status` command.

With --per-core (Linux, two cores or more) it measures once more, dense at the largest count, with the
embedded target and this driver pinned to core 0 and the agent processes to core 1 (bench/cores.py):
how many holders one agent core starts per CPU-second, how many mediator pings it sustains per
CPU-second, so how many held holders it keeps pinging at --hold-ping-interval, and how busy each
core was. These do not depend on how fast the mediator is.

Process-per-holder stops at --isolated-max holders: at about 130 MiB each, 1,000 holders would need
over 120 GiB, more than this kind of machine has (the table says so). With --calibration it writes
the dense figures at the largest count, which `akrida plan` reads.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import gevent
import psutil
from cores import PerCore, per_core_figures, pin, target_processes
from gevent.pool import Pool

from akrida import paths
from akrida.agent import AgentConfig, AgentError, HolderClient, HostPool, StartOptions
from akrida.agent.limits import raise_open_files_limit
from akrida.local.stack import LocalTarget, run_invitations
from akrida.settings import auto_invitations

MIB = 2**20


@dataclass
class Figures:
    mode: str
    holders: int
    processes: int
    started: int
    start_failures: int
    onboard_seconds: float
    holders_per_second: float
    cpu_s_per_start: float
    pss_mib: float
    pss_per_holder_mib: float
    pss_per_added_holder_mib: float | None
    heap_per_holder_mib: float
    open_files_per_holder: float
    mediator_cpu_s_per_start: float | None
    pings: int
    ping_failures: int
    ping_p50_ms: float
    ping_seconds: float
    agent_cpu_ms_per_ping: float
    driver_cpu_ms_per_ping: float
    mediator_cpu_ms_per_ping: float | None
    # The whole embedded target: both ACA-Py agents and PostgreSQL.
    target_cpu_s_per_start: float | None
    target_cpu_ms_per_ping: float | None
    status_round_trip_p50_ms: float
    driver_cpu_ms_per_command: float


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="10,100,1000", help="holder counts, comma-separated")
    parser.add_argument("--dense", type=int, default=200, help="holders per process in dense mode")
    parser.add_argument("--isolated-max", type=int, default=100, help="largest count run one process per holder")
    parser.add_argument("--in-flight", type=int, default=8, help="starts in flight at once")
    parser.add_argument("--pings", type=int, default=3, help="mediator pings per holder")
    parser.add_argument("--pings-in-flight", type=int, default=32, help="pings in flight at once")
    parser.add_argument("--calibration", type=Path, help="write the dense figures here for `akrida plan`")
    parser.add_argument("--per-core", action="store_true", help="also measure with target and agents pinned apart")
    parser.add_argument("--hold-ping-interval", type=int, default=300, help="seconds between a held holder's pings")
    arguments = parser.parse_args()
    counts = [int(count) for count in arguments.counts.split(",")]

    raise_open_files_limit()
    target, info = None, LocalTarget.current()
    if info is None:
        target = LocalTarget()
        info = target.up(paths.LOCAL_STATE_DIR / "logs")
    config = AgentConfig(timeout=120)
    results: list[Figures] = []
    per_core: PerCore | None = None
    try:
        empty = empty_host_pss(config)
        print(f"an agent process with no holder: PSS {empty / MIB:.0f} MiB")
        for count in counts:
            for mode, per_process in (
                ("process-per-holder", 1),
                (f"dense ({arguments.dense}/process)", arguments.dense),
            ):
                if per_process == 1 and count > arguments.isolated_max:
                    print(f"{mode:<24} {count:>5} holders: skipped (about {count * 130 / 1024:.0f} GiB needed)")
                    continue
                figures = measure_fresh(config, info, mode, count, per_process, empty, arguments)
                results.append(figures)
                print(one_line(figures), flush=True)
        if arguments.per_core:
            per_core = measure_per_core(config, info, max(counts), empty, arguments)
    finally:
        if target is not None:
            target.down()
    print()
    print(table(results))
    if per_core:
        print()
        print(per_core_text(per_core))
    if arguments.calibration:
        write_calibration(arguments.calibration, results, arguments.dense, empty, per_core)


def measure_fresh(config, info, mode, count, per_process, empty, arguments, agent_cores=None) -> Figures:
    mediator = psutil.Process(info.pids["mediator"]) if "mediator" in info.pids else None
    # Fresh invitations for each measurement, one per 50 holders, as a run gets them: through
    # one shared invitation each measurement would pay for the holders of the ones before it.
    invitations = run_invitations(info, auto_invitations(count), f"density {count} {per_process}")
    return measure(
        config, invitations, mode, count, per_process, empty, mediator, arguments, target_processes(info), agent_cores
    )


def measure_per_core(config, info, count: int, empty: int, arguments) -> PerCore | None:
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(cores) < 2:
        print("per-core figures skipped: they need two cores this process may use", flush=True)
        return None
    target_core, agent_core = cores[0], cores[1]
    me = psutil.Process()
    # Target and driver share one core; PostgreSQL's backends fork from its postmaster, so inherit it.
    pin([*target_processes(info), me], [target_core])
    try:
        mode = f"dense ({arguments.dense}/process), pinned"
        figures = measure_fresh(config, info, mode, count, arguments.dense, empty, arguments, [agent_core])
    finally:
        pin([*target_processes(info), me], cores)
    print(one_line(figures), flush=True)
    return per_core_figures(figures, agent_core, target_core, arguments.hold_ping_interval)


def per_core_text(c: PerCore) -> str:
    return (
        f"per agent core (agents on core {c.agent_core}, target and driver on core {c.target_core}, "
        f"{c.holders} holders):\n"
        f"  starts {c.starts_per_core_second} holders per busy core-second; the pinned run onboarded "
        f"{c.onboard_holders_per_second} holders/s with the agent core {c.agent_core_busy_onboarding:.0%} busy "
        f"and the target core {c.target_core_busy_onboarding:.0%}\n"
        f"  sustains {c.pings_per_core_second} mediator pings per busy core-second, so "
        f"{c.holders_per_core_at_interval:,} held holders at one ping per {c.hold_ping_interval_s} s "
        f"(CPU only; memory is PSS per holder above); while pinging the agent core was "
        f"{c.agent_core_busy_pinging:.0%} busy and the target core {c.target_core_busy_pinging:.0%}"
    )


def empty_host_pss(config: AgentConfig) -> int:
    pool = HostPool(config, 1)
    try:
        client = pool.open()
        client.host.responsive(60)
        gevent.sleep(2)
        return psutil.Process(client.host.pid).memory_full_info().pss
    finally:
        pool.kill_all()


def measure(
    config, invitations, mode, count, per_process, empty_pss, mediator, arguments, target=(), agent_cores=None
) -> Figures:
    pool = HostPool(config, per_process)
    me = psutil.Process()
    clients: list[HolderClient] = []

    try:
        mediator_before, target_before = cpu_of(mediator), cpus_of(target)
        began = time.monotonic()
        failures = start_mediated(pool, invitations, count, arguments.in_flight, clients, agent_cores)
        onboard = time.monotonic() - began
        start_cpu = agents_cpu(pool)  # every CPU-second the agent processes used so far went into starts
        mediator_start_cpu = cpu_of(mediator) - mediator_before
        target_start_cpu = cpus_of(target) - target_before
        gevent.sleep(5)  # settle: lazy allocations, garbage collection
        memory = [psutil.Process(host.pid).memory_full_info() for host in pool.hosts]
        files = sum(psutil.Process(host.pid).num_fds() for host in pool.hosts)
        heaps = [host.request("status")["heapUsedBytes"] for host in pool.hosts]
        pss = sum(m.pss for m in memory)

        rounds, ping_failures = [], 0
        agents_before, driver_before, mediator_before = agents_cpu(pool), cpu_of(me), cpu_of(mediator)
        target_before, pings_began = cpus_of(target), time.monotonic()

        def ping(client: HolderClient) -> None:
            nonlocal ping_failures
            try:
                rounds.append(client.ping_mediator().round_trip_ms)
            except AgentError:
                ping_failures += 1

        Pool(arguments.pings_in_flight).map(ping, clients * arguments.pings)
        agents_ping_cpu, driver_ping_cpu = agents_cpu(pool) - agents_before, cpu_of(me) - driver_before
        mediator_ping_cpu = cpu_of(mediator) - mediator_before
        target_ping_cpu, ping_seconds = cpus_of(target) - target_before, time.monotonic() - pings_began

        host = pool.hosts[0]
        trips, driver_before = [], cpu_of(me)
        for _ in range(2000):
            sent = time.perf_counter()
            host.request("status")
            trips.append((time.perf_counter() - sent) * 1000)
        driver_per_command = (cpu_of(me) - driver_before) / 2000 * 1000
    finally:
        pool.close_all(timeout=30)

    started = len(clients)
    pings = len(rounds)
    processes = len(memory)
    return Figures(
        mode=mode,
        holders=count,
        processes=processes,
        started=started,
        start_failures=failures,
        onboard_seconds=round(onboard, 1),
        holders_per_second=round(started / onboard, 1),
        cpu_s_per_start=round(start_cpu / max(1, started), 3),
        pss_mib=round(pss / MIB, 1),
        pss_per_holder_mib=round(pss / MIB / max(1, started), 2),
        # Per added holder means something only where holders share a process.
        pss_per_added_holder_mib=round((pss - processes * empty_pss) / MIB / max(1, started), 2)
        if per_process > 1
        else None,
        heap_per_holder_mib=round(sum(heaps) / MIB / max(1, started), 2),
        open_files_per_holder=round(files / max(1, started), 2),
        pings=pings,
        ping_failures=ping_failures,
        ping_p50_ms=statistics.median(rounds) if rounds else float("nan"),
        ping_seconds=round(ping_seconds, 1),
        agent_cpu_ms_per_ping=round(agents_ping_cpu * 1000 / max(1, pings), 2),
        driver_cpu_ms_per_ping=round(driver_ping_cpu * 1000 / max(1, pings), 3),
        mediator_cpu_s_per_start=round(mediator_start_cpu / max(1, started), 3) if mediator else None,
        mediator_cpu_ms_per_ping=round(mediator_ping_cpu * 1000 / max(1, pings), 2) if mediator else None,
        target_cpu_s_per_start=round(target_start_cpu / max(1, started), 3) if target else None,
        target_cpu_ms_per_ping=round(target_ping_cpu * 1000 / max(1, pings), 2) if target else None,
        status_round_trip_p50_ms=round(statistics.median(trips), 3),
        driver_cpu_ms_per_command=round(driver_per_command, 3),
    )


def start_mediated(
    pool: HostPool,
    invitations: Sequence[str],
    count: int,
    in_flight: int,
    into: list[HolderClient],
    agent_cores: list[int] | None = None,
) -> int:
    """Starts `count` mediated holders, `in_flight` at a time, through the invitations in turn, adding
    each started one to `into`; returns how many failed to start (each is printed). With `agent_cores`,
    every agent process is pinned to those cores as soon as it is spawned."""
    failures = 0

    def start_one(index: int) -> None:
        nonlocal failures
        client = pool.open()
        if agent_cores and client.host.pid:
            pin([psutil.Process(client.host.pid)], agent_cores)
        try:
            client.start(StartOptions(mediator_invitation_url=invitations[index % len(invitations)], log_level="off"))
            into.append(client)
        except AgentError as error:
            failures += 1
            print(f"  start failed: {error}", flush=True)
            pool.release(client, graceful=False)

    Pool(in_flight).map(start_one, range(count))
    return failures


def agents_cpu(pool: HostPool) -> float:
    return sum(cpu_of(psutil.Process(host.pid)) for host in pool.hosts if host.pid)


def cpus_of(processes) -> float:
    """CPU-seconds of processes, those gone since counting as nothing (a count that may only grow)."""
    total = 0.0
    for process in processes:
        try:
            total += cpu_of(process)
        except psutil.NoSuchProcess:
            continue
    return total


def cpu_of(process: psutil.Process | None) -> float:
    if process is None:
        return 0.0
    times = process.cpu_times()
    return times.user + times.system


def one_line(f: Figures) -> str:
    return (
        f"{f.mode:<24} {f.holders:>5} holders in {f.processes:>3} process(es): "
        f"PSS {f.pss_per_holder_mib:.2f} MiB/holder "
        + (f"({f.pss_per_added_holder_mib:.2f} added), " if f.pss_per_added_holder_mib is not None else "")
        + f"{f.holders_per_second:.1f} holders/s, "
        f"{f.cpu_s_per_start:.3f} CPU-s/start, {f.start_failures} start failures, "
        f"ping CPU {f.agent_cpu_ms_per_ping:.1f} ms agent / {f.driver_cpu_ms_per_ping:.2f} ms driver"
    )


def table(results: list[Figures]) -> str:
    columns = [
        ("mode", "mode"), ("holders", "holders"), ("processes", "processes"),
        ("PSS/holder MiB", "pss_per_holder_mib"), ("PSS/added holder MiB", "pss_per_added_holder_mib"),
        ("holders/s", "holders_per_second"), ("CPU-s/start", "cpu_s_per_start"),
        ("mediator CPU-s/start", "mediator_cpu_s_per_start"),
        ("start failures", "start_failures"), ("ping p50 ms", "ping_p50_ms"),
        ("agent CPU-ms/ping", "agent_cpu_ms_per_ping"), ("driver CPU-ms/ping", "driver_cpu_ms_per_ping"),
        ("mediator CPU-ms/ping", "mediator_cpu_ms_per_ping"),
        ("target CPU-s/start", "target_cpu_s_per_start"), ("target CPU-ms/ping", "target_cpu_ms_per_ping"),
        ("files/holder", "open_files_per_holder"), ("heap/holder MiB", "heap_per_holder_mib"),
        ("status p50 ms", "status_round_trip_p50_ms"), ("driver CPU-ms/command", "driver_cpu_ms_per_command"),
    ]  # fmt: skip
    lines = ["| " + " | ".join(title for title, _ in columns) + " |", "|" + "---|" * len(columns)]
    for figures in results:
        cells = (getattr(figures, name) for _, name in columns)
        lines.append("| " + " | ".join("n/a" if cell is None else str(cell) for cell in cells) + " |")
    return "\n".join(lines)


def write_calibration(
    path: Path, results: list[Figures], per_process: int, empty_pss: int, per_core: PerCore | None
) -> None:
    dense = [f for f in results if f.mode.startswith("dense")]
    if not dense:
        raise SystemExit("--calibration needs at least one dense run")
    largest = max(dense, key=lambda f: f.holders)
    calibration = {
        "measured_at": time.strftime("%Y-%m-%d"),
        "machine": {
            "cores": psutil.cpu_count(),
            "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
            "python": platform.python_version(),
            "node": os.popen("node --version").read().strip(),
        },
        "holders_per_process": per_process,
        "empty_process_pss_mib": round(empty_pss / MIB, 1),
        "dense": asdict(largest),
    }
    if per_core:
        calibration["per_core"] = asdict(per_core)
    path.write_text(json.dumps(calibration, indent=2) + "\n")
    print(f"calibration written to {path} (dense, {largest.holders} holders)")


if __name__ == "__main__":
    main()
