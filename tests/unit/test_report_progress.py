"""The progress line of a headless run (akrida.report.progress.progress_line)."""

from __future__ import annotations

import pytest

from akrida.report.progress import HISTORY_FILE, progress_line

# Locust's --csv-full-history columns, as it writes them.
HEADER = (
    "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%,"
    "Total Request Count,Total Failure Count,Total Median Response Time,Total Average Response Time,"
    "Total Min Response Time,Total Max Response Time,Total Average Content Size"
)
PERCENTILES = ",".join(["N/A"] * 11)


def row(timestamp: int, users: int, name: str, rps: float, requests: int, failures: int, request_type="") -> str:
    return f"{timestamp},{users},{request_type},{name},{rps:f},0.000000,{PERCENTILES},{requests},{failures},0,0.0,0,0,0"


def write_history(run_dir, *rows: str) -> None:
    (run_dir / HISTORY_FILE).write_text("\n".join([HEADER, *rows]) + "\n")


def test_no_line_before_locust_wrote_its_history(tmp_path):
    assert progress_line(tmp_path, 20, elapsed=1.0, run_time=60.0) is None


def test_no_line_while_the_history_has_only_its_header(tmp_path):
    write_history(tmp_path)
    assert progress_line(tmp_path, 20, elapsed=1.0, run_time=60.0) is None


def test_no_line_before_the_first_total(tmp_path):
    write_history(tmp_path, row(1000, 2, "ping_mediator", 1.0, 3, 0, request_type="didcomm"))
    assert progress_line(tmp_path, 20, elapsed=1.0, run_time=60.0) is None


def test_the_first_total_with_nothing_sent_yet(tmp_path):
    write_history(tmp_path, row(1000, 0, "Aggregated", 0.0, 0, 0))
    line = progress_line(tmp_path, 20, elapsed=2.0, run_time=60.0)
    assert line == "users 0/20  req/s 0.0  requests 0  failures 0  58s left"


def test_mid_run_the_newest_total_is_shown(tmp_path):
    write_history(
        tmp_path,
        row(1000, 4, "Aggregated", 1.25, 5, 0),
        row(1001, 8, "ping_mediator", 9.0, 30, 1, request_type="didcomm"),
        row(1001, 8, "Aggregated", 3.46, 42, 2),
        row(1002, 12, "startup", 7.0, 12, 0, request_type="didcomm"),  # a step's row after the newest total
    )
    line = progress_line(tmp_path, 20, elapsed=18.4, run_time=60.0)
    assert line == "users 8/20  req/s 3.5  requests 42  failures 2  42s left"


def test_after_the_run_time_no_time_is_left(tmp_path):
    write_history(tmp_path, row(1000, 20, "Aggregated", 12.0, 700, 0))
    assert progress_line(tmp_path, 20, elapsed=60.0, run_time=60.0).endswith("failures 0  0s left")
    # Locust stops its users after the run time: the line never counts below zero.
    assert progress_line(tmp_path, 20, elapsed=75.0, run_time=60.0).endswith("failures 0  0s left")


@pytest.mark.parametrize(
    "partial",
    [
        "1001,6,didcomm,ping_med",  # a step's row
        "1001,6,,Aggregated,",  # the total's row, cut before its figures ...
        "1001,6,,Aggregated,3.",
        "1001,6,,Aggregated,3.5,0.000000," + PERCENTILES + ",2",  # ... or in its request count
    ],
)
def test_a_row_locust_is_still_writing_is_not_read(tmp_path, partial):
    write_history(tmp_path, row(1000, 6, "Aggregated", 2.0, 20, 1))
    with open(tmp_path / HISTORY_FILE, "a") as handle:
        handle.write(partial)
    assert progress_line(tmp_path, 6, elapsed=10.0, run_time=30.0) == (
        "users 6/6  req/s 2.0  requests 20  failures 1  20s left"
    )
