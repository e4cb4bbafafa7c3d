"""The final figures of a run, written once every user has stopped.

Locust rewrites its stats CSV every couple of seconds from a greenlet and closes it at exit without
a last write, so what happened in the last seconds (and while users stop: an agent restart, the
last failures) is missing from it. At `quit`, after the users stopped, the same tables are written
again, complete, beside Locust's: `<prefix>_stats_final.csv` and `<prefix>_failures_final.csv`. The
report reads those when they exist.
"""

from __future__ import annotations

import csv
from pathlib import Path

from locust.env import Environment
from locust.runners import WorkerRunner
from locust.stats import PERCENTILES_TO_REPORT, StatsCSV

from akrida.report.stats import FINAL_FAILURES_FILE, FINAL_STATS_FILE


def write_final_stats(environment: Environment) -> list[Path]:
    """Writes the final tables where Locust writes its CSV (`--csv PREFIX`); nothing without it."""
    options = environment.parsed_options
    prefix = getattr(options, "csv_prefix", None) if options is not None else None
    if not prefix or isinstance(environment.runner, WorkerRunner):  # a worker holds only its share
        return []
    folder, stem = Path(prefix).parent, Path(prefix).name
    tables = StatsCSV(environment, PERCENTILES_TO_REPORT)
    written = []
    for name, write in ((FINAL_STATS_FILE, tables.requests_csv), (FINAL_FAILURES_FILE, tables.failures_csv)):
        path = folder / name.replace("locust", stem, 1)
        temporary = path.with_suffix(".tmp")
        with open(temporary, "w", newline="") as handle:
            write(csv.writer(handle))
        temporary.replace(path)  # whole or not at all: a reader never sees half a table
        written.append(path)
    return written
