"""What one simulated holder costs the load generator: start-up time, CPU and memory.

    .venv/bin/python bench/agent_cost.py [--holders 4] [--script agent/dist/launch.js]

Starts the embedded target if none is running, then spawns HOLDERS agents one after another, starts
each with mediation and pings the mediator, lets them settle, and prints per-holder figures. Compare
`--script agent/dist/main.js` (the unbundled build) with the default bundle behind V8's code cache.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import psutil

from akrida import paths
from akrida.agent import AgentConfig, AgentProcess
from akrida.local.stack import LocalTarget

MIB = 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--holders", type=int, default=4)
    parser.add_argument("--script", type=Path, default=paths.AGENT_SCRIPT)
    parser.add_argument("--settle", type=float, default=5.0, help="seconds to wait before measuring memory")
    arguments = parser.parse_args()

    target, info = None, LocalTarget.current()
    if info is None:
        target = LocalTarget()
        info = target.up(paths.LOCAL_STATE_DIR / "logs")
    agents = []
    try:
        spawn_to_ready, start, ping = [], [], []
        for index in range(arguments.holders):
            agent = AgentProcess(AgentConfig(script=arguments.script), f"bench-{index}")
            agents.append(agent)
            began = time.perf_counter()
            agent.spawn()
            agent.call("status")
            spawn_to_ready.append(time.perf_counter() - began)
            began = time.perf_counter()
            agent.call("start", mediatorInvitationUrl=info.mediation_url)
            start.append(time.perf_counter() - began)
            began = time.perf_counter()
            agent.call("ping_mediator")
            ping.append(time.perf_counter() - began)
        time.sleep(arguments.settle)
        memory = [psutil.Process(agent.pid).memory_full_info() for agent in agents]
        cpu = [sum(psutil.Process(agent.pid).cpu_times()[:2]) for agent in agents]
        print(f"agent script: {arguments.script}  holders: {arguments.holders} (started one at a time)")
        for label, values, unit in (
            ("spawn to first reply", spawn_to_ready, "s"),
            ("start (wallet + mediation grant)", start, "s"),
            ("first mediator ping", ping, "s"),
            ("CPU used so far", cpu, "s"),
            ("RSS settled", [m.rss / MIB for m in memory], "MiB"),
            ("PSS settled", [m.pss / MIB for m in memory], "MiB"),
            ("USS settled", [m.uss / MIB for m in memory], "MiB"),
        ):
            print(f"  {label:<34} median {statistics.median(values):7.2f} {unit:<3}  max {max(values):7.2f} {unit}")
    finally:
        for agent in agents:
            agent.shutdown()
        if target is not None:
            target.down()


if __name__ == "__main__":
    main()
