"""The final tables written at quit hold what Locust's periodic CSV may miss.

Run by tests/unit/test_locust_side.py in a pytest process where Locust is imported first.
"""

from __future__ import annotations

import argparse

from locust.env import Environment

from akrida.report.stats import read_failures, read_steps
from akrida.scenarios.final_stats import write_final_stats


def environment_with_stats(prefix) -> Environment:
    environment = Environment(parsed_options=argparse.Namespace(csv_prefix=str(prefix)))
    for _ in range(5):
        environment.stats.log_request("didcomm", "ping_mediator", 120, 0)
    environment.stats.log_request("harness", "agent_restart", 900, 0)  # while users stopped
    environment.stats.log_error("harness", "agent_restart", "agent host exited")
    return environment


def test_the_final_tables_hold_every_request_and_failure(tmp_path):
    environment = environment_with_stats(tmp_path / "locust")
    written = write_final_stats(environment)
    assert sorted(path.name for path in written) == ["locust_failures_final.csv", "locust_stats_final.csv"]
    steps = {(step.request_type, step.name): step for step in read_steps(tmp_path)}
    assert steps[("didcomm", "ping_mediator")].count == 5
    assert (steps[("harness", "agent_restart")].count, steps[("harness", "agent_restart")].failures) == (1, 1)
    (failure,) = read_failures(tmp_path)
    assert (failure.name, failure.occurrences) == ("agent_restart", 1)


def test_the_final_tables_are_read_before_locusts_own(tmp_path):
    (tmp_path / "locust_stats.csv").write_text("Type,Name,Request Count,Failure Count\ndidcomm,ping_mediator,3,0\n")
    write_final_stats(environment_with_stats(tmp_path / "locust"))
    assert {step.name: step.count for step in read_steps(tmp_path)}["ping_mediator"] == 5


def test_without_csv_nothing_is_written(tmp_path):
    environment = Environment(parsed_options=argparse.Namespace(csv_prefix=None))
    assert write_final_stats(environment) == []
