"""When TARGET_PROFILE records the target: read from the files Locust writes as a run goes."""

from __future__ import annotations

import csv
import json
import time

from akrida.profile_triggers import ProfileTrigger
from akrida.report.limit import LimitRecord, StepRecord
from akrida.slo import parse_gates

HEADER = ["Timestamp", "User Count", "Type", "Name", "Requests/s", "Failures/s", "50%", "95%", "99%",
          "Total Request Count", "Total Failure Count"]  # fmt: skip


class Recordings:
    """Stands in for py-spy: what would have been recorded, and when (py-spy itself is tested apart)."""

    seconds = 5.0

    def __init__(self):
        self.labels: list[str] = []

    def record(self, label: str) -> None:
        self.labels.append(label)


def history(path, rows):
    with open(path, "a", newline="") as handle:
        writer = csv.writer(handle)
        if handle.tell() == 0:
            writer.writerow(HEADER)
        writer.writerows(rows)


def row(name, p95, failures=0, kind="didcomm"):
    return [1, 5, kind, name, 1, 0, 40, p95, p95, 10, failures]


def test_the_first_failure_of_the_target_records_one_break_and_harness_failures_none(tmp_path):
    recordings = Recordings()
    trigger = ProfileTrigger(tmp_path, recordings, [], search=False)
    history(tmp_path / "locust_stats_history.csv", [row("ping_mediator", 50), row("ping_mediator", 50, 2, "harness")])
    assert not trigger._first_break()
    history(tmp_path / "locust_stats_history.csv", [row("ping_mediator", 50, failures=1)])
    assert trigger._first_break()


def test_a_step_over_its_latency_gate_is_a_break_other_steps_are_not(tmp_path):
    trigger = ProfileTrigger(tmp_path, Recordings(), parse_gates("p95(ping_mediator) < 500ms"), search=False)
    history(tmp_path / "locust_stats_history.csv", [row("startup", 3000), row("ping_mediator", 400)])
    assert not trigger._first_break()
    history(tmp_path / "locust_stats_history.csv", [row("ping_mediator", 800)])
    assert trigger._first_break()


def test_each_search_step_is_recorded_once_over_the_end_of_its_hold(tmp_path):
    recordings = Recordings()
    trigger = ProfileTrigger(tmp_path, recordings, [], search=True)
    began = time.time()
    record = LimitRecord(5, 20, 15, "x", [StepRecord(1, 5, began - 30, hold_began=began), StepRecord(2, 10, began)])
    (tmp_path / "limit.json").write_text(json.dumps({**record.__dict__, "steps": [s.__dict__ for s in record.steps]}))
    trigger._search_steps(began + 14)  # the recording of 5 s must end with the 20 s hold: not yet
    assert recordings.labels == []
    trigger._search_steps(began + 15)
    trigger._search_steps(began + 16)
    assert recordings.labels == ["step-1"]  # step 2 has not begun its hold
