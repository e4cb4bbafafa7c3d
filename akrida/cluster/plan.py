"""How many worker hosts a run needs: USERS and SCENARIO against calibrated per-holder costs.

The figures come from bench/calibration.json, which `bench/density.py --calibration` writes from
what it measured; nothing here guesses a per-holder cost. What is typed here is policy (how much
of a host a plan may fill) and the sizes of cloud instance types.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from akrida import paths
from akrida.settings import Settings

CALIBRATION_FILE = paths.ROOT / "bench" / "calibration.json"
# A plan fills at most this share of a worker's memory, after OS_RESERVE_GIB for the system and Locust.
MEMORY_SHARE = 0.8
OS_RESERVE_GIB = 1.0
# ... and at most this share of its cores: the run's summary calls a generator above 90 % saturated.
CPU_SHARE = 0.7
# vCPUs by EC2 size and GiB of memory per vCPU by family letter (c: compute, m: general, r: memory).
VCPUS_BY_SIZE = {"large": 2, "xlarge": 4, "2xlarge": 8, "4xlarge": 16, "8xlarge": 32, "12xlarge": 48, "16xlarge": 64}
GIB_PER_VCPU = {"c": 2, "m": 4, "r": 8}


class PlanError(ValueError):
    """The plan cannot be made; the message says what to give instead."""


@dataclass(frozen=True)
class Calibration:
    measured_at: str
    holders: int  # the dense run the figures come from
    holders_per_process: int
    empty_process_pss_mib: float
    pss_per_added_holder_mib: float
    cpu_s_per_start: float
    agent_cpu_ms_per_ping: float
    driver_cpu_ms_per_ping: float
    machine: dict = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path = CALIBRATION_FILE) -> Calibration:
        try:
            data = json.loads(path.read_text())
            dense = data["dense"]
            return cls(
                measured_at=data["measured_at"],
                holders=dense["holders"],
                holders_per_process=data["holders_per_process"],
                empty_process_pss_mib=data["empty_process_pss_mib"],
                pss_per_added_holder_mib=dense["pss_per_added_holder_mib"],
                cpu_s_per_start=dense["cpu_s_per_start"],
                agent_cpu_ms_per_ping=dense["agent_cpu_ms_per_ping"],
                driver_cpu_ms_per_ping=dense["driver_cpu_ms_per_ping"],
                machine=data.get("machine", {}),
            )
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise PlanError(
                f"no usable calibration at {path} ({error}): run `.venv/bin/python bench/density.py "
                f"--calibration {path}`, or give WORKERS yourself"
            ) from None


@dataclass(frozen=True)
class HostSize:
    name: str
    cores: int
    memory_gib: float

    @classmethod
    def of(cls, settings: Settings) -> HostSize:
        if settings.cloud == "lab":
            memory = psutil.virtual_memory().total / 2**30
            return cls("this machine (lab hosts share it)", os.cpu_count() or 1, round(memory, 1))
        return cls.of_instance_type(settings.worker_instance_type)

    @classmethod
    def of_instance_type(cls, instance_type: str) -> HostSize:
        match = re.fullmatch(r"([a-z])\d+[a-z]*\.(\w+)", instance_type)
        if not match or match[1] not in GIB_PER_VCPU or match[2] not in VCPUS_BY_SIZE:
            raise PlanError(
                f"WORKER_INSTANCE_TYPE={instance_type}: its size is unknown to the planner (it knows the c, m and r "
                f"families in sizes {', '.join(VCPUS_BY_SIZE)}): pick one of those, or give WORKERS yourself"
            )
        vcpus = VCPUS_BY_SIZE[match[2]]
        return cls(instance_type, vcpus, vcpus * GIB_PER_VCPU[match[1]])


@dataclass(frozen=True)
class Plan:
    workers: int
    processes_per_worker: int
    holders_per_worker: int
    reasoning: list[str]


def make_plan(settings: Settings, calibration: Calibration, host: HostSize) -> Plan:
    users, per_process = settings.users, settings.holders_per_process
    c = calibration
    lines = [
        f"calibration: bench/density.py on {c.measured_at}, {c.holders} holders at {c.holders_per_process} per "
        f"process on {c.machine.get('cores', '?')} cores: {c.pss_per_added_holder_mib:g} MiB PSS per holder, "
        f"{c.empty_process_pss_mib:g} MiB per agent process, {c.cpu_s_per_start:g} CPU-s per start, "
        f"{c.agent_cpu_ms_per_ping + c.driver_cpu_ms_per_ping:.1f} CPU-ms per mediator ping (agent and Locust)"
    ]

    locust_processes = settings.worker_processes or host.cores

    def agent_processes(holders: int) -> int:
        # Each Locust process packs its own share of the holders into agent processes of its own.
        busy = min(holders, locust_processes)
        return busy * math.ceil(math.ceil(holders / busy) / per_process) if busy else 0

    def memory_gib(holders: int) -> float:
        return (holders * c.pss_per_added_holder_mib + agent_processes(holders) * c.empty_process_pss_mib) / 1024

    usable = max(0.0, (host.memory_gib - OS_RESERVE_GIB) * MEMORY_SHARE)
    by_memory = _largest(lambda holders: memory_gib(holders) <= usable, users)
    if by_memory == 0:
        raise PlanError(f"{host.name} has {host.memory_gib:.0f} GiB: too small for one agent process")
    lines.append(
        f"memory: {by_memory:,} holders x {c.pss_per_added_holder_mib:g} MiB + {agent_processes(by_memory)} agent "
        f"processes x {c.empty_process_pss_mib:g} MiB = {memory_gib(by_memory):.1f} GiB fit the {usable:.1f} GiB "
        f"a plan may use of {host.name} ({host.memory_gib:.1f} GiB, {locust_processes} Locust processes)"
    )
    by_cpu = users
    if settings.scenario == "mediator_ping":
        mean_wait = max((settings.wait_min + settings.wait_max) / 2, 0.001)
        cores_per_holder = (c.agent_cpu_ms_per_ping + c.driver_cpu_ms_per_ping) / 1000 / mean_wait
        budget = host.cores * CPU_SHARE
        by_cpu = max(1, min(users, math.floor(budget / cores_per_holder)))
        lines.append(
            f"CPU: one ping per {mean_wait:g} s per holder x {cores_per_holder * 1000:.2f} CPU-ms/s = "
            f"{users * cores_per_holder:.2f} cores for {users:,} holders; {host.cores} cores x {CPU_SHARE:.0%} → "
            f"{by_cpu:,} holders per worker"
        )
    else:
        lines.append(
            f"CPU: SCENARIO={settings.scenario} has no calibrated step cost (bench/density.py measures mediator "
            "pings), so it is sized by memory alone: watch the summary's generator CPU and add WORKERS if it saturates"
        )
    per_worker = min(by_memory, by_cpu)
    workers = math.ceil(users / per_worker)
    ramp_rate = workers * host.cores * CPU_SHARE / c.cpu_s_per_start if c.cpu_s_per_start > 0 else float("inf")
    too_fast = settings.spawn_rate > ramp_rate
    lines.append(
        f"onboarding: {c.cpu_s_per_start:g} CPU-s per start → at most about {ramp_rate:.0f} holders/s across "
        f"{workers} worker(s); SPAWN_RATE={settings.spawn_rate:g} takes {users / settings.spawn_rate:.0f} s to reach "
        f"{users:,}" + (" (lower SPAWN_RATE: the workers cannot start holders that fast)" if too_fast else "")
    )
    lines.append(
        f"plan: {users:,} holders → {workers} x {host.name} ({math.ceil(users / workers):,} holders each, "
        f"{locust_processes} Locust worker process(es) per host, agent processes of {per_process} holders)"
    )
    return Plan(workers, locust_processes, math.ceil(users / workers), lines)


def _largest(fits, upper: int) -> int:
    """The largest n in 0..upper with fits(n), for a fits that holds up to some n and not after."""
    low, high = 0, upper
    while low < high:
        middle = (low + high + 1) // 2
        if fits(middle):
            low = middle
        else:
            high = middle - 1
    return low
