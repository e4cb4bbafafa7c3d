"""What TARGET_PROFILE costs: the embedded mediator's admin API throughput with and without py-spy.

    .venv/bin/python bench/profile_overhead.py [--seconds 10] [--rounds 3] [--rate 100]

One client calls the mediator's admin API (/status and /connections in turn) as fast as it answers,
for --seconds without py-spy, then --seconds with py-spy recording it (`--nonblocking`, as
TARGET_PROFILE records), --rounds times. It prints the calls answered per second each way, the
mediator's CPU per call, and the CPU py-spy itself used: on a machine whose cores the target shares
with the load, py-spy's CPU is the cost that matters.

It uses a running embedded target, or starts its own (AKRIDA_LOCAL_STATE_DIR=.akrida/bench-profile,
LOCAL_BASE_PORT=9480, loopback only) and stops it at the end. docs/results.md ("The target's
profile") shows its output.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Before akrida is imported: akrida.paths reads the state folder once, at import.
os.environ.setdefault("AKRIDA_LOCAL_STATE_DIR", str(ROOT / ".akrida" / "bench-profile"))
os.environ.setdefault("LOCAL_BASE_PORT", "9480")
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402
import requests  # noqa: E402

from akrida import paths  # noqa: E402
from akrida.local.stack import LocalTarget, TargetInfo  # noqa: E402
from akrida.target.profile import Profiler, read_profiles  # noqa: E402

MAX_CALLS = 200_000  # a bound in count besides the one in time


def calls_for(info: TargetInfo, seconds: float) -> int:
    session = requests.Session()
    session.headers["x-api-key"] = info.admin_api_key
    deadline = time.monotonic() + seconds
    answered = 0
    for number in range(MAX_CALLS):
        if time.monotonic() > deadline:
            break
        path = "/status" if number % 2 else "/connections?limit=10"
        session.get(f"{info.mediator_admin_url}{path}", timeout=10).raise_for_status()
        answered += 1
    session.close()
    return answered


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cpu_of(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rate", type=int, default=100, help="py-spy's samples per second")
    arguments = parser.parse_args()
    info = LocalTarget.current()
    target = None
    if info is None:
        target = LocalTarget(base_port=int(os.environ["LOCAL_BASE_PORT"]))
        info = target.up(paths.LOCAL_STATE_DIR / "logs")
    mediator = psutil.Process(info.pids["mediator"])
    rows: dict[str, list[tuple[float, float]]] = {"without py-spy": [], "with py-spy": []}
    spy_cpu: list[float] = []
    try:
        calls_for(info, 2)  # warm-up
        with tempfile.TemporaryDirectory() as folder:
            for round_number in range(arguments.rounds):
                for mode in rows:
                    profiler = Profiler(Path(folder) / str(round_number), {"mediator": mediator.pid},
                                        seconds=arguments.seconds, rate=arguments.rate)  # fmt: skip
                    before_cpu, before_children = cpu_of(mediator), children_cpu()
                    if mode == "with py-spy":
                        profiler.record("bench")
                    calls = calls_for(info, arguments.seconds)
                    spent = cpu_of(mediator) - before_cpu
                    if mode == "with py-spy":
                        profiler.wait(arguments.seconds + 60)
                        spy_cpu.append(children_cpu() - before_children)
                        problems = profiler.problems or [
                            p.problem for p in read_profiles(Path(folder) / str(round_number)) if p.problem
                        ]
                        if problems:
                            print(f"py-spy: {problems}", file=sys.stderr)
                            return 1
                    rows[mode].append((calls / arguments.seconds, spent / max(1, calls) * 1000))
                    print(f"round {round_number + 1} {mode}: {calls / arguments.seconds:.0f} calls/s, "
                          f"mediator {spent / max(1, calls) * 1000:.2f} ms CPU per call", flush=True)  # fmt: skip
    finally:
        if target is not None:
            target.down()
    print()
    print(f"| {arguments.seconds:g} s x {arguments.rounds} | admin calls/s (median) | mediator CPU per call |")
    print("|---|---|---|")
    for mode, values in rows.items():
        rate = statistics.median(value[0] for value in values)
        cpu = statistics.median(value[1] for value in values)
        print(f"| {mode} | {rate:.0f} | {cpu:.2f} ms |")
    print(f"\npy-spy's own CPU at {arguments.rate} Hz: {statistics.median(spy_cpu) / arguments.seconds:.1%} of a core")
    return 0


if __name__ == "__main__":
    sys.exit(main())
