"""mediator_churn's verdicts on recorded data: stranded is not lost, and pickups timing out are no outage.

The recordings come from the embedded ACA-Py 1.7 mediator (implicit pickup):
- data/churn-acapy-1.7/: `SCENARIO=mediator_churn USERS=10 SPAWN_RATE=5 RUN_TIME=75s CHURN_ONLINE=5s
  CHURN_OFFLINE=5s AGENT_TIMEOUT=8` (default CHURN_MESSAGES=3): its timeline and delivery counts. Every
  pickup failed (the mediator handed over one of the three messages on reconnecting), while every
  go_offline, go_online and send_message succeeded. Before pickups were left out of outages, this
  timeline read as four outages, the last "not recovered by the end of the run".
- ARRIVALS: one holder, four messages sent while it was offline, then go_online and five trust pings
  asking no answer: what each brought, in order.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from akrida.report.connectivity import outages
from akrida.report.delivery import Arrival, DeliveryCounts, MessageLedger, read_delivery
from akrida.report.timeline import Timeline, read_timeline

RECORDED = Path(__file__).parent / "data" / "churn-acapy-1.7"

# (what came, how many pings the holder had sent since the pickup's deadline): go_online brought m0,
# each ping one more, and the fourth and fifth pings nothing (a ping that asks an answer brings none).
ARRIVALS = [("m0", 0), ("m1", 1), ("m2", 2), ("m3", 3)]


def test_messages_that_come_only_when_the_holder_asks_again_are_stranded_not_lost():
    counts = DeliveryCounts(pickup_strategy="implicit")
    ledger = MessageLedger(counts)
    for content in ("m0", "m1", "m2", "m3"):
        ledger.sent(content)
    kinds = [ledger.arrived(content, asks) for content, asks in ARRIVALS]
    assert kinds == [Arrival.DELIVERED, Arrival.STRANDED, Arrival.STRANDED, Arrival.STRANDED]
    assert ledger.give_up() == 0
    assert (counts.sent, counts.delivered, counts.stranded, counts.late, counts.lost) == (4, 1, 3, 0, 0)
    assert counts.stranded_asks == 3 and counts.completeness == 1.0
    assert counts.line() == (
        "pickup implicit: messages sent 4, delivered in time 1, stranded 3 (delivered only after the holder sent "
        "up to 3 more message(s) to the mediator), late 0, lost 0, duplicated 0 (100% complete)"
    )


def test_lost_is_only_what_never_arrives_and_a_given_up_message_that_comes_later_is_late():
    counts = DeliveryCounts()
    ledger = MessageLedger(counts)
    for content in ("a", "b", "c"):
        ledger.sent(content)
    assert ledger.arrived("a") is Arrival.DELIVERED
    assert ledger.arrived("b", asks=1) is Arrival.STRANDED
    assert ledger.give_up() == 1  # "c" did not come even when asked
    assert counts.lost == 1
    ledger.sent("d")  # the next spell: the oldest queued message comes first
    assert ledger.arrived("c") is Arrival.LATE
    assert ledger.arrived("d") is Arrival.DELIVERED
    assert ledger.arrived("d") is Arrival.DUPLICATED
    assert ledger.arrived("never sent") is Arrival.UNKNOWN
    assert (counts.sent, counts.delivered, counts.stranded, counts.late, counts.lost) == (4, 2, 1, 1, 0)
    assert "stranded" not in DeliveryCounts(sent=2, delivered=2).line()  # said only where it happened


def test_a_replaced_agent_takes_its_outstanding_messages_out_of_the_count():
    counts = DeliveryCounts()
    ledger = MessageLedger(counts)
    for content in ("a", "b"):
        ledger.sent(content)
    ledger.give_up()
    ledger.sent("c")
    ledger.forget()
    assert (counts.sent, counts.lost, ledger.outstanding) == (0, 0, 0)


def test_the_recorded_churn_run_lost_nothing_and_had_no_outage():
    counts = read_delivery(RECORDED)
    assert counts is not None
    assert (counts.sent, counts.delivered, counts.stranded, counts.lost) == (120, 40, 80, 0)
    timeline = read_timeline(RECORDED)
    assert timeline is not None
    pickups = [key for key in timeline.times if key[2] == "pickup"]
    assert pickups and all(timeline.failures[key] == sum(timeline.times[key].values()) for key in pickups)
    assert outages(timeline) == []


def test_steps_that_reach_the_mediator_failing_are_still_an_outage():
    timeline = Timeline()
    for second in range(100, 110):  # pickups time out as before ...
        timeline.record(second, "didcomm", "pickup", 8000, True)
    for second in (100, 101):
        timeline.record(second, "didcomm", "go_online", 20, False)
    for second in range(102, 106):  # ... but now reconnecting fails too: the mediator is down
        timeline.record(second, "didcomm", "go_online", 5000, True)
    timeline.record(107, "didcomm", "go_online", 20, False)
    (outage,) = outages(timeline)
    assert (outage.first, outage.last, outage.failures, outage.recovered) == (102, 105, 4, 107)


@pytest.mark.parametrize("field", ["stranded", "stranded_asks"])
def test_counts_written_before_stranded_existed_still_read(tmp_path, field):
    (tmp_path / "delivery").mkdir()
    (tmp_path / "delivery" / "old.json").write_text(
        '{"sent": 3, "delivered": 1, "late": 1, "duplicated": 0, "pickup_strategy": "implicit"}'
    )
    counts = read_delivery(tmp_path)
    assert counts is not None and getattr(counts, field) == 0 and counts.lost == 1
