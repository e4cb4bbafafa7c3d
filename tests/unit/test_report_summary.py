"""The summary's counts: each failed message is one target failure, whether it timed out or was lost."""

from __future__ import annotations

import csv

from akrida.report.delivery import DeliveryCounts
from akrida.report.summary import gather, render_text


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
