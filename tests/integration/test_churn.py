"""mediator_churn against the real embedded ACA-Py 1.7: what its implicit pickup keeps queued is
stranded, not lost, and the pickups that time out meanwhile are no outage of the mediator."""

from __future__ import annotations

import time

import pytest

from akrida.report.delivery import read_delivery
from tests.integration.helpers import akrida, describe, only_run_dir, steps_by_key

pytestmark = pytest.mark.integration


def test_messages_the_mediator_kept_queued_are_stranded_not_lost_and_no_outage(target, tmp_path):
    began = time.monotonic()
    result = akrida("run", results=tmp_path, SCENARIO="mediator_churn", USERS="2", SPAWN_RATE="2", RUN_TIME="25s",
                    CHURN_ONLINE="2s", CHURN_OFFLINE="3s", CHURN_MESSAGES="3", AGENT_TIMEOUT="3",
                    HOLDERS_PER_PROCESS="2", timeout=120)  # fmt: skip
    run_dir = only_run_dir(tmp_path)
    assert time.monotonic() - began < 60, describe(result, run_dir)
    counts = read_delivery(run_dir)
    assert counts is not None, describe(result, run_dir)
    steps = steps_by_key(run_dir)
    assert steps[("didcomm", "go_online")].failures == 0, describe(result, run_dir)
    # Three messages per spell, one handed over on reconnecting: the others come when the holder asks.
    assert counts.stranded >= 2 and 1 <= counts.stranded_asks <= 3, counts
    assert counts.lost == 0 and counts.duplicated == 0, counts
    summary = (run_dir / "summary.md").read_text()
    assert f"stranded {counts.stranded} (delivered only after the holder sent up to" in summary, summary
    assert "lost 0" in summary and "target outage" not in summary, summary
    print(f"churn on ACA-Py 1.7: {counts.line()}")
