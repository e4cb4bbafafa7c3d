"""Response times second by second, per step, so that figures can be computed over any stretch of a run.

Locust's stats history gives, each second, percentiles over a sliding 10 s: those cannot be combined
into the percentile of a longer window. So each Locust process also keeps, for every second and
step, how many requests took how long (rounded as Locust rounds them) and how many failed, and
writes it to timeline/<host>-<pid>.json at the end. A steady-state window's p95 is then exact, with
the precision of Locust's own percentiles.

Failed requests' times are also kept apart, and timeouts counted: a request that timed out took the
timeout (60,000 ms by default), which says nothing of the target's speed. The latency of successes
is `times` less `failed_times` (akrida/report/outcomes.py).
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
    times: dict[Key, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))  # every request
    failures: Counter[Key] = field(default_factory=Counter)
    failed_times: dict[Key, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    timeouts: Counter[Key] = field(default_factory=Counter)  # failures that were a wait running out
    # False for a bundle written before failures were kept apart: its failures' times are unknown.
    split: bool = True

    def record(
        self, ended_at: float, request_type: str, name: str, response_ms: float, failed: bool, timeout: bool = False
    ) -> None:
        key = (int(ended_at), request_type, name)
        rounded = rounded_ms(response_ms)
        self.times[key][rounded] += 1
        if failed:
            self.failures[key] += 1
            self.failed_times[key][rounded] += 1
            if timeout:
                self.timeouts[key] += 1

    def add(self, other: Timeline) -> None:
        for key, times in other.times.items():
            self.times[key].update(times)
        for key, times in other.failed_times.items():
            self.failed_times[key].update(times)
        self.failures.update(other.failures)
        self.timeouts.update(other.timeouts)
        self.split = self.split and other.split

    def ok_times(self, key: Key) -> Counter[int]:
        """The times of the requests of `key` that succeeded."""
        ok = Counter(self.times.get(key, Counter()))
        ok.subtract(self.failed_times.get(key, Counter()))
        return +ok  # drops the zeros

    def write(self, run_dir: Path) -> Path:
        folder = run_dir / TIMELINE_DIR
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{socket.gethostname()}-{os.getpid()}.json"
        # Each row: second, type, name, failures, {ms: count}, then the failures' {ms: count} and timeouts.
        rows = []
        for key, times in sorted(self.times.items()):
            second, request_type, name = key
            failed: Counter[int] = self.failed_times.get(key, Counter())
            rows.append([second, request_type, name, self.failures[key], times, failed, self.timeouts[key]])
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
            for second, request_type, name, failures, times, *apart in rows:
                key = (int(second), str(request_type), str(name))
                part.times[key].update({int(ms): int(count) for ms, count in times.items()})
                if failures:
                    part.failures[key] += int(failures)
                if len(apart) < 2:
                    part.split = False  # written before failures were kept apart
                    continue
                failed_times, timeouts = apart[0], apart[1]
                if failed_times:
                    part.failed_times[key].update({int(ms): int(count) for ms, count in failed_times.items()})
                if timeouts:
                    part.timeouts[key] += int(timeouts)
        except (OSError, ValueError, TypeError, AttributeError):
            continue  # a file cut short by an interrupted run: the others still count
        total.add(part)
    return total
