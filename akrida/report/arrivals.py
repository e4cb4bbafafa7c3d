"""How well the open load model (ARRIVAL_RATE) kept its schedule: arrivals due, started, late, missed.

An open model is only open if the generator keeps up: an arrival that starts late, or never, is
load the target was not given. The shape counts both and writes them to arrivals.json, so the
summary can say whether the schedule held.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

ARRIVALS_FILE = "arrivals.json"


@dataclass
class Arrivals:
    rate: float  # ARRIVAL_RATE, holders per second
    due: int = 0  # arrivals scheduled so far: one at 0 s, then ARRIVAL_RATE a second, up to USERS
    started: int = 0  # holders Locust had started at the last look
    late: int = 0  # arrivals not started by the shape's next tick (a second after Locust was asked)
    missed: int = 0  # arrivals due that had not started when the run ended (each one is also late)

    def write(self, run_dir: Path) -> Path:
        path = run_dir / ARRIVALS_FILE
        path.write_text(json.dumps(asdict(self)))
        return path

    def line(self) -> str:
        return (
            f"arrivals at {self.rate:g}/s (ARRIVAL_RATE): {self.due} due, {self.started} started, "
            f"{self.late} late (not started within a second), {self.missed} never started"
        )


def read_arrivals(run_dir: Path) -> Arrivals | None:
    """The open model's record, or None when the run had no ARRIVAL_RATE (or it cannot be read)."""
    try:
        return Arrivals(**json.loads((run_dir / ARRIVALS_FILE).read_text()))
    except (OSError, ValueError, TypeError):
        return None
