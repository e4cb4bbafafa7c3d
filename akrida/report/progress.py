"""One line of progress during a headless run, read from Locust's stats history CSV."""

from __future__ import annotations

import csv
from pathlib import Path

HISTORY_FILE = "locust_stats_history.csv"


def progress_line(run_dir: Path, wanted_users: int, elapsed: float, run_time: float) -> str | None:
    """`users 12/20  req/s 5.3  failures 0  42s left`, or None before Locust wrote anything."""
    path = run_dir / HISTORY_FILE
    try:
        with open(path, newline="") as handle:
            last = None
            for row in csv.DictReader(handle):
                # Locust may be halfway through writing the last row: its missing columns read as None.
                if row.get("Name") == "Aggregated" and None not in row.values():
                    last = row
    except OSError:
        return None
    if last is None:
        return None
    left = max(0.0, run_time - elapsed)
    return (
        f"users {last['User Count']}/{wanted_users}  req/s {float(last['Requests/s']):.1f}  "
        f"requests {last['Total Request Count']}  failures {last['Total Failure Count']}  {left:.0f}s left"
    )
