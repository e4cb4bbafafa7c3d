"""Reading Locust's stats CSV into per-step figures."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

from akrida.catalog import HARNESS

STATS_FILE = "locust_stats.csv"
FAILURES_FILE = "locust_failures.csv"
# The same tables written once every user stopped (akrida/scenarios/final_stats.py): complete, where
# Locust's own may miss the last seconds. Read first when present.
FINAL_STATS_FILE = "locust_stats_final.csv"
FINAL_FAILURES_FILE = "locust_failures_final.csv"
# Written by Locust's process as it exits normally, with its exit code. Locust exits 1 both when
# requests failed and when it crashed (an uncaught exception); only this file tells them apart.
LOCUST_EXIT_FILE = "locust_exit.json"


PERCENTILES = ("50%", "66%", "75%", "80%", "90%", "95%", "98%", "99%", "99.9%", "100%")


@dataclass(frozen=True)
class StepStats:
    request_type: str
    name: str
    count: int
    failures: int
    rps: float
    latencies: dict[str, float] = field(default_factory=dict)  # "95%", "avg", "max" … in ms
    # Requests that timed out, when known (0 from Locust's CSV). When set, `latencies` are those of the
    # successes only (akrida/report/outcomes.py), and a latency gate weighs the timeouts apart.
    timeouts: int = 0

    @property
    def harness(self) -> bool:
        return self.request_type == HARNESS

    def latency(self, column: str) -> float:
        return self.latencies.get(column, 0.0)

    @property
    def median_ms(self) -> float:
        return self.latency("50%")

    @property
    def p95_ms(self) -> float:
        return self.latency("95%")

    @property
    def p99_ms(self) -> float:
        return self.latency("99%")


@dataclass(frozen=True)
class Failure:
    request_type: str
    name: str
    error: str
    occurrences: int


def read_steps(run_dir: Path) -> list[StepStats]:
    """Every row of the stats CSV except Locust's 'Aggregated' total."""
    path = _first_of(run_dir, FINAL_STATS_FILE, STATS_FILE)
    if path is None:
        return []
    with open(path, newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row.get("Name") != "Aggregated"]
    return [
        StepStats(
            request_type=row["Type"],
            name=row["Name"],
            count=int(row["Request Count"]),
            failures=int(row["Failure Count"]),
            rps=_number(row.get("Requests/s")),
            latencies={
                **{column: _number(row.get(column)) for column in PERCENTILES},
                "avg": _number(row.get("Average Response Time")),
                "max": _number(row.get("Max Response Time")),
            },
        )
        for row in rows
    ]


def read_failures(run_dir: Path) -> list[Failure]:
    path = _first_of(run_dir, FINAL_FAILURES_FILE, FAILURES_FILE)
    if path is None:
        return []
    with open(path, newline="") as handle:
        return [
            Failure(row["Method"], row["Name"], row["Error"], int(row["Occurrences"])) for row in csv.DictReader(handle)
        ]


def _first_of(run_dir: Path, *names: str) -> Path | None:
    return next((run_dir / name for name in names if (run_dir / name).is_file()), None)


def _number(text: str | None) -> float:
    try:
        return float(text) if text not in (None, "", "N/A") else 0.0
    except ValueError:
        return 0.0


def write_locust_exit(run_dir: Path, exit_code: int) -> None:
    (run_dir / LOCUST_EXIT_FILE).write_text(json.dumps({"exit_code": exit_code}) + "\n")


def locust_ran_its_course(run_dir: Path) -> bool:
    """Whether the Locust process that wrote into `run_dir` exited normally (not by a crash)."""
    try:
        recorded = json.loads((run_dir / LOCUST_EXIT_FILE).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(recorded, dict) and isinstance(recorded.get("exit_code"), int)
