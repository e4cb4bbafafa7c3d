"""The event-loop delay of each agent process, sampled through the run.

Every holder of an agent process shares its one Node event loop: while it runs one holder's crypto,
the others' answers from the target wait. Each Locust process asks each of its agent processes for
its loop's delay every few seconds (the `event_loop_delay` command: percentiles since the previous
ask) and writes the samples to loop/<host>-<pid>.csv. A run whose agents' loops were late by about
as much as the latencies it reports measured its own generator, not the target.
"""

from __future__ import annotations

import csv
import os
import socket
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

LOOP_DIR = "loop"
INTERVAL_SECONDS = 3.0


@dataclass(frozen=True)
class LoopSample:
    timestamp: float
    agent: str  # the agent process's name (agent-<n>) within its Locust process
    pid: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float


class LoopLog:
    """Appends samples to this Locust process's CSV as they come."""

    def __init__(self, run_dir: Path):
        folder = run_dir / LOOP_DIR
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"{socket.gethostname()}-{os.getpid()}.csv"

    def write(self, samples: list[LoopSample]) -> None:
        if not samples:
            return
        new = not self.path.exists()
        with open(self.path, "a", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=[f.name for f in fields(LoopSample)])
            if new:
                writer.writeheader()
            writer.writerows(asdict(sample) for sample in samples)


def read_loop_samples(run_dir: Path) -> list[LoopSample]:
    samples = []
    for path in sorted((run_dir / LOOP_DIR).glob("*.csv")):
        try:
            with open(path, newline="") as handle:
                for row in csv.DictReader(handle):
                    samples.append(
                        LoopSample(float(row["timestamp"]), row["agent"], int(row["pid"]), float(row["p50_ms"]),
                                   float(row["p99_ms"]), float(row["max_ms"]), float(row["mean_ms"]))
                    )  # fmt: skip
        except (OSError, KeyError, ValueError, csv.Error):
            continue
    return sorted(samples, key=lambda sample: sample.timestamp)


def loop_lines(samples: list[LoopSample]) -> list[str]:
    """The agents' event-loop delay in words: its usual level, and the worst moment of the run."""
    if not samples:
        return []
    p99s = sorted(sample.p99_ms for sample in samples)
    worst = max(samples, key=lambda sample: sample.max_ms)
    agents = len({(sample.agent, sample.pid) for sample in samples})
    return [
        f"{agents} agent process(es), {len(samples)} samples of {INTERVAL_SECONDS:g} s: p99 of the event-loop "
        f"delay {p99s[len(p99s) // 2]:.0f} ms in the median sample, {p99s[-1]:.0f} ms in the worst",
        f"worst single delay {worst.max_ms:.0f} ms ({worst.agent}, pid {worst.pid}, at "
        f"{time.strftime('%H:%M:%S', time.localtime(worst.timestamp))}): every answer that reached that process "
        "then waited as long before its holder saw it",
    ]
