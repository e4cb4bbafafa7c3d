"""Holders' connections to the mediator: reconnect storms and outages of the target.

A reconnect storm (STORM_AT) drops every holder's WebSocket to the mediator at once; each Locust
process writes what it saw to storm/<host>-<pid>.json: when, how many holders, each one's time until
it was connected again, and the target's failures meanwhile. An outage is read from the per-second
timeline: a stretch in which the target's steps failed and none succeeded, whatever caused it (a
mediator restarted, a network cut), with the time until its steps succeeded again. An outage is
connections failing: steps that wait for queued messages over a connection that works (a pickup
that times out) say the messages came late, not that the target was down, and are left out.
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from akrida.catalog import HARNESS
from akrida.report.timeline import Timeline

STORM_DIR = "storm"
SHARES = (0.5, 0.95, 1.0)
MIN_OUTAGE_FAILURES = 3
# Steps whose failure is a message not yet handed over, not a connection failing: mediator_churn's
# pickup runs after go_online has connected, and times out when ACA-Py's implicit pickup keeps
# messages queued (one handed over per message the holder sends), with the mediator up throughout.
NOT_CONNECTIVITY = frozenset({"pickup"})


@dataclass
class StormRecord:
    at: float = 0.0  # unix time the connections were dropped
    ended: float = 0.0  # unix time the last holder reconnected or gave up
    holders: int = 0  # holders whose connection was dropped
    reconnect_ms: list[int] = field(default_factory=list)  # each reconnected holder's time to reconnect
    not_reconnected: int = 0  # holders that did not reconnect within AGENT_TIMEOUT
    harness_errors: int = 0  # holders whose drop failed on our side (not counted as the target's)
    failures_during: int = 0  # the target's failures (any step) from the drop until the last reconnection

    def add(self, other: StormRecord) -> None:
        self.at = min(self.at, other.at) if self.at else other.at
        self.ended = max(self.ended, other.ended)
        self.holders += other.holders
        self.reconnect_ms += other.reconnect_ms
        self.not_reconnected += other.not_reconnected
        self.harness_errors += other.harness_errors
        self.failures_during += other.failures_during

    def time_to_share(self, share: float) -> int | None:
        """Milliseconds until `share` of the dropped holders were connected again; None if they never were."""
        if not self.holders:
            return None
        needed = max(1, -(-round(share * self.holders * 1000) // 1000))  # ceil, without float noise
        ordered = sorted(self.reconnect_ms)
        return ordered[needed - 1] if needed <= len(ordered) else None

    def lines(self) -> list[str]:
        when = time.strftime("%H:%M:%S", time.localtime(self.at)) if self.at else "?"
        lines = [f"reconnect storm at {when}: {self.holders} holder(s) had their connection to the mediator dropped"]
        shares = []
        for share in SHARES:
            ms = self.time_to_share(share)
            shares.append(f"{share:.0%} in {ms / 1000:.1f}s" if ms is not None else f"{share:.0%} never")
        lines.append("connected again: " + ", ".join(shares))
        if self.not_reconnected:
            lines.append(f"{self.not_reconnected} holder(s) never reconnect within AGENT_TIMEOUT: the target's failure")
        if self.harness_errors:
            lines.append(f"{self.harness_errors} drop(s) failed on the harness's side (not counted against the target)")
        lines.append(f"failures of the system under test during the storm: {self.failures_during}")
        return lines

    def write(self, run_dir: Path) -> Path:
        folder = run_dir / STORM_DIR
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{socket.gethostname()}-{os.getpid()}.json"
        path.write_text(json.dumps(asdict(self)))
        return path


def read_storm(run_dir: Path) -> StormRecord | None:
    """Every process's storm, added up; None when there was none."""
    total: StormRecord | None = None
    for path in sorted((run_dir / STORM_DIR).glob("*.json")):
        try:
            part = StormRecord(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            continue
        if total is None:
            total = part
        else:
            total.add(part)
    return total


@dataclass(frozen=True)
class Outage:
    first: int  # unix second of the first failure
    last: int  # unix second of the last failure before the target's steps succeeded again
    failures: int
    recovered: int | None  # unix second of the first success after it; None: never within the run

    def line(self) -> str:
        start = time.strftime("%H:%M:%S", time.localtime(self.first))
        failing = f"failing from {start} for {self.last - self.first + 1}s ({self.failures} failures)"
        if self.recovered is None:
            return f"target outage: {failing}; not recovered by the end of the run"
        return f"target outage: {failing}; recovered {self.recovered - self.first}s after the first failure"


def outages(timeline: Timeline | None) -> list[Outage]:
    """Stretches of the run in which the target failed: each begins with a second in which its steps
    only failed and ends at the first second in which they only succeeded (its recovery). Seconds
    with no request of the target, or with failures and successes mixed (holders coming back one by
    one), belong to the stretch. At least MIN_OUTAGE_FAILURES failures make an outage. Steps of
    NOT_CONNECTIVITY count neither way."""
    if timeline is None:
        return []
    failed: dict[int, int] = {}
    succeeded: dict[int, int] = {}
    for (second, request_type, name), times in timeline.times.items():
        if request_type == HARNESS or name in NOT_CONNECTIVITY:
            continue
        failures = timeline.failures[(second, request_type, name)]
        failed[second] = failed.get(second, 0) + failures
        succeeded[second] = succeeded.get(second, 0) + sum(times.values()) - failures
    found: list[Outage] = []
    first: int | None = None
    last, count = 0, 0
    for second in sorted(failed):
        if first is None:
            if failed[second] and not succeeded[second]:
                first, last, count = second, second, failed[second]
        elif failed[second]:
            last, count = second, count + failed[second]
        elif succeeded[second]:
            if count >= MIN_OUTAGE_FAILURES:
                found.append(Outage(first, last, count, second))
            first = None
    if first is not None and count >= MIN_OUTAGE_FAILURES:
        found.append(Outage(first, last, count, None))
    return found
