"""Steady-state windows: the stretches of a run where the holder count held at a planned level.

Figures over a whole run mix the ramp (holders starting, the target warming up) with the load the
run was about. A window is a stretch of at least MIN_WINDOW_S seconds in which Locust's stats
history shows the user count flat at a level the run planned to hold: USERS (after the ramp or the
arrivals reached it), or the users of a STAGES stage that holds its predecessor's count. A level
that was never reached, because holders were late or the run too short, gives no window. Step
figures are then computed over each window from the timeline (akrida/report/timeline.py): the latency
of successes, with timeouts and other failures counted apart (akrida/report/outcomes.py).
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from akrida.parsers import InvalidValue, parse_stages
from akrida.report.outcomes import Outcome, outcomes
from akrida.report.progress import HISTORY_FILE
from akrida.report.timeline import Timeline

MIN_WINDOW_S = 10  # shorter plateaus hold too few requests to say anything steady


@dataclass(frozen=True)
class Window:
    first: int  # unix second of the first history row at the level
    last: int  # unix second of the last one
    users: int
    begins_s: int  # seconds into the run (from Locust's first history row)

    @property
    def seconds(self) -> int:
        return self.last - self.first + 1  # each history row stands for its second

    def describe(self) -> str:
        return f"{self.users} holders from {self.begins_s}s to {self.begins_s + self.seconds}s ({self.seconds}s)"


@dataclass(frozen=True)
class SteadyWindow:
    window: Window
    steps: list[Outcome] | None  # None: no timeline was written, so no figures


def planned_levels(config: Mapping[str, str], users: int) -> frozenset[int]:
    """The holder counts the run meant to hold: STAGES' holding stages, or USERS."""
    raw = config.get("STAGES", "")
    if not raw.strip():
        return frozenset({int(config.get("USERS") or users)})
    try:
        stages = parse_stages(raw)
    except InvalidValue:
        return frozenset()
    levels, before = set(), 0
    for _seconds, stage_users in stages:
        if stage_users == before and stage_users > 0:
            levels.add(stage_users)
        before = stage_users
    return frozenset(levels)


def read_user_counts(run_dir: Path) -> list[tuple[int, int]]:
    """(unix second, user count) of each of Locust's history rows, oldest first."""
    counts = []
    try:
        with open(run_dir / HISTORY_FILE, newline="") as handle:
            for row in csv.DictReader(handle):
                if row.get("Name") != "Aggregated" or None in row.values():
                    continue  # a step's row, or the last one half-written
                try:
                    counts.append((int(float(row["Timestamp"])), int(row["User Count"])))
                except (KeyError, ValueError):
                    continue
    except OSError:
        return []
    return sorted(counts)


def flat_windows(
    counts: list[tuple[int, int]], levels: frozenset[int], min_seconds: int = MIN_WINDOW_S
) -> list[Window]:
    """Each maximal run of rows at one planned level lasting at least `min_seconds`."""
    windows: list[Window] = []
    run: list[tuple[int, int]] = []
    for row in [*counts, (0, -1)]:  # the sentinel closes the last run
        if run and row[1] == run[0][1]:
            run.append(row)
            continue
        if run and run[0][1] in levels and run[-1][0] - run[0][0] + 1 >= min_seconds:
            windows.append(Window(run[0][0], run[-1][0], run[0][1], run[0][0] - counts[0][0]))
        run = [row]
    return windows


def window_steps(timeline: Timeline, window: Window) -> list[Outcome]:
    """Each step's figures over the requests that ended within the window: the latency of successes,
    timeouts and other failures apart (akrida/report/outcomes.py)."""
    return outcomes(timeline, window.first, window.last)


def steady_state(run_dir: Path, levels: frozenset[int], timeline: Timeline | None) -> list[SteadyWindow]:
    windows = flat_windows(read_user_counts(run_dir), levels)
    return [SteadyWindow(w, window_steps(timeline, w) if timeline is not None else None) for w in windows]
