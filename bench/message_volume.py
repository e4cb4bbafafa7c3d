"""Messages through the mediator: sent by the issuer's admin API (mediator_message) against packed by
akrida's own forward sender (mediator_forward), the same holders, the same machine.

    .venv/bin/python bench/message_volume.py [--users 20] [--run-time 60s] [--batch 5]

Runs `akrida run` twice against the embedded target (started by the run, on LOCAL_BASE_PORT), with no
wait between iterations, and prints for each scenario: messages that reached the holders per second
over the run (delivered, stranded or late), lost ones, the p50 and p95 of the step that carries them
(`basic_message`: one per admin call; `forwarded_message`: a batch of --batch), and the mean CPU of
the issuer and of the mediator over the run (from the run's own target samples). The run folders stay
in RESULTS_DIR. docs/results.md ("Messages in volume") shows its output.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from akrida.parsers import parse_duration  # noqa: E402
from akrida.report.delivery import read_delivery  # noqa: E402
from akrida.report.stats import read_steps  # noqa: E402

CPU = re.compile(r"CPU, mean over the run: target [\d.]+ cores \(issuer ([\d.]+), mediator ([\d.]+)")


def run(scenario: str, users: int, run_time: str, batch: int, results: Path) -> Path:
    before = set(results.glob("*")) if results.exists() else set()
    settings = {"SCENARIO": scenario, "USERS": str(users), "SPAWN_RATE": str(users), "RUN_TIME": run_time,
                "WAIT_MIN": "0", "WAIT_MAX": "0", "FORWARD_BATCH": str(batch), "RESULTS_DIR": str(results)}  # fmt: skip
    subprocess.run(
        [sys.executable, "-m", "akrida.cli", "--env-file", "/dev/null", "run"],
        cwd=ROOT, env={**os.environ, **settings}, capture_output=True, text=True,
        timeout=parse_duration(run_time) + 600,
    )  # fmt: skip
    (made,) = set(results.glob("*")) - before
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--run-time", default="60s")
    parser.add_argument("--batch", type=int, default=5, help="FORWARD_BATCH of the mediator_forward run")
    arguments = parser.parse_args()
    results = Path(os.environ.get("RESULTS_DIR") or ROOT / "results").resolve()
    seconds = parse_duration(arguments.run_time)
    print(f"{arguments.users} holders, {arguments.run_time}, no wait; FORWARD_BATCH={arguments.batch}")
    header = ("scenario", "msg/s", "lost", "step", "p50 ms", "p95 ms", "issuer CPU", "mediator CPU")
    print("{:<18} {:>7} {:>5} {:<18} {:>7} {:>7} {:>10} {:>12}".format(*header))
    for scenario, step in (("mediator_message", "basic_message"), ("mediator_forward", "forwarded_message")):
        run_dir = run(scenario, arguments.users, arguments.run_time, arguments.batch, results)
        counts = read_delivery(run_dir)
        arrived = (counts.delivered + counts.stranded + counts.late) if counts else 0
        stats = {(s.request_type, s.name): s for s in read_steps(run_dir)}.get(("didcomm", step))
        p50, p95 = (stats.latency("50%"), stats.latency("95%")) if stats else (float("nan"), float("nan"))
        summary = (run_dir / "summary.md").read_text() if (run_dir / "summary.md").exists() else ""
        cpu = CPU.search(summary)
        issuer, mediator = (cpu.group(1), cpu.group(2)) if cpu else ("?", "?")
        print(
            f"{scenario:<18} {arrived / seconds:>7.1f} {counts.lost if counts else 0:>5} {step:<18} {p50:>7.0f} "
            f"{p95:>7.0f} {issuer:>10} {mediator:>12}   ({run_dir.name})"
        )


if __name__ == "__main__":
    main()
