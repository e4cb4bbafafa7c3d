"""When to profile the target (TARGET_PROFILE): at the end of each limit-search step, and at the
moment a run first breaks, both seen from the files Locust writes as it runs.

Runs in a thread of the `akrida run` process beside the load, reading only: limit.json (a search's
steps, with when each hold window began) and Locust's stats history (a row per step each second).
A run's first failure, or a step's 10-second latency over an SLO gate, starts one recording
labelled "break"; each search step is recorded over the last seconds of its hold window
("step-N"), so the step that broke has its profile.
"""

from __future__ import annotations

import csv
import io
import threading
import time
from pathlib import Path

from akrida.catalog import HARNESS
from akrida.report.limit import read_limit
from akrida.report.progress import HISTORY_FILE
from akrida.slo import LATENCY, OPERATORS, Gate
from akrida.target.profile import Profiler

POLL_S = 1.0


def breached(row: dict[str, str], gates: list[Gate]) -> bool:
    """Whether one history row (a step's last 10 s, as Locust keeps them) breaks a latency gate."""
    for gate in gates:
        if gate.metric not in LATENCY or gate.metric in ("avg", "max") or row.get("Name") != gate.step:
            continue
        try:
            measured = float(row[LATENCY[gate.metric]])
        except (KeyError, ValueError):
            continue
        if measured > 0 and not OPERATORS[gate.op](measured, gate.value):
            return True
    return False


class ProfileTrigger:
    def __init__(self, run_dir: Path, profiler: Profiler, gates: list[Gate], search: bool):
        self.run_dir = run_dir
        self.profiler = profiler
        self.gates = [gate for gate in gates if gate.step is not None]
        self.search = search
        self.scheduled: set[int] = set()  # search steps already recorded
        self.broke = False
        self._offset = 0  # how far into the history file rows were read
        self._header: list[str] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="profile-trigger", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(POLL_S * 3)

    def _run(self) -> None:
        while not self._stop.wait(POLL_S):
            try:
                if self.search:
                    self._search_steps(time.time())
                elif not self.broke and self._first_break():
                    self.broke = True
                    self.profiler.record("break")
            except (OSError, ValueError):  # a file half written: read again at the next poll
                continue

    def _search_steps(self, now: float) -> None:
        record = read_limit(self.run_dir)
        if record is None:
            return
        for step in record.steps:
            if step.hold_began is None or step.number in self.scheduled:
                continue
            # The recording ends with the hold window, where the step is judged.
            due = step.hold_began + max(0.0, record.step_seconds - self.profiler.seconds)
            if now >= due:
                self.scheduled.add(step.number)
                self.profiler.record(f"step-{step.number}")

    def _first_break(self) -> bool:
        """Reads the history rows written since the last poll; True at the first failure or breach."""
        path = self.run_dir / HISTORY_FILE
        if not path.is_file():
            return False
        with open(path, "rb") as handle:
            handle.seek(self._offset)
            data = handle.read()
        complete = data[: data.rfind(b"\n") + 1]  # a last line still being written waits
        self._offset += len(complete)
        text = complete.decode(errors="replace")
        lines = text.splitlines()
        if self._header is None and lines:
            self._header, lines = next(csv.reader([lines[0]])), lines[1:]
        for row in csv.DictReader(io.StringIO("\n".join(lines)), fieldnames=self._header):
            if row.get("Type") == HARNESS:
                continue
            if row.get("Name") != "Aggregated" and float(row.get("Total Failure Count") or 0) > 0:
                return True
            if breached(row, self.gates):
                return True
        return False
