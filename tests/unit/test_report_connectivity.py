"""The summary's account of holders' connections: storms, outages, and delivery per pickup strategy."""

from __future__ import annotations

import json
from dataclasses import asdict

from akrida.report.connectivity import StormRecord, outages, read_storm
from akrida.report.delivery import DeliveryCounts, read_delivery, read_delivery_by_strategy
from akrida.report.summary import gather, render_text
from akrida.report.timeline import Timeline


def test_storm_shares_are_the_times_by_which_that_share_of_holders_was_back():
    storm = StormRecord(at=1.0, holders=20, reconnect_ms=list(range(100, 2100, 100)))  # 100 … 2000
    assert storm.time_to_share(0.5) == 1000  # the 10th of 20
    assert storm.time_to_share(0.95) == 1900  # the 19th
    assert storm.time_to_share(1.0) == 2000
    storm.reconnect_ms.pop()  # one never came back
    storm.not_reconnected = 1
    assert storm.time_to_share(0.95) == 1900 and storm.time_to_share(1.0) is None
    text = "\n".join(storm.lines())
    assert "50% in 1.0s, 95% in 1.9s, 100% never" in text
    assert "1 holder(s) never reconnect" in text


def test_storms_of_several_processes_add_up(tmp_path):
    a = StormRecord(at=10.0, ended=12.0, holders=2, reconnect_ms=[300, 100], failures_during=1)
    b = StormRecord(at=9.5, ended=13.0, holders=1, reconnect_ms=[200], failures_during=2)
    (tmp_path / "storm").mkdir()
    for name, record in (("a", a), ("b", b)):
        (tmp_path / "storm" / f"{name}.json").write_text(json.dumps(asdict(record)))
    total = read_storm(tmp_path)
    assert total is not None
    assert (total.at, total.ended, total.holders, total.failures_during) == (9.5, 13.0, 3, 3)
    assert total.time_to_share(1.0) == 300
    assert read_storm(tmp_path / "elsewhere") is None


def timeline_of(seconds: dict[int, tuple[int, int]]) -> Timeline:
    """{second: (successes, failures)} of one target step."""
    timeline = Timeline()
    for second, (ok, failed) in seconds.items():
        for _ in range(ok):
            timeline.record(second, "didcomm", "ping_mediator", 50, False)
        for _ in range(failed):
            timeline.record(second, "didcomm", "ping_mediator", 5000, True)
    return timeline


def test_an_outage_runs_from_the_first_failing_second_to_the_first_clean_one():
    timeline = timeline_of({100: (3, 0), 101: (0, 2), 103: (0, 2), 106: (1, 1), 108: (2, 0), 110: (3, 0)})
    timeline.record(104, "harness", "agent_crash", 1, True)  # ours: no part of the target's outage
    (outage,) = outages(timeline)
    assert (outage.first, outage.last, outage.failures, outage.recovered) == (101, 106, 5, 108)
    assert "recovered 7s after the first failure" in outage.line()


def test_a_stray_failure_is_no_outage_and_an_unrecovered_one_says_so():
    assert outages(timeline_of({100: (3, 0), 101: (0, 1), 102: (3, 0)})) == []
    (outage,) = outages(timeline_of({100: (3, 0), 101: (0, 2), 102: (0, 2)}))
    assert outage.recovered is None and "not recovered by the end of the run" in outage.line()
    assert outages(None) == []


def test_delivery_is_counted_per_pickup_strategy_and_shown_with_its_completeness(tmp_path):
    DeliveryCounts(sent=10, delivered=6, late=2, duplicated=1, pickup_strategy="implicit").write(tmp_path)
    by_strategy = read_delivery_by_strategy(tmp_path)
    assert set(by_strategy) == {"implicit"}
    counts = by_strategy["implicit"]
    assert (counts.lost, counts.completeness) == (2, 0.8)
    total = read_delivery(tmp_path)
    assert total is not None and total.pickup_strategy == "implicit"
    text = render_text(gather(tmp_path, [], complete=True))
    assert "pickup implicit: messages sent 10, delivered in time 6, late 2, lost 2, duplicated 1 (80% complete)" in text
