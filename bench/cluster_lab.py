"""What the cluster path costs on lab hosts: provision, a second playbook run, a distributed run, teardown.

    sudo .venv/bin/python bench/cluster_lab.py [--workers 2] [--users 8] [--run-time 30s]

Runs the commands of docs/scale-out.md through the CLI, on lab hosts of its own (prefix akbn, 10.203.0.0/24,
state under .akrida/bench-cluster), and prints the distributed run's summary and the wall time of
each step. Other settings (SPAWN_RATE, default 4; WAIT_MIN, HOLDERS_PER_PROCESS …) come from the
environment. Needs root.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--run-time", default="30s")
    arguments = parser.parse_args()
    environment = {
        **os.environ,
        "AKRIDA_CLUSTER_STATE_DIR": str(ROOT / ".akrida" / "bench-cluster"),
        "AKRIDA_LOCAL_STATE_DIR": str(ROOT / ".akrida" / "bench-cluster-target"),
        "AKRIDA_LAB_PREFIX": "akbn",
        "LAB_CIDR": "10.203.0.0/24",
        "LOCAL_BASE_PORT": "8750",
        "CLOUD": "lab",
        "WORKER_PROCESSES": "1",
        "SPAWN_RATE": os.environ.get("SPAWN_RATE", "4"),
        "RESULTS_DIR": str(ROOT / "results" / "bench-cluster"),
    }
    akrida = str(ROOT / ".venv" / "bin" / "akrida")
    steps = [
        ("provision", [akrida, "cluster", "provision", "--workers", str(arguments.workers)]),
        ("playbook again (no change)", [akrida, "cluster", "prepare"]),
        ("distributed run", [akrida, "run", "--users", str(arguments.users), "--run-time", arguments.run_time]),
        ("teardown", [akrida, "cluster", "teardown"]),
    ]
    timings = []
    try:
        for name, command in steps:
            started = time.monotonic()
            result = subprocess.run(command, env=environment, capture_output=True, text=True, cwd=ROOT)
            timings.append((name, time.monotonic() - started, result.returncode))
            if name == "distributed run" and "type     step" in result.stdout:
                summary = result.stdout[result.stdout.index("type     step") :]
                print(summary[: summary.find("results:")].rstrip())  # the run's own figures
            if result.returncode != 0:
                print(result.stdout[-3000:], result.stderr[-3000:], file=sys.stderr)
                if name != "distributed run":  # a run that failed its gates still gets its teardown timed
                    break
    finally:
        subprocess.run([akrida, "cluster", "teardown"], env=environment, capture_output=True, cwd=ROOT)
    print(f"lab cluster: 1 master + {arguments.workers} workers, {arguments.users} holders for {arguments.run_time}")
    for name, seconds, code in timings:
        print(f"  {name:<28} {seconds:7.1f} s  (exit {code})")
    return 0 if all(code == 0 for _, _, code in timings) else 1


if __name__ == "__main__":
    sys.exit(main())
