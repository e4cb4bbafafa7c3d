"""The summary: each failed message is one target failure, whether it timed out or was lost; the
verdict names who saturated the generator's host."""

from __future__ import annotations

import csv
from dataclasses import replace

from akrida.report.delivery import DeliveryCounts
from akrida.report.summary import Findings, gather, health_lines, render_text


def test_a_lost_message_is_counted_once(tmp_path):
    with open(tmp_path / "locust_stats.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Type", "Name", "Request Count", "Failure Count", "Requests/s", "50%", "95%", "99%"])
        writer.writerow(["didcomm", "basic_message", 14, 1, 1.0, 100, 200, 300])  # the wait that timed out
    DeliveryCounts(sent=14, delivered=13, late=0).write(tmp_path)  # and that message never came
    findings = gather(tmp_path, [], complete=True)
    assert findings.delivery is not None and findings.delivery.lost == 1
    assert findings.target_failures == 1
    assert "lost 1" in render_text(findings)


def test_the_verdict_names_who_saturated_the_host(tmp_path):
    with open(tmp_path / "locust_stats.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Type", "Name", "Request Count", "Failure Count", "Requests/s", "50%", "95%", "99%"])
        writer.writerow(["didcomm", "ping_mediator", 10, 0, 1.0, 100, 200, 300])
    findings: Findings = gather(tmp_path, [], complete=True)
    hot = replace(findings.health, samples=4, saturated_share=1.0, peak_cpu=100.0)
    by_generator = replace(findings, health=replace(hot, generator_share_when_hot=0.8))
    by_others = replace(findings, health=replace(hot, generator_share_when_hot=0.3))
    assert by_generator.verdict.endswith("the load generator saturated)")
    assert by_others.verdict.endswith("the generator's host ran out of CPU)")
    assert any("Use fewer users per host" in line for line in health_lines(by_generator))
    others = [line for line in health_lines(by_others) if line.startswith("WARNING")]
    assert others and "mostly to other processes (Locust and agents used 30% of it" in others[0]
