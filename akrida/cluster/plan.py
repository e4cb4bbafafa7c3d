"""How many worker hosts a run needs: USERS and SCENARIO against calibrated per-holder costs.

The figures come from bench/calibration.json, which `bench/density.py --calibration` writes from
what it measured; nothing here guesses a per-holder cost. What is typed here is policy (how much
of a host a plan may fill) and the sizes of cloud instance types.

The mediator is sized too, from its own measured CPU per start and per ping: an ACA-Py process
runs its agent on one asyncio event loop, so one process has one core at most, however large its
host. Lab hosts are network namespaces on this machine: more of them add no cores or memory, and
the embedded target runs on the same cores, so a lab plan sizes the machine, not a host.
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
# One ACA-Py process's ceiling: its event loop (the Python main thread) runs on one core at most.
MEDIATOR_PROCESS_CORES = 1.0
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
    # The embedded ACA-Py 1.7 mediator's CPU in the same run; 0: not measured (an older calibration).
    mediator_cpu_s_per_start: float = 0.0
    mediator_cpu_ms_per_ping: float = 0.0

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
                mediator_cpu_s_per_start=float(dense.get("mediator_cpu_s_per_start", 0.0)),
                mediator_cpu_ms_per_ping=float(dense.get("mediator_cpu_ms_per_ping", 0.0)),
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
    shared: bool = False  # lab hosts: every worker (and the embedded target) shares this one machine

    @classmethod
    def of(cls, settings: Settings) -> HostSize:
        if settings.cloud == "lab":
            memory = psutil.virtual_memory().total / 2**30
            return cls("this machine", os.cpu_count() or 1, round(memory, 1), shared=True)
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
    mediator_cores: float | None = None  # at the end of the ramp; None: no measured mediator figures
    warnings: list[str] = field(default_factory=list)


def pings_per_second(settings: Settings) -> float | None:
    """Each holder's trust pings to the mediator per second, for the scenarios that only ping; None for others."""
    if settings.scenario == "mediator_ping":
        return 1 / max((settings.wait_min + settings.wait_max) / 2, 0.001)
    if settings.scenario == "mediator_hold":
        return 1 / max(settings.hold_ping_interval, 1)
    return None


@dataclass(frozen=True)
class MediatorNeed:
    """What one ACA-Py mediator process needs for the run, in cores, from its measured CPU."""

    joining: float  # holders starting at SPAWN_RATE
    held: float  # every holder in, pinging (0 for scenarios without a calibrated ping rate)
    lines: list[str]
    warnings: list[str]

    @property
    def peak(self) -> float:
        # At the end of the ramp the last holders join while all the others ping.
        return self.joining + self.held


def mediator_need(settings: Settings, c: Calibration) -> MediatorNeed | None:
    if c.mediator_cpu_s_per_start <= 0:
        return None
    users, rate = settings.users, settings.spawn_rate
    joining = rate * c.mediator_cpu_s_per_start
    per_holder = pings_per_second(settings)
    held = users * per_holder * c.mediator_cpu_ms_per_ping / 1000 if per_holder else 0.0
    lines = [f"mediator: {c.mediator_cpu_s_per_start:g} CPU-s per start x SPAWN_RATE={rate:g}/s = {joining:.2f} cores "
             "while holders join"]  # fmt: skip
    if per_holder:
        lines[0] += (
            f"; {c.mediator_cpu_ms_per_ping:g} CPU-ms per ping x {users:,} holders x one ping per {1 / per_holder:g} s "
            f"= {held:.2f} cores once they are in; {joining + held:.2f} cores at the end of the ramp"
        )
    else:
        lines[0] += f" (SCENARIO={settings.scenario} has no calibrated mediator cost per step after that)"
    lines[0] += f" (ACA-Py 1.7, measured up to {c.holders:,} holders; it grows with the connections it holds)"
    warnings = []
    if joining + held > MEDIATOR_PROCESS_CORES:
        fixes = []
        if held < MEDIATOR_PROCESS_CORES:
            fixes.append(f"SPAWN_RATE at most {(MEDIATOR_PROCESS_CORES - held) / c.mediator_cpu_s_per_start:.1f}/s")
        if per_holder and held >= MEDIATOR_PROCESS_CORES * 0.5:
            most = MEDIATOR_PROCESS_CORES / (per_holder * c.mediator_cpu_ms_per_ping / 1000)
            fixes.append(f"at most about {int(most):,} holders per mediator process at this ping rate")
        warnings.append(
            f"the mediator needs {joining + held:.2f} cores, and one ACA-Py process's event loop runs on one core "
            "at most: it cannot keep up, so its latency grows and the run measures its queue"
            + (f"; to keep up: {' or '.join(fixes)}" if fixes else "")
        )
    return MediatorNeed(joining, held, lines, warnings)


def make_plan(settings: Settings, calibration: Calibration, host: HostSize) -> Plan:
    users, per_process = settings.users, settings.holders_per_process
    c = calibration
    lines = [
        f"calibration: bench/density.py on {c.measured_at}, {c.holders} holders at {c.holders_per_process} per "
        f"process on {c.machine.get('cores', '?')} cores: {c.pss_per_added_holder_mib:g} MiB PSS per holder, "
        f"{c.empty_process_pss_mib:g} MiB per agent process, {c.cpu_s_per_start:g} CPU-s per start, "
        f"{c.agent_cpu_ms_per_ping + c.driver_cpu_ms_per_ping:.1f} CPU-ms per mediator ping (agent and Locust)"
    ]
    mediator = mediator_need(settings, c)
    # The embedded target runs on this machine beside lab hosts; a target named by URL runs elsewhere.
    target_here = host.shared and not settings.mediation_url
    if host.shared:
        lines.append(
            f"lab hosts are network namespaces on this machine: all of them share its {host.cores} cores and "
            f"{host.memory_gib:.1f} GiB, so the plan sizes the machine, and more lab hosts add no capacity"
            + ("; the embedded target shares it too" if target_here else "")
        )
    if mediator is not None:
        lines += mediator.lines

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
    budget = host.cores * CPU_SHARE
    # A target on the same cores takes its CPU per holder and per start out of the same budget.
    target_ping_ms = c.mediator_cpu_ms_per_ping if target_here else 0.0
    target_start_s = c.mediator_cpu_s_per_start if target_here else 0.0
    by_cpu = users
    held_cores = 0.0  # the generator's and the target's on this host once every holder is in (ping scenarios)
    per_holder = pings_per_second(settings) if settings.scenario == "mediator_ping" else None
    if per_holder:
        mean_wait = 1 / per_holder
        cores_per_holder = (c.agent_cpu_ms_per_ping + c.driver_cpu_ms_per_ping) / 1000 / mean_wait
        with_target = cores_per_holder + target_ping_ms / 1000 / mean_wait
        by_cpu = max(1, min(users, math.floor(budget / with_target)))
        held_cores = min(users, by_cpu) * with_target
        generator_ms = c.agent_cpu_ms_per_ping + c.driver_cpu_ms_per_ping
        and_target = (
            f" + the target's {target_ping_ms:.2f} per ping = {target_ping_ms / mean_wait:.2f} CPU-ms/s on the same "
            "cores"
            if target_here
            else ""
        )
        lines.append(
            f"CPU: {generator_ms:.2f} CPU-ms per ping, one per {mean_wait:g} s = {cores_per_holder * 1000:.2f} "
            f"CPU-ms/s per holder{and_target} = "
            f"{users * with_target:.2f} cores for {users:,} holders; {host.cores} cores x {CPU_SHARE:.0%} → "
            f"{by_cpu:,} holders per {'machine' if host.shared else 'worker'}"
        )
    else:
        lines.append(
            f"CPU: SCENARIO={settings.scenario} has no calibrated step cost (bench/density.py measures mediator "
            "pings), so it is sized by memory alone: watch the summary's generator CPU and add WORKERS if it saturates"
        )
    per_worker = min(by_memory, by_cpu)
    warnings = list(mediator.warnings) if mediator is not None else []
    if host.shared:
        # More namespaces share the same cores: one lab worker, and a warning when the machine is too small.
        workers = 1
        # Starting holders competes with the pings of those already in (at the end of the ramp, all of them).
        start_cost = c.cpu_s_per_start + target_start_s
        first_rate = budget / start_cost
        ramp_rate = max(0.0, budget - held_cores) / start_cost
    else:
        workers = math.ceil(users / per_worker)
        ramp_rate = workers * host.cores * CPU_SHARE / c.cpu_s_per_start if c.cpu_s_per_start > 0 else float("inf")
    saturated = host.shared and ramp_rate < 0.1  # the holders in take the CPU: fewer USERS, not a slower ramp
    too_fast = settings.spawn_rate > ramp_rate and not saturated
    where = "on this machine" if host.shared else f"across {workers} worker(s)"
    if saturated:
        rate = (
            f"about {first_rate:.1f} holders/s {where} at first, and none by the end of the ramp, when the "
            f"{min(users, by_cpu):,} holders in take all of its CPU share"
        )
    elif host.shared:
        rate = (
            f"about {first_rate:.1f} holders/s {where} at first, at most about {ramp_rate:.1f} at the end of the ramp"
        )
    else:
        rate = f"at most about {ramp_rate:.1f} holders/s {where}"
    lines.append(
        f"onboarding: {c.cpu_s_per_start:g} CPU-s per start"
        + (f" + the target's {target_start_s:g}" if target_start_s else "")
        + f" → {rate}; "
        f"SPAWN_RATE={settings.spawn_rate:g} takes {users / settings.spawn_rate:.0f} s to reach "
        f"{users:,}" + (" (lower SPAWN_RATE: holders cannot be started that fast)" if too_fast else "")
    )
    if host.shared:
        lines.append(
            f"plan: {users:,} holders → 1 lab host on this machine ({locust_processes} Locust worker process(es), "
            f"agent processes of {per_process} holders)"
        )
        if per_worker < users:
            warnings.append(
                f"this machine carries about {per_worker:,} of the {users:,} holders ("
                + ("its memory" if by_memory <= by_cpu else "its CPU")
                + "), whatever the number of lab hosts: lower USERS, or run on CLOUD=aws"
            )
    else:
        lines.append(
            f"plan: {users:,} holders → {workers} x {host.name} ({math.ceil(users / workers):,} holders each, "
            f"{locust_processes} Locust worker process(es) per host, agent processes of {per_process} holders)"
        )
    return Plan(
        workers, locust_processes, math.ceil(users / workers), lines,
        mediator_cores=mediator.peak if mediator is not None else None, warnings=warnings,
    )  # fmt: skip


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
