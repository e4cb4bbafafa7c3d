"""Steady-state windows on a synthetic run: found where the holder count held at its planned level,
and the step figures computed over them only, not over the ramp."""

from __future__ import annotations

import csv
from pathlib import Path

from akrida.report.arrivals import Arrivals
from akrida.report.summary import gather, render_markdown, render_text
from akrida.report.timeline import Timeline, read_timeline
from akrida.report.windows import Window, flat_windows, planned_levels, read_user_counts, steady_state
from tests.unit.test_report_progress import HEADER as HEADER_LINE

HEADER = HEADER_LINE.split(",")  # Locust's --csv-full-history columns
START = 1_800_000_000  # the run's first history row, a unix second


def write_history(run_dir: Path, users_by_second: list[int], half_written_tail: bool = True) -> None:
    with open(run_dir / "locust_stats_history.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for offset, users in enumerate(users_by_second):
            stamp = START + offset
            # --csv-full-history writes each step's row too, with the same user count: only Aggregated counts.
            writer.writerow([stamp, users, "didcomm", "ping_mediator", *["1"] * (len(HEADER) - 4)])
            writer.writerow([stamp, users, "", "Aggregated", *["1"] * (len(HEADER) - 4)])
    if half_written_tail:
        with open(run_dir / "locust_stats_history.csv", "a") as handle:
            handle.write(f"{START + len(users_by_second)},1,,Aggregated,0.5")  # Locust still writing it


# 5 s of ramp to 4 holders, 40 s at 4, then the stop.
RAMP_THEN_HOLD = [0, 1, 2, 3, *[4] * 40, 0]


def test_the_window_is_the_stretch_at_users_not_the_ramp(tmp_path):
    write_history(tmp_path, RAMP_THEN_HOLD)
    counts = read_user_counts(tmp_path)
    assert len(counts) == len(RAMP_THEN_HOLD)  # the half-written row is left out
    assert flat_windows(counts, frozenset({4})) == [Window(START + 4, START + 43, 4, 4)]
    assert flat_windows(counts, frozenset({4}))[0].describe() == "4 holders from 4s to 44s (40s)"


def test_plateaus_too_short_or_at_unplanned_counts_are_not_windows():
    # A pause at 2 holders for 15 s (a ramp that stalled) and 9 s at 4: neither is steady state.
    counts = [(START + i, users) for i, users in enumerate([1, *[2] * 15, 3, *[4] * 9, 0])]
    assert flat_windows(counts, frozenset({4})) == []
    assert flat_windows(counts, frozenset({2})) == [Window(START + 1, START + 15, 2, 1)]


def test_planned_levels_come_from_the_stages_that_hold_or_from_users():
    assert planned_levels({"STAGES": "10s:4,20s:4,10s:8,20s:8,5s:0"}, 8) == {4, 8}
    assert planned_levels({"STAGES": "2m:1000,1m:0"}, 1000) == frozenset()  # a ramp up and down holds nothing
    assert planned_levels({"STAGES": "", "USERS": "6"}, 6) == {6}
    assert planned_levels({}, 12) == {12}  # a manifest without the configuration


def test_stages_give_one_window_per_plateau(tmp_path):
    write_history(tmp_path, [0, 2, *[4] * 20, 6, *[8] * 15, 4, 0], half_written_tail=False)
    windows = steady_state(tmp_path, planned_levels({"STAGES": "2s:4,20s:4,2s:8,15s:8,2s:0"}, 8), None)
    assert [(w.window.users, w.window.seconds, w.steps) for w in windows] == [(4, 20, None), (8, 15, None)]


def ramp_and_hold_timeline() -> Timeline:
    timeline = Timeline()
    for offset in range(4):  # the ramp: slow starts, one failure
        timeline.record(START + offset + 0.5, "didcomm", "startup", 5000.0, failed=offset == 2)
    for offset in range(4, 44):  # steady: 10 pings a second, 9 at 20 ms and one at 95 ms
        for n in range(10):
            timeline.record(START + offset + 0.1, "didcomm", "ping_mediator", 95.0 if n == 0 else 20.0, failed=False)
    timeline.record(START + 20.3, "didcomm", "ping_mediator", 1234.0, failed=True)
    timeline.record(START + 44.2, "didcomm", "ping_mediator", 60000.0, failed=True)  # while stopping
    return timeline


def test_figures_are_computed_over_the_window_only(tmp_path):
    write_history(tmp_path, RAMP_THEN_HOLD)
    ramp_and_hold_timeline().write(tmp_path)
    (window,) = steady_state(tmp_path, frozenset({4}), read_timeline(tmp_path))
    assert window.steps is not None
    (ping,) = window.steps  # no startup ended within the window
    assert (ping.name, ping.requests, ping.failures) == ("ping_mediator", 401, 1)
    assert (ping.p50_ms, ping.p95_ms, ping.p99_ms) == (20, 95, 95)
    assert ping.rps == 401 / 40


def test_timelines_of_several_processes_add_up(tmp_path):
    one, two = Timeline(), Timeline()
    one.record(START + 0.2, "didcomm", "ping_mediator", 12.0, failed=False)
    two.record(START + 0.7, "didcomm", "ping_mediator", 12.4, failed=True)
    (tmp_path / "timeline").mkdir()
    one.write(tmp_path).rename(tmp_path / "timeline" / "a.json")
    two.write(tmp_path).rename(tmp_path / "timeline" / "b.json")
    (tmp_path / "timeline" / "c.json").write_text("[[1, ")  # cut short: skipped
    merged = read_timeline(tmp_path)
    assert merged is not None
    assert merged.times[(START, "didcomm", "ping_mediator")] == {12: 2}
    assert merged.failures[(START, "didcomm", "ping_mediator")] == 1


def test_the_summary_shows_the_window_and_its_figures(tmp_path):
    write_history(tmp_path, RAMP_THEN_HOLD)
    ramp_and_hold_timeline().write(tmp_path)
    Arrivals(rate=1.0, due=4, started=4, late=0, missed=0).write(tmp_path)
    findings = gather(tmp_path, [], complete=True, levels=frozenset({4}))
    text = render_text(findings)
    assert "arrivals at 1/s (ARRIVAL_RATE): 4 due, 4 started, 0 late" in text
    assert "steady-state window 1: 4 holders from 4s to 44s (40s)" in text
    whole_row, window_row = (line for line in text.splitlines() if "ping_mediator" in line)
    assert whole_row.split()[2] == "402"  # the whole run's table: with the failure while stopping
    # Columns: requests, timed out, failed otherwise (with its share), then the latency of successes.
    assert window_row.split()[2:] == ["401", "0", "1", "(0.2%)", "20", "95", "95", "10.03"]
    assert "WARNING: the generator did not keep the arrival schedule" not in text


def test_the_summary_says_when_there_was_no_steady_state_or_arrivals_were_late(tmp_path):
    write_history(tmp_path, [0, 1, 2, 3, 0])  # never reached 4
    Arrivals(rate=1.0, due=4, started=3, late=1, missed=1).write(tmp_path)
    findings = gather(tmp_path, [], complete=True, levels=frozenset({4}))
    text = render_text(findings)
    assert "no steady state: the holder count never held at 4 for 10s" in text
    assert "WARNING: the generator did not keep the arrival schedule" in text


def test_markdown_puts_the_window_table_under_its_window(tmp_path):
    from akrida.report.manifest import Manifest

    write_history(tmp_path, RAMP_THEN_HOLD)
    ramp_and_hold_timeline().write(tmp_path)
    findings = gather(tmp_path, [], complete=True, levels=frozenset({4}))
    manifest = Manifest("r", "mediator_ping", 4, 1.0, 45, "now", config={"ARRIVAL_RATE": "1", "USERS": "4"})
    markdown = render_markdown(findings, manifest)
    assert "## Load shape" in markdown
    assert "- steady-state window 1: 4 holders from 4s to 44s (40s)" in markdown
    assert "  | didcomm | ping_mediator | 401 | 0 | 1 (0.2%) | 20 | 95 | 95 | 10.03 |" in markdown
    assert "4 arriving at 1/s (ARRIVAL_RATE, open model) for 45s" in markdown
