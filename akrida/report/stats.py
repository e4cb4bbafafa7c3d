"""Reading Locust's stats CSV into per-step figures."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from akrida.scenarios import HARNESS

STATS_FILE = "locust_stats.csv"
FAILURES_FILE = "locust_failures.csv"


@dataclass(frozen=True)
class StepStats:
    request_type: str
    name: str
    count: int
    failures: int
    median_ms: float
    p95_ms: float
    p99_ms: float
    rps: float

    @property
    def harness(self) -> bool:
        return self.request_type == HARNESS


@dataclass(frozen=True)
class Failure:
    request_type: str
    name: str
    error: str
    occurrences: int


def read_steps(run_dir: Path) -> list[StepStats]:
    """Every row of the stats CSV except Locust's 'Aggregated' total."""
    path = run_dir / STATS_FILE
    if not path.is_file():
        return []
    with open(path, newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row.get("Name") != "Aggregated"]
    return [
        StepStats(
            request_type=row["Type"],
            name=row["Name"],
            count=int(row["Request Count"]),
            failures=int(row["Failure Count"]),
            median_ms=_number(row.get("50%")),
            p95_ms=_number(row.get("95%")),
            p99_ms=_number(row.get("99%")),
            rps=_number(row.get("Requests/s")),
        )
        for row in rows
    ]


def read_failures(run_dir: Path) -> list[Failure]:
    path = run_dir / FAILURES_FILE
    if not path.is_file():
        return []
    with open(path, newline="") as handle:
        return [
            Failure(row["Method"], row["Name"], row["Error"], int(row["Occurrences"])) for row in csv.DictReader(handle)
        ]


def _number(text: str | None) -> float:
    try:
        return float(text) if text not in (None, "", "N/A") else 0.0
    except ValueError:
        return 0.0
