"""What TARGET_PROFILE costs a Node mediator: a Credo mediator's pings with and without its inspector's
CPU profile.

    .venv/bin/python bench/profile_overhead_node.py [--holders 4] [--seconds 8] [--rounds 3] [--rate 100]

Starts a Credo mediator (tests/integration/credo_mediator.js, loopback only) and --holders real
holders (one agent process) mediated by it. The holders ping the mediator back to back, each in its
own greenlet, for --seconds without a profile, then --seconds with one recording it through its
inspector as TARGET_PROFILE does (SIGUSR1, the Profiler domain, the inspector closed after),
--rounds times. It prints the pings answered per second each way and the mediator's CPU per ping.
docs/results.md ("A Node mediator (Credo)") shows its output.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import gevent  # noqa: E402
import psutil  # noqa: E402

from akrida.agent import AgentConfig, AgentHost, HolderClient, StartOptions  # noqa: E402
from akrida.target.profile import Profiler, read_profiles  # noqa: E402

MEDIATOR_SCRIPT = ROOT / "tests" / "integration" / "credo_mediator.js"
MAX_PINGS = 100_000  # a bound in count besides the one in time


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_mediator(log: Path) -> tuple[subprocess.Popen[bytes], str]:
    process = subprocess.Popen(
        ["node", str(MEDIATOR_SCRIPT), str(free_port())], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=open(log, "wb"), env=AgentConfig().environment(),  # noqa: SIM115 (the process keeps it)
    )  # fmt: skip
    lines: list[bytes] = []
    reader = threading.Thread(target=lambda: lines.append(process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(240)
    if not lines or not lines[0]:
        process.kill()
        sys.exit(f"the Credo mediator did not start; its log: {log}")
    return process, json.loads(lines[0])["invitationUrl"]


def pings_for(clients: list[HolderClient], seconds: float) -> int:
    """Pings answered in `seconds`, every holder pinging back to back in its own greenlet."""
    deadline = time.monotonic() + seconds
    counts = [0] * len(clients)

    def ping(index: int) -> None:
        for _ in range(MAX_PINGS):
            if time.monotonic() >= deadline:
                return
            clients[index].ping_mediator()
            counts[index] += 1

    gevent.joinall([gevent.spawn(ping, index) for index in range(len(clients))], raise_error=True)
    return sum(counts)


def cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--holders", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rate", type=int, default=100)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="akrida-bench-profile-node-"))
    mediator, invitation = start_mediator(folder / "credo-mediator.log")
    host = AgentHost(AgentConfig(timeout=60, log_dir=folder), "agent", capacity=args.holders)
    host.spawn()
    try:
        clients = []
        for number in range(args.holders):
            host.handles.add(f"holder-{number}")
            clients.append(HolderClient(host, f"holder-{number}"))
            clients[-1].start(StartOptions(mediator_invitation_url=invitation))
        pings_for(clients, 3)  # warm-up: connections open, code compiled
        target = psutil.Process(mediator.pid)
        results: dict[str, list[tuple[float, float]]] = {"without the profile": [], "with the profile": []}
        for round_number in range(args.rounds):
            for name in results:
                profiler = None
                if name == "with the profile":
                    run_dir = folder / f"round-{round_number}"
                    profiler = Profiler(run_dir, {"mediator": mediator.pid}, seconds=args.seconds, rate=args.rate)
                    profiler.record("bench")
                before = cpu(target)
                try:
                    answered = pings_for(clients, args.seconds)
                except Exception as error:
                    sys.exit(f"round {round_number + 1} {name}: {error}; the mediator's exit code: {mediator.poll()}")
                used = cpu(target) - before
                if profiler is not None:
                    profiler.wait(60)
                    problems = [s.problem for s in read_profiles(folder / f"round-{round_number}") if s.problem]
                    if problems:
                        sys.exit(f"the profile failed: {problems}")
                results[name].append((answered / args.seconds, used / answered * 1000 if answered else 0.0))
                print(f"round {round_number + 1} {name}: {answered / args.seconds:.1f} pings/s", flush=True)
        print(
            f"\n{args.holders} holders pinging back to back, {args.seconds:g} s x {args.rounds}, {args.rate} samples/s:"
        )
        print("| | pings/s (median) | mediator CPU per ping |")
        print("|---|---|---|")
        for name, rows in results.items():
            rate = statistics.median(row[0] for row in rows)
            per_ping = statistics.median(row[1] for row in rows)
            print(f"| {name} | {rate:.1f} | {per_ping:.2f} ms |")
    finally:
        host.close()
        mediator.stdin.close()  # type: ignore[union-attr]
        try:
            mediator.wait(20)
        except subprocess.TimeoutExpired:
            mediator.kill()


if __name__ == "__main__":
    main()
