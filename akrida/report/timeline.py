"""Response times second by second, per step, so that figures can be computed over any stretch of a run.

Locust's stats history gives, each second, percentiles over a sliding 10 s: those cannot be combined
into the percentile of a longer window. So each Locust process also keeps, for every second and
step, how many requests took how long (rounded as Locust rounds them) and how many failed, and
writes it to timeline/<host>-<pid>.json at the end. A steady-state window's p95 is then exact, with
the precision of Locust's own percentiles.
"""

from __future__ import annotations

import json
import os
import socket
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

TIMELINE_DIR = "timeline"

Key = tuple[int, str, str]  # (unix second the request ended in, request type, step name)


def rounded_ms(response_ms: float) -> int:
    """Locust's rounding of response times (StatsEntry._log_response_time): two significant figures
    from 100 ms on, which keeps the counts small however long the run."""
    if response_ms < 100:
        return round(response_ms)
    if response_ms < 1000:
        return int(round(response_ms, -1))
    if response_ms < 10000:
        return int(round(response_ms, -2))
    return int(round(response_ms, -3))


def percentile(times: Counter[int], share: float) -> int:
    """Locust's percentile of a {rounded ms: count} table, so the summary's figures compare with its own."""
    total = sum(times.values())
    if total == 0:
        return 0
    wanted = int(total * share)
    processed = 0
    for response_ms in sorted(times, reverse=True):
        processed += times[response_ms]
        if total - processed <= wanted:
            return response_ms
    return 0


@dataclass
class Timeline:
    times: dict[Key, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    failures: Counter[Key] = field(default_factory=Counter)

    def record(self, ended_at: float, request_type: str, name: str, response_ms: float, failed: bool) -> None:
        key = (int(ended_at), request_type, name)
        self.times[key][rounded_ms(response_ms)] += 1
        if failed:
            self.failures[key] += 1

    def add(self, other: Timeline) -> None:
        for key, times in other.times.items():
            self.times[key].update(times)
        self.failures.update(other.failures)

    def write(self, run_dir: Path) -> Path:
        folder = run_dir / TIMELINE_DIR
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{socket.gethostname()}-{os.getpid()}.json"
        rows = [
            [second, request_type, name, self.failures[(second, request_type, name)], times]
            for (second, request_type, name), times in sorted(self.times.items())
        ]
        path.write_text(json.dumps(rows))
        return path


def read_timeline(run_dir: Path) -> Timeline | None:
    """Every generator process's timeline, added up; None when none was written."""
    files = sorted((run_dir / TIMELINE_DIR).glob("*.json"))
    if not files:
        return None
    total = Timeline()
    for path in files:
        try:
            rows = json.loads(path.read_text())
            part = Timeline()
            for second, request_type, name, failures, times in rows:
                key = (int(second), str(request_type), str(name))
                part.times[key].update({int(ms): int(count) for ms, count in times.items()})
                if failures:
                    part.failures[key] += int(failures)
        except (OSError, ValueError, TypeError, AttributeError):
            continue  # a file cut short by an interrupted run: the others still count
        total.add(part)
    return total
