"""SCHEDULE=fixed and poisson: when each holder's requests fall due, how late ones are counted, and
what the run's summary says of it (akrida.scenarios.clock, akrida.report.schedule)."""

from __future__ import annotations

import itertools
import random
import statistics
import time
from pathlib import Path

from akrida.report.loop_delay import LoopLog, LoopSample, read_loop_samples
from akrida.report.schedule import LATE_AFTER_MS, ScheduleCounts, ScheduleRecord, read_schedule
from akrida.report.summary import gather, render_text
from akrida.scenarios.clock import Clock


def test_a_fixed_clock_spaces_requests_evenly():
    counts = ScheduleCounts("fixed")
    clock = Clock("fixed", 0.02, counts, random.Random(1))
    dues = [clock.wait() for _ in range(5)]
    gaps = [later - earlier for earlier, later in itertools.pairwise(dues)]
    assert all(abs(gap - 0.02) < 1e-9 for gap in gaps), gaps
    assert counts.due == 5


def test_a_poisson_clock_has_the_same_mean_with_random_gaps():
    clock = Clock("poisson", 2.0, ScheduleCounts("poisson"), random.Random(7))
    gaps = [clock._gap() for _ in range(5000)]
    assert abs(statistics.mean(gaps) - 2.0) < 0.1
    # Exponential gaps: as many as 1 - 1/e of them are shorter than the mean (evenly spaced: none).
    assert 0.6 < sum(gap < 2.0 for gap in gaps) / len(gaps) < 0.66


def test_requests_that_fell_due_while_the_holder_was_busy_go_out_late_timed_from_when_due():
    """A holder stuck for 1 s on one answer owes the four requests that fell due meanwhile: each goes out
    at once, counted late (its holder was behind) and timed from its own due time."""
    counts = ScheduleCounts("fixed")
    clock = Clock("fixed", 0.25, counts, random.Random(3))
    stuck_until = time.perf_counter()
    clock.next_due = stuck_until - 1.0  # due 1 s ago, while the holder waited on its previous answer
    dues = [clock.wait() for _ in range(4)]
    assert [round(stuck_until - due, 2) for due in dues] == [1.0, 0.75, 0.5, 0.25]
    assert (counts.due, counts.late, counts.late_behind) == (4, 4, 4)
    assert counts.worst_late_ms >= 1000
    on_time = clock.wait()  # caught up: the next one is due now, and goes out on time
    assert on_time >= stuck_until
    assert counts.late == 4


def test_requests_due_when_the_run_ended_count_as_unsent():
    counts = ScheduleCounts("fixed")
    clock = Clock("fixed", 1.0, counts, random.Random(3))
    clock.next_due = time.perf_counter() - 2.5
    assert clock.count_unsent() == 3
    assert counts.unsent == 3


def test_the_summary_reports_late_sends_and_the_target_queueing_split(tmp_path: Path):
    """Two Locust processes' records add up, and the summary says what was late and why."""
    for late in (0, 1):
        record = ScheduleRecord(ScheduleCounts("fixed"))
        for _ in range(10):
            record.counts.record(5.0, behind=False)
        record.counts.record(LATE_AFTER_MS + 9000 * late, behind=True)  # the first one's is on the line: not late
        record.split.record("ping_mediator", driver_ms=250.0, target_ms=40.0)
        path = record.write(tmp_path)
        path.rename(path.with_name(f"worker-{late}.json"))
    LoopLog(tmp_path).write([LoopSample(time.time(), "agent-1", 4242, 1.0, 35.0, 180.0, 2.0)])

    total = read_schedule(tmp_path)
    assert total is not None
    assert (total.counts.due, total.counts.late, total.counts.late_behind) == (22, 1, 1)
    assert [row[:2] for row in total.split.rows()] == [("ping_mediator", "2")]
    assert read_loop_samples(tmp_path)[0].max_ms == 180.0

    text = render_text(gather(tmp_path, [], complete=True))
    assert "fixed schedule: 22 requests came due, 1 went out late" in text
    assert "1 because their holder still waited on its previous answer" in text
    assert "Latencies are timed from when each request was due" in text
    row = next(line for line in text.splitlines() if line.strip().startswith("ping_mediator") and "210" in line)
    assert row.split()[1:] == ["2", "40", "40", "210", "210", "210"], row  # target 40 ms, queueing 210 ms
    assert "worst single delay 180 ms (agent-1, pid 4242" in text


def test_a_closed_run_says_what_its_latencies_measure(tmp_path: Path):
    record = ScheduleRecord(ScheduleCounts("closed"))
    record.split.record("ping_mediator", driver_ms=50.0, target_ms=45.0)
    record.write(tmp_path)
    text = render_text(gather(tmp_path, [], complete=True))
    assert "closed loop (SCHEDULE=closed): each holder asked again only after its answer" in text
