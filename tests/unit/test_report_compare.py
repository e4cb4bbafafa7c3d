"""`akrida compare`: which steps regressed between two runs (akrida.report.compare)."""

from __future__ import annotations

import csv

import pytest

from akrida.report.compare import MIN_SAMPLES, NOISE_SIGMAS, REGRESSION_SHARE, Side, StepChange, compare, render
from akrida.report.stats import PERCENTILES, STATS_FILE
from tests.integration.helpers import compare_count, compare_table


def side(p95: float = 500.0, rps: float = 10.0, requests: int = 1000, failures: int = 0, p95_error=None,
         rps_error=None) -> Side:  # fmt: skip
    return Side(p95, rps, requests, requests - failures, failures, 0, p95_error, rps_error, "")


def change(before: Side | None, after: Side | None) -> StepChange:
    return StepChange("didcomm", "ping_mediator", before, after)


def test_the_threshold_is_the_documented_one():
    # The boundary tests below are written around these figures.
    assert (REGRESSION_SHARE, NOISE_SIGMAS, MIN_SAMPLES) == (0.10, 2.0, 20)


def test_the_same_figures_are_no_regression():
    assert change(side(), side()).regressions == []


@pytest.mark.parametrize(
    ("after_p95", "found"),
    [
        (500.0 * (1 + REGRESSION_SHARE), []),  # exactly at the threshold: within it
        (530.0, []),  # 6% slower
        (551.0, ["p95"]),  # 10.2% slower, and no noise estimate: the share alone decides
        (1000.0, ["p95"]),
        (300.0, []),  # faster
    ],
)
def test_p95_up_by_more_than_the_share_is_a_regression(after_p95, found):
    assert change(side(p95=500.0), side(p95=after_p95)).regressions == found


@pytest.mark.parametrize(
    ("error", "after_p95", "found"),
    [
        (30.0, 580.0, []),  # +16%, but within 2 x the combined error (2 x 42 = 85 ms)
        (30.0, 590.0, ["p95"]),  # +18%: beyond it
        (5.0, 560.0, ["p95"]),  # quiet runs: the 10% share is the bar
    ],
)
def test_a_p95_change_within_the_noise_is_no_regression(error, after_p95, found):
    before, after = side(p95=500.0, p95_error=error), side(p95=after_p95, p95_error=error)
    assert change(before, after).regressions == found


def test_a_p95_on_too_few_successes_is_not_judged():
    assert change(side(requests=10), side(p95=5000.0, requests=10)).regressions == []


@pytest.mark.parametrize(
    ("after_rps", "found"),
    [
        (10.0 * (1 - REGRESSION_SHARE), []),  # exactly at the threshold: within it
        (9.5, []),
        (8.9, ["throughput"]),
        (2.0, ["throughput"]),
        (15.0, []),  # more throughput
    ],
)
def test_throughput_down_by_more_than_the_share_is_a_regression(after_rps, found):
    assert change(side(rps=10.0), side(rps=after_rps)).regressions == found


def test_a_throughput_drop_within_the_noise_is_no_regression():
    assert change(side(rps=10.0, rps_error=1.0), side(rps=8.0, rps_error=1.0)).regressions == []


@pytest.mark.parametrize(
    ("before", "after", "found"),
    [
        ((1000, 0), (1000, 0), []),
        ((1000, 0), (1000, 1), []),  # one failure in 1,000: within the binomial noise
        ((1000, 0), (1000, 10), ["failures"]),  # 1%: beyond it
        ((1000, 10), (2000, 20), []),  # twice the failures of twice the requests: the same share
        ((1000, 10), (1000, 30), ["failures"]),
        ((100, 5), (100, 1), []),  # fewer failures
        ((0, 0), (0, 0), []),  # no requests either time: no share to compare
    ],
)
def test_a_failure_share_higher_beyond_its_noise_is_a_regression(before, after, found):
    regressions = change(side(requests=before[0], failures=before[1]), side(requests=after[0], failures=after[1]))
    assert regressions.regressions == found


def test_every_kind_of_regression_is_named():
    worse = side(p95=900.0, rps=3.0, requests=1000, failures=200)
    assert change(side(), worse).regressions == ["p95", "throughput", "failures"]


def test_no_baseline_figure_is_no_regression():
    # A step that never ran before (p95 0, no throughput) cannot have got slower.
    assert change(side(p95=0.0, rps=0.0), side(p95=800.0, rps=1.0)).regressions == []


@pytest.mark.parametrize(("before", "after"), [(None, side()), (side(), None)])
def test_a_step_in_one_run_only_is_no_regression(before, after):
    assert change(before, after).regressions == []


STATS_COLUMNS = ["Type", "Name", "Request Count", "Failure Count", "Median Response Time", "Average Response Time",
                 "Min Response Time", "Max Response Time", "Average Content Size", "Requests/s", "Failures/s",
                 *PERCENTILES]  # fmt: skip


def write_stats(run_dir, rows: list[tuple[str, str, int, int, float, float]]) -> None:
    """locust_stats.csv with rows of (type, name, count, failures, req/s, p95 ms) and Locust's total."""
    run_dir.mkdir()
    with open(run_dir / STATS_FILE, "w", newline="") as handle:
        writer = csv.DictWriter(handle, STATS_COLUMNS, restval="0")
        writer.writeheader()
        for request_type, name, count, failures, rps, p95 in rows:
            writer.writerow({"Type": request_type, "Name": name, "Request Count": count, "Failure Count": failures,
                             "Requests/s": rps, "95%": p95, "50%": p95 / 2})  # fmt: skip
        total = sum(row[2] for row in rows)
        writer.writerow({"Type": "", "Name": "Aggregated", "Request Count": total, "Requests/s": 99, "95%": 99999})


def test_two_runs_compare_step_by_step(tmp_path):
    write_stats(tmp_path / "a", [
        ("didcomm", "startup", 20, 0, 2.0, 3000),
        ("didcomm", "ping_mediator", 200, 0, 10.0, 500),
        ("didcomm", "gone_later", 10, 0, 1.0, 100),
        ("harness", "startup", 20, 0, 2.0, 10),
    ])  # fmt: skip
    write_stats(tmp_path / "b", [
        ("harness", "startup", 20, 0, 2.0, 10),
        ("didcomm", "ping_mediator", 200, 0, 10.0, 560),  # 12% slower
        ("didcomm", "startup", 20, 0, 2.0, 3200),  # 6.7% slower: within the share
        ("didcomm", "new_step", 5, 0, 1.0, 100),
    ])  # fmt: skip
    changes, runs_a, runs_b = compare(tmp_path / "a", tmp_path / "b")
    # Steps of the target first, the harness's last; Locust's total is not a step.
    assert [(c.request_type, c.name) for c in changes] == [
        ("didcomm", "gone_later"),
        ("didcomm", "new_step"),
        ("didcomm", "ping_mediator"),
        ("didcomm", "startup"),
        ("harness", "startup"),
    ]
    assert [c.name for c in changes if c.regressions] == ["ping_mediator"]

    text = render(changes, runs_a, runs_b)
    assert compare_table(text) == {
        "didcomm/gone_later": "only in A",
        "didcomm/new_step": "only in B",
        "didcomm/ping_mediator": "p95",
        "didcomm/startup": "",
        "harness/startup": "",
    }
    ping = next(line for line in text.splitlines() if line.startswith("didcomm  ping_mediator"))
    assert ping.split()[2:7] == ["500", "200", "560", "200", "+12%"]  # p95 and the samples it rests on
    assert compare_count(text) == 1
    assert "regressed (p95 up or throughput down by more than 10% and beyond 2 times the noise" in text
    assert "Locust's figures (no timeline" in text


def test_a_run_compared_with_itself_regressed_nowhere(tmp_path):
    write_stats(tmp_path / "a", [("didcomm", "ping_mediator", 200, 3, 10.0, 500)])
    changes, runs_a, runs_b = compare(tmp_path / "a", tmp_path / "a")
    assert [c for c in changes if c.regressions] == []
    text = render(changes, runs_a, runs_b)
    assert compare_count(text) == 0
    assert compare_table(text) == {"didcomm/ping_mediator": ""}
