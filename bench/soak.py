"""Memory over time: a long mediator_message run, sampled every 30 s, judged for growth after a warm-up.

    .venv/bin/python bench/soak.py [--minutes 30] [--holders 50] [--interval 30] [--warm-up MINUTES]
                                   [--threshold 2.0]

It runs `akrida run` (SCENARIO=mediator_message, USERS=--holders; HOLDERS_PER_PROCESS as set, by
default 200, so 50 holders share one dense agent process) against an embedded target of its own
(AKRIDA_LOCAL_STATE_DIR=.akrida/bench-soak, LOCAL_BASE_PORT=8900, loopback only), with the run
folder under results/bench-soak/. Every --interval seconds it samples:

- the USS of the agent processes (Node, Locust's children) and of the Locust process: the memory
  private to each process, so that processes starting or ending elsewhere on the machine (which
  change everyone's share of the libraries, that is PSS) do not look like growth;
- the open files of Locust and its agents;
- the USS of the embedded target's ACA-Py mediator and issuer (their pids are in its state file);
- the basic messages delivered so far and the failures, from Locust's stats history.

After the run it prints the samples and, over the samples after the warm-up (by default the first
third of the run), the least-squares growth of each process's memory: the agents' in MiB per hour
per holder and in KiB per delivered message. The delivery counts (sent, delivered, late, lost) are
the run's own (akrida.report.delivery), and the generator's saturation comes from its health CSV
(akrida.report.health). It exits 1 when the agents still grow by more than --threshold MiB per hour
per holder after the warm-up, when a message was lost, or when the run did not complete.

The samples go to soak.json in the run folder.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Before akrida is imported: akrida.paths reads the state folder once, at import.
os.environ.setdefault("AKRIDA_LOCAL_STATE_DIR", str(ROOT / ".akrida" / "bench-soak"))
os.environ.setdefault("LOCAL_BASE_PORT", "8900")

import psutil  # noqa: E402

from akrida import paths  # noqa: E402
from akrida.agent.limits import raise_open_files_limit  # noqa: E402
from akrida.local.stack import LocalTarget  # noqa: E402
from akrida.report.delivery import read_delivery  # noqa: E402
from akrida.report.health import judge, read_health  # noqa: E402
from akrida.report.progress import HISTORY_FILE  # noqa: E402

MIB = 2**20
STEP = "basic_message"  # the step of mediator_message whose successes are delivered messages
# 2 MiB per hour per holder: a day's soak would add 48 MiB per holder, 24 times what a dense holder
# costs all-in (docs/density.md). Without the agent's fixes, 20 holders grew by 67 MiB per hour each.
DEFAULT_THRESHOLD = 2.0


@dataclass
class Sample:
    seconds: float  # since Locust started
    holders: int  # holders the agents host (live users)
    agent_processes: int
    agents_uss_mib: float
    locust_uss_mib: float
    mediator_uss_mib: float | None
    issuer_uss_mib: float | None
    open_files: int
    delivered: int  # basic_message successes so far
    failures: int  # every failure so far, of any step


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="length of the load (default 30)")
    parser.add_argument("--holders", type=int, default=50, help="holders, that is Locust users (default 50)")
    parser.add_argument("--interval", type=float, default=30.0, help="seconds between samples (default 30)")
    # Its own waits, not the run's defaults (60-120 s since issue 22): a soak is about many messages.
    parser.add_argument("--wait-min", type=float, default=1.0, help="WAIT_MIN of the run (default 1)")
    parser.add_argument("--wait-max", type=float, default=2.0, help="WAIT_MAX of the run (default 2)")
    parser.add_argument("--warm-up", type=float, help="minutes not judged (default: the first third of the run)")
    parser.add_argument(
        "--threshold",
        type=float,
        default=DEFAULT_THRESHOLD,
        help=f"MiB per hour per holder the agents may still grow after the warm-up (default {DEFAULT_THRESHOLD:g})",
    )
    arguments = parser.parse_args()
    warm_up = 60 * (arguments.warm_up if arguments.warm_up is not None else arguments.minutes / 3)
    if warm_up >= arguments.minutes * 60 - 2 * arguments.interval:
        parser.error("--warm-up leaves fewer than two samples to judge: lengthen --minutes or shorten --warm-up")

    raise_open_files_limit()
    results = ROOT / "results" / "bench-soak"
    results.mkdir(parents=True, exist_ok=True)
    target, info = None, LocalTarget.current()
    if info is None:
        target = LocalTarget(base_port=int(os.environ["LOCAL_BASE_PORT"]))
        info = target.up(paths.LOCAL_STATE_DIR / "logs")
    try:
        run_dir, samples, code = soak(arguments, info, results)
    finally:
        if target is not None:
            target.down()
    return report(arguments, warm_up, run_dir, samples, code)


def soak(arguments, info, results: Path) -> tuple[Path | None, list[Sample], int]:
    environment = {
        **os.environ,
        "SCENARIO": "mediator_message",
        "USERS": str(arguments.holders),
        "RUN_TIME": f"{round(arguments.minutes * 60)}s",
        "WAIT_MIN": f"{arguments.wait_min:g}",
        "WAIT_MAX": f"{arguments.wait_max:g}",
        "RESULTS_DIR": str(results),
    }
    log_path = results / f"akrida-{time.strftime('%Y%m%d-%H%M%S')}.log"
    akrida = str(Path(sys.executable).with_name("akrida"))
    print(f"akrida run: {arguments.holders} holders of mediator_message for {arguments.minutes:g} min, waits "
          f"{arguments.wait_min:g}-{arguments.wait_max:g} s; log {log_path}")  # fmt: skip
    with open(log_path, "w") as log:
        run = subprocess.Popen(
            [akrida, "--env-file", "/dev/null", "run", "--local"],
            env=environment, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        samples: list[Sample] = []
        run_dir = None
        started = None
        processes = {name: _process(pid) for name, pid in info.pids.items()}  # mediator, issuer
        try:
            while run.poll() is None:
                time.sleep(1 if started is None else arguments.interval)
                run_dir = run_dir or _run_dir(log_path)
                locust = _locust(run.pid)
                if locust is None:
                    continue
                if started is None:
                    started = locust.create_time()
                    continue
                sample = _sample(time.time() - started, locust, processes, run_dir)
                if sample is not None:
                    samples.append(sample)
                    print(_line(sample), flush=True)
        except KeyboardInterrupt:
            run.send_signal(2)
        code = run.wait()
    return run_dir or _run_dir(log_path), samples, code


def _process(pid: int) -> psutil.Process | None:
    try:
        return psutil.Process(pid)
    except psutil.Error:
        return None


def _run_dir(log_path: Path) -> Path | None:
    match = re.search(r"^results: (\S+)", log_path.read_text(errors="replace"), re.MULTILINE)
    return Path(match.group(1)) if match else None


def _locust(akrida_pid: int) -> psutil.Process | None:
    try:
        for child in psutil.Process(akrida_pid).children():
            if "locust" in " ".join(child.cmdline()):
                return child
    except psutil.Error:
        pass
    return None


def _uss(process: psutil.Process | None) -> int | None:
    if process is None:
        return None
    try:
        return process.memory_full_info().uss
    except psutil.Error:
        return None


def _sample(seconds: float, locust: psutil.Process, target: dict, run_dir: Path | None) -> Sample | None:
    try:
        agents = [child for child in locust.children() if Path(child.cmdline()[0]).name.startswith("node")]
        files = locust.num_fds() + sum(agent.num_fds() for agent in agents)
    except psutil.Error:
        return None  # Locust is ending
    locust_uss = _uss(locust)
    if locust_uss is None:
        return None
    delivered, failures, holders = _stats(run_dir)
    mediator, issuer = _uss(target.get("mediator")), _uss(target.get("issuer"))
    return Sample(
        seconds=round(seconds, 1),
        holders=holders,
        agent_processes=len(agents),
        agents_uss_mib=round(sum(_uss(agent) or 0 for agent in agents) / MIB, 1),
        locust_uss_mib=round(locust_uss / MIB, 1),
        mediator_uss_mib=round(mediator / MIB, 1) if mediator is not None else None,
        issuer_uss_mib=round(issuer / MIB, 1) if issuer is not None else None,
        open_files=files,
        delivered=delivered,
        failures=failures,
    )


def _stats(run_dir: Path | None) -> tuple[int, int, int]:
    """Delivered messages, failures and users so far, from the last complete rows of Locust's history."""
    step = aggregated = None
    try:
        with open(run_dir / HISTORY_FILE, newline="") as handle:  # type: ignore[operator]
            for row in csv.DictReader(handle):
                if None in row.values():
                    continue  # a row Locust is still writing
                if row.get("Name") == STEP:
                    step = row
                elif row.get("Name") == "Aggregated":
                    aggregated = row
    except (OSError, TypeError):
        pass
    delivered = int(step["Total Request Count"]) - int(step["Total Failure Count"]) if step else 0
    failures = int(aggregated["Total Failure Count"]) if aggregated else 0
    users = int(aggregated["User Count"]) if aggregated else 0
    return delivered, failures, users


def slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of ys over xs."""
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread if spread else 0.0


def _line(s: Sample) -> str:
    target = lambda mib: "n/a" if mib is None else f"{mib:.0f}"  # noqa: E731
    return (
        f"{s.seconds / 60:6.1f} min  holders {s.holders:>4} in {s.agent_processes} agent process(es)  "
        f"agents {s.agents_uss_mib:7.1f} MiB  locust {s.locust_uss_mib:6.1f} MiB  "
        f"mediator {target(s.mediator_uss_mib)} MiB  issuer {target(s.issuer_uss_mib)} MiB  "
        f"files {s.open_files:>5}  delivered {s.delivered:>7}  failures {s.failures}"
    )


def report(arguments, warm_up: float, run_dir: Path | None, samples: list[Sample], code: int) -> int:
    problems = []
    if run_dir is not None:
        (run_dir / "soak.json").write_text(json.dumps([asdict(s) for s in samples], indent=1) + "\n")
    judged = [s for s in samples if s.seconds >= warm_up]
    print()
    print(f"run: {run_dir}  (akrida exit code {code})")
    if code not in (0, 1):  # 1 is "requests failed", counted below
        problems.append(f"the run did not complete (akrida exit code {code})")
    if len(judged) < 2:
        problems.append(f"{len(judged)} samples after the warm-up: nothing to judge")
        growth = None
    else:
        hours = [s.seconds / 3600 for s in judged]
        holders = max(s.holders for s in judged) or arguments.holders
        growth = slope(hours, [s.agents_uss_mib for s in judged]) / holders
        delivered = judged[-1].delivered - judged[0].delivered
        per_message = slope([float(s.delivered) for s in judged], [s.agents_uss_mib * 1024 for s in judged])
        print(
            f"judged: {judged[0].seconds / 60:.1f} to {judged[-1].seconds / 60:.1f} min ({len(judged)} samples), "
            f"after a warm-up of {warm_up / 60:.1f} min; {holders} holders, {delivered} messages delivered in that time"
        )
        print(
            f"agents:   {growth:+.2f} MiB/hour per holder ({growth * holders:+.1f} MiB/hour in all, "
            f"{per_message:+.2f} KiB per delivered message); USS {judged[0].agents_uss_mib:.0f} -> "
            f"{judged[-1].agents_uss_mib:.0f} MiB"
        )
        for name in ("locust", "mediator", "issuer"):
            values = [getattr(s, f"{name}_uss_mib") for s in judged]
            if None not in values:
                change = f"USS {values[0]:.0f} -> {values[-1]:.0f} MiB"
                print(f"{name + ':':<9} {slope(hours, values):+.1f} MiB/hour; {change}")
        print(f"files:    {judged[0].open_files} -> {judged[-1].open_files}")
        if growth > arguments.threshold:
            problems.append(
                f"the agents still grow by {growth:.2f} MiB/hour per holder after the warm-up "
                f"(threshold {arguments.threshold:g})"
            )
    delivery = read_delivery(run_dir) if run_dir is not None else None
    if delivery is None:
        problems.append("no delivery counts: no message was sent")
    else:
        counts = f"sent {delivery.sent}, delivered {delivery.delivered}, late {delivery.late}, lost {delivery.lost}"
        print(f"delivery: {counts}")
        if delivery.lost:
            problems.append(f"{delivery.lost} message(s) lost")
    if samples:
        print(f"failures: {samples[-1].failures} (every step, from Locust's statistics)")
    if run_dir is not None:
        health = judge(read_health(run_dir))
        caveat = " (the figures are not a clean measurement)" if health.saturated else ""
        print(
            f"generator: peak host CPU {health.peak_cpu:.0f}%, saturated in "
            f"{health.saturated_share:.0%} of its samples{caveat}"
        )
    for problem in problems:
        print(f"FAIL: {problem}")
    if not problems:
        print(f"PASS: growth under {arguments.threshold:g} MiB/hour per holder after the warm-up, no message lost")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
