"""Pinning for bench/density.py's per-core figures: the embedded target (and the driver) on one core,
the agent processes on another, as `taskset -p` does (the same sched_setaffinity call, through psutil).

With the agents alone on their core, what that core does is the generator's own work: how many
holders it starts per CPU-second and how many mediator pings it answers per CPU-second, whatever the
mediator's speed. The figures are per busy core; the pinned run also says how busy the core was.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import psutil

from akrida.local.postgres import LocalPostgres
from akrida.local.stack import POSTGRES, TargetInfo


def target_processes(info: TargetInfo) -> list[psutil.Process]:
    """The embedded target's processes: the ACA-Py agents and PostgreSQL, each with its children."""
    roots = [pid for pid in info.pids.values() if pid]
    postgres = postgres_pid(LocalPostgres(info.host, info.base_port + POSTGRES).data_dir)
    if postgres:
        roots.append(postgres)
    found: list[psutil.Process] = []
    for pid in roots:
        try:
            process = psutil.Process(pid)
            found += [process, *process.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
    return found


def postgres_pid(data_dir: Path) -> int | None:
    try:
        return int((data_dir / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def pin(processes: list[psutil.Process], cores: list[int]) -> None:
    for process in processes:
        try:
            process.cpu_affinity(cores)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue


@dataclass
class PerCore:
    """One agent core's figures, from the pinned run: what a busy core does, and how busy it was."""

    agent_core: int
    target_core: int
    holders: int
    starts_per_core_second: float  # holders one busy agent core starts per second (1 / CPU-s per start)
    pings_per_core_second: float  # mediator pings one busy agent core sends and answers per second
    holders_per_core_at_interval: int  # held holders one core keeps pinging at hold_ping_interval_s
    hold_ping_interval_s: int
    onboard_holders_per_second: float  # what the pinned run reached (the mediator's core may bound it)
    agent_core_busy_onboarding: float  # the agent core's share used while onboarding (1.0: all of it)
    agent_core_busy_pinging: float
    target_core_busy_onboarding: float
    target_core_busy_pinging: float


def per_core_figures(figures, agent_core: int, target_core: int, hold_ping_interval_s: int) -> PerCore:
    """From the pinned run's density.Figures."""
    pings_per_second = 1000 / figures.agent_cpu_ms_per_ping if figures.agent_cpu_ms_per_ping else 0.0
    started, pings = max(1, figures.started), max(1, figures.pings)

    def busy(cpu_seconds: float, seconds: float) -> float:
        return round(cpu_seconds / seconds, 2) if seconds else 0.0

    return PerCore(
        agent_core=agent_core,
        target_core=target_core,
        holders=figures.holders,
        starts_per_core_second=round(1 / figures.cpu_s_per_start, 1) if figures.cpu_s_per_start else 0.0,
        pings_per_core_second=round(pings_per_second, 1),
        holders_per_core_at_interval=int(pings_per_second * hold_ping_interval_s),
        hold_ping_interval_s=hold_ping_interval_s,
        onboard_holders_per_second=figures.holders_per_second,
        agent_core_busy_onboarding=busy(figures.cpu_s_per_start * started, figures.onboard_seconds),
        agent_core_busy_pinging=busy(figures.agent_cpu_ms_per_ping * pings / 1000, figures.ping_seconds),
        target_core_busy_onboarding=busy((figures.target_cpu_s_per_start or 0) * started, figures.onboard_seconds),
        target_core_busy_pinging=busy((figures.target_cpu_ms_per_ping or 0) * pings / 1000, figures.ping_seconds),
    )
