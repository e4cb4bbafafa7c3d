"""What the clock of SCHEDULE=fixed or poisson saw, and where each request's time went.

Under the closed loop (SCHEDULE=closed) a holder asks again only after its previous answer and a
wait: when the target stalls, fewer requests are sent and the stall is recorded once per holder,
however long it lasted (coordinated omission). On a clock, each holder's requests are due at set
times; a request that could not go out on time (its holder still waited on the previous answer, or
the generator woke it late) is counted late and timed from when it was due, so the stall weighs in
the percentiles as much as it weighed on the holders.

Separately, every request the agent stamped (PROTOCOL.md, "Timing stamps") splits into the target's
time (its waits for the target's answers) and the generator's queueing: the driver's own time less the
target's.

Each Locust process writes schedule/<host>-<pid>.json; the summary adds them up.
"""

from __future__ import annotations

import json
import os
import socket
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

from akrida.report.loop_delay import LoopSample, loop_lines
from akrida.report.timeline import percentile, rounded_ms

SCHEDULE_DIR = "schedule"
# A request that goes out more than this after it was due is late. Below it is the scheduler's own jitter.
LATE_AFTER_MS = 100.0


@dataclass
class ScheduleCounts:
    schedule: str = ""  # closed, fixed or poisson
    due: int = 0  # requests that came due and went out
    late: int = 0  # went out more than LATE_AFTER_MS after they were due
    late_behind: int = 0  # of those: the holder was still busy (waiting on an answer, restarting) when it came due
    worst_late_ms: float = 0.0
    unsent: int = 0  # came due before the run ended and never went out

    def record(self, late_ms: float, behind: bool) -> None:
        self.due += 1
        if late_ms > LATE_AFTER_MS:
            self.late += 1
            self.late_behind += behind
        self.worst_late_ms = max(self.worst_late_ms, late_ms)

    def add(self, other: ScheduleCounts) -> None:
        self.schedule = self.schedule or other.schedule
        self.due += other.due
        self.late += other.late
        self.late_behind += other.late_behind
        self.worst_late_ms = max(self.worst_late_ms, other.worst_late_ms)
        self.unsent += other.unsent

    def line(self) -> str:
        if self.schedule == "closed":
            return (
                "closed loop (SCHEDULE=closed): each holder asked again only after its answer and its wait, so "
                "a slow or stalled target was asked less; latencies are timed from each request's send"
            )
        generator = self.late - self.late_behind
        return (
            f"{self.schedule} schedule: {self.due} requests came due, {self.late} went out late "
            f"(more than {LATE_AFTER_MS:g} ms after they were due; {self.late_behind} because their holder still "
            f"waited on its previous answer, {generator} because the generator woke them late), worst "
            f"{self.worst_late_ms / 1000:.1f} s late; {self.unsent} came due and never went out before the run "
            "ended. Latencies are timed from when each request was due"
        )


@dataclass
class LatencySplit:
    """Per step: the target's time and the generator's queueing, in Locust's rounded ms."""

    target: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    queueing: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))

    def record(self, name: str, driver_ms: float, target_ms: float) -> None:
        self.target[name][rounded_ms(target_ms)] += 1
        self.queueing[name][rounded_ms(max(0.0, driver_ms - target_ms))] += 1

    def add(self, other: LatencySplit) -> None:
        for name, times in other.target.items():
            self.target[name].update(times)
        for name, times in other.queueing.items():
            self.queueing[name].update(times)

    def rows(self) -> list[tuple[str, ...]]:
        rows = []
        for name in sorted(self.target):
            target, queueing = self.target[name], self.queueing[name]
            rows.append(
                (name, str(sum(target.values())),
                 *(str(percentile(target, share)) for share in (0.5, 0.99)),
                 *(str(percentile(queueing, share)) for share in (0.5, 0.99)), str(max(queueing, default=0)))
            )  # fmt: skip
        return rows


SPLIT_HEADER = ("step", "stamped", "target p50", "target p99", "queueing p50", "queueing p99", "queueing max")


@dataclass
class ScheduleRecord:
    counts: ScheduleCounts = field(default_factory=ScheduleCounts)
    split: LatencySplit = field(default_factory=LatencySplit)

    def write(self, run_dir: Path) -> Path:
        folder = run_dir / SCHEDULE_DIR
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{socket.gethostname()}-{os.getpid()}.json"
        split = {"target": self.split.target, "queueing": self.split.queueing}
        path.write_text(json.dumps({"counts": asdict(self.counts), "split": split}))
        return path


def read_schedule(run_dir: Path) -> ScheduleRecord | None:
    """Every generator process's record, added up; None when none was written."""
    files = sorted((run_dir / SCHEDULE_DIR).glob("*.json"))
    if not files:
        return None
    total = ScheduleRecord()
    for path in files:
        try:
            data = json.loads(path.read_text())
            part = ScheduleRecord(ScheduleCounts(**data["counts"]))
            for kind, table in (("target", part.split.target), ("queueing", part.split.queueing)):
                for name, times in data["split"][kind].items():
                    table[name].update({int(ms): int(count) for ms, count in times.items()})
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            continue  # a file cut short by an interrupted run: the others still count
        total.counts.add(part.counts)
        total.split.add(part.split)
    return total


def timing_lines(record: ScheduleRecord | None, loop: list[LoopSample]) -> list[str]:
    """How the run's latencies were timed: the schedule, and the agents' event-loop delay."""
    lines = [record.counts.line()] if record is not None and record.counts.schedule else []
    lines += [f"agents' event loop: {line}" for line in loop_lines(loop)]
    if record is not None and record.split.target:  # last: the table of the split follows it
        lines.append(
            "the target's time (from the agents' stamps: each message handed to Credo to its answer handed over) and "
            "the generator's queueing (the driver's time for the holder's command, less that: gevent, the pipe, the "
            "agent's event loop, the holder's own crypto), in ms:"
        )
    return lines
